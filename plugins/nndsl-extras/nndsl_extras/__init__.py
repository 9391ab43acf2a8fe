"""nndsl-extras: an example third-party nndsl plugin (a `scale` layer, a `dot` backend)."""

__version__ = "0.1.0"
