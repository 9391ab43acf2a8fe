"""The :class:`Trainer` interface: what a backend provides so that ``nndsl run`` can train with it.

``nndsl/run`` owns everything users see and every backend shares: the console lines,
``history.csv``, ``metrics.json``, the spec copy, the per-epoch checkpoint and ``state.json``,
``--resume`` after a kill, Ctrl-C saving what was trained, atomic writes, ``evaluate`` and
``predict``. A Trainer owns the framework: placing the work on a device, building the model,
fitting epochs, evaluating, predicting, and writing and reading its weights (and the
optimizer state, for checkpoints). A backend hands one out from
:meth:`nndsl.backends.base.Backend.trainer`; the Keras backends' is
:class:`nndsl.run.keras_trainer.KerasTrainer`, the ``torch`` plugin's is ``TorchTrainer``.

One Trainer serves one run (or one ``evaluate``/``predict``): ``place`` and ``seed`` first,
then ``plan`` and ``build`` and ``adapt`` (or ``restore`` from a checkpoint, or ``load`` a finished model),
then ``fit``, ``evaluate``, ``predict`` and ``save`` in any order. Arrays are NumPy: ``x`` is
one array or a dict of arrays keyed by input name, ``y`` one array or a dict keyed by output
name, exactly as :func:`nndsl.prepare.prepare` makes them.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ..errors import RunError

# on_epoch_end(epoch, logs): epoch counts from 0; logs maps "loss", metric names and their
# "val_" forms (validation) to floats, in the order they should appear in history.csv.
EpochEnd = Callable[[int, Mapping[str, float]], None]


class Trainer:
    """Base class of every backend's trainer; subclasses implement every method below.

    Attributes:
        model_file: the trained model's file name in the run directory (``model.keras``).
        checkpoint_suffix: the extension of per-epoch checkpoints (``ckpt-0003.keras``).
        framework: what trains, for messages (``"Keras"``, ``"PyTorch"``).
    """

    model_file: str = "model"
    checkpoint_suffix: str = ".ckpt"
    framework: str = ""
    # takes data read from disk while training (nndsl.data.stream.Split in Prepared's x fields)
    streams: bool = False
    # honours `nndsl run --tensorboard` (Keras' TensorBoard callback, the spec's `callback tensorboard`)
    tensorboard: bool = False
    # set by plan(): settings of the spec this backend cannot honour and replaced, printed as warnings
    plan_warnings: tuple[str, ...] = ()

    def __init__(self, backend, registry):
        self.backend = backend
        self.registry = registry

    # where, and how reproducibly -------------------------------------------------------------

    def place(self, settings: Mapping[str, Any], *, workers: Sequence[str] | None = None,
              task_index: int | None = None):
        """Detect the device and any distribution strategy; return a :class:`nndsl.run.device.Placement`.

        Called before any model is built. ``settings`` is the run's ``run.json`` (``strategy``,
        ``precision``, ...); refuse what this framework cannot do with ``UsageError``.
        """
        raise NotImplementedError

    def seed(self, settings: Mapping[str, Any]) -> None:
        """Seed every random generator from ``settings["seed"]`` (None: leave them) and set precision."""
        raise NotImplementedError

    def environment(self) -> dict[str, Any]:
        """Framework facts recorded in ``run.json`` and ``metrics.json`` (names and versions)."""
        return {}

    # the model ---------------------------------------------------------------------------------

    def plan(self, model, settings: Mapping[str, Any], n_train: int) -> list[str]:
        """Settle how to train ``n_train`` rows; return notes printed as ``training: a; b``.

        A spec setting the backend cannot honour is replaced and said in ``plan_warnings``
        (printed as ``warning: ...``); a command-line one is a ``UsageError``.
        """
        return []

    def build(self, model, settings: Mapping[str, Any]) -> None:
        """Build a fresh, trainable model (and its optimizer, loss and metrics) from the IR."""
        raise NotImplementedError

    def adapt(self, layers: Mapping[str, Sequence[str]], x_train, settings: Mapping[str, Any]) -> list[str]:
        """Adapt the built model's preprocessing layers on the training inputs, before ``fit``.

        ``layers`` maps each layer to adapt (``normalization``, lookups, ...) to the input names
        it depends on, in model order; ``x_train`` is ``prepared.x_train`` (never validation or
        test rows). Called after :meth:`build` only: a restored or loaded model keeps its state.
        Returns one line per layer saying what it learned. A backend that cannot adapt raises
        ``RunError`` (the default), so no layer trains with unadapted state.
        """
        raise RunError(f"{self.framework or 'this backend'} cannot adapt preprocessing layers "
                       f"({', '.join(layers)}); train with a Keras backend")

    def restore(self, model, settings: Mapping[str, Any], checkpoint: str) -> None:
        """Build the model and load weights and optimizer state from a checkpoint file (``--resume``)."""
        raise NotImplementedError

    def load(self, model, path: str) -> None:
        """Load a finished model (``model_file``) for ``evaluate``/``predict``; ``model`` is the IR,
        or None when ``path`` is a bare model file outside a run directory. Never unpickles."""
        raise NotImplementedError

    # training and use -------------------------------------------------------------------------

    def fit(self, prepared, settings: Mapping[str, Any], *, initial_epoch: int, on_epoch_end: EpochEnd,
            reporter) -> None:
        """Train epochs ``initial_epoch`` .. ``settings["epochs"] - 1`` on ``prepared.x_train``/``y_train``.

        Validates on ``prepared.x_val``/``y_val`` when present. A trainer with ``streams`` may
        get :class:`nndsl.data.stream.Split` objects in the ``x`` fields (and None in ``y``); calls ``on_epoch_end`` after
        every epoch (it records history and checkpoints). ``settings["run_dir"]`` is the run
        directory: files the spec's callbacks write resolve inside it. Prints per-epoch progress through
        ``reporter.info`` unless ``reporter.quiet``. Lets ``KeyboardInterrupt`` through; raises
        ``ValueError``/``TypeError``/``RuntimeError`` (reported as training failures) for bad data.
        """
        raise NotImplementedError

    def evaluate(self, x, y, batch_size: int) -> dict[str, float]:
        """``{"loss": ..., metric: ...}`` on the given rows (the same names as the training logs)."""
        raise NotImplementedError

    def predict(self, x, batch_size: int):
        """The model's outputs for ``x``: one NumPy array, or a dict keyed by output name."""
        raise NotImplementedError

    def input_specs(self) -> list[tuple[tuple, str]]:
        """(shape without the batch axis, dtype name) of each input, in order (for ``predict``)."""
        raise NotImplementedError

    def input_names(self) -> list[str] | None:
        """The inputs' names in ``input_specs`` order, for a model file outside a run (None: unknown)."""
        return None

    def output_names(self) -> list[str] | None:
        """The outputs' names in ``predict``'s order, for a model file outside a run (None: unknown)."""
        return None

    def save(self, path: str) -> None:
        """Write the trained model to ``path`` (the run directory writes it atomically)."""
        raise NotImplementedError

    def save_checkpoint(self, path: str) -> None:
        """Write weights and optimizer state to ``path``, enough for :meth:`restore`."""
        raise NotImplementedError


def class_weights(model, y_train, reporter) -> tuple[dict[int, float], int] | None:
    """``fit class_weight=`` as every trainer applies it: (weight by class id, number of classes).

    The given weights, or scikit-learn's "balanced" ones from the training labels only; the
    result is printed so the run says what it weighed. None when the spec gives no weights.
    """
    weights = model.training.fit_options.get("class_weight")
    if weights is None:
        return None
    width = model.tensor_shape(model.outputs[0])[-1]
    classes = width if width and width > 1 else 2
    if weights == "balanced":
        from ..backends.keras_helpers import balanced_class_weight  # NumPy only

        labels = next(iter(y_train.values())) if isinstance(y_train, dict) else y_train
        if labels is None:
            raise RunError("fit class_weight=balanced counts the training labels, which this data does not "
                           "list before training; give the weights: class_weight=(1.0, 3.0)")
        result = balanced_class_weight(labels, classes)
        origin = f"balanced, from {len(labels):,} training labels"
    else:
        result = dict(enumerate(weights))
        origin = "given"
    reporter.info(f"class weights ({origin}): " + ", ".join(f"{c} {w:.4g}" for c, w in result.items()))
    return result, classes


def trainer_for(model, settings: Mapping[str, Any], registry) -> Trainer:
    """The trainer of the backend a run uses (``settings["backend"]``; None picks the default)."""
    from ..backends.base import choose_backend

    backend = choose_backend(model, registry, settings.get("backend"))
    return backend.trainer(registry)
