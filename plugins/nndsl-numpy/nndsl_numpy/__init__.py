"""nndsl-numpy: a worked example of a backend plugin (docs/PLUGINS.md, "Write a backend").

The ``numpy`` backend runs dense networks forward with NumPy: ``nndsl.build(spec,
backend="numpy")`` returns a :class:`nndsl_numpy.backend.NumpyModel`. It lowers a few layers
and activations through ``nndsl_lowerings``; ``nndsl check --backend numpy FILE`` reports
everything else a spec uses (E700), and the conformance kit compares it with Keras.
"""

__version__ = "0.1.0"
