"""The Keras backends' :class:`~nndsl.run.trainer.Trainer`: ``keras.Model.fit`` with nndsl's fast path.

Placement uses ``tf.distribute`` (:mod:`.device`), the fit arguments come from
:func:`nndsl.perf.training_plan`, ``--strategy multiworker`` trains with the loop in
:mod:`.distributed`. Models are saved as ``.keras`` files and loaded with ``safe_mode=True``.
"""

from __future__ import annotations

import os
from ..data.stream import is_stream
from ..errors import NndslError, RunError
from .trainer import Trainer, class_weights


def load_keras_model(path, model=None, registry=None):
    """``keras.models.load_model`` in safe mode, with nndsl's own layer classes registered and,
    given the run's IR, the Keras classes of the plugin layers it uses (imported from the
    installed plugins' own lowerings, never from module names read out of the file)."""
    from ..kerasenv import import_keras

    keras = import_keras()
    from ..backends import keras_layers  # noqa: F401 - registers PositionEmbedding and friends

    if model is not None and registry is not None:
        import_layer_modules(model, registry)
    return keras.models.load_model(path, safe_mode=True)


def import_layer_modules(model, registry) -> None:
    """Import the module of every plugin Keras class ``model`` uses, which registers it with Keras."""
    import importlib

    from ..backends.keras.lower import KerasCall, KerasLowering
    from ..backends.keras.lower import KERAS_MODULES

    def modules(call):
        if isinstance(call, KerasCall):
            if call.module.split(".")[0] not in KERAS_MODULES:
                yield call.module
            for value in (*call.args, *(v for _, v in call.kwargs)):
                yield from modules(value)
        elif isinstance(value := call, tuple):
            for item in value:
                yield from modules(item)

    lowering = KerasLowering(registry)
    for node in model.nodes:
        for module in modules(lowering.node_call(node)):
            importlib.import_module(module)


def _load_error(path, error) -> str:
    """Keras' message, or for a class it cannot find, which one and what to do (its own runs on)."""
    import re

    text = str(error)
    missing = re.search(r"Could not locate class '([^']+)'", text)
    if missing:
        module = re.search(r"'module': '([^']+)', 'class_name': '" + re.escape(missing.group(1)), text)
        where = f" from module {module.group(1)}" if module else ""
        return (f"{path}: cannot load the model: it uses the custom Keras class '{missing.group(1)}'{where}, "
                "which is not registered; install the plugin that provides it (in a run directory nndsl imports "
                "it), or import that module before loading the file")
    return f"{path}: cannot load the model: {type(error).__name__}: {text}"


def keras_backend() -> str:
    """The Keras backend's name, Keras imported the nndsl way (:func:`nndsl.kerasenv.import_keras`)."""
    from ..kerasenv import import_keras

    return import_keras().backend.backend()


class KerasTrainer(Trainer):
    model_file = "model.keras"
    checkpoint_suffix = ".keras"
    framework = "Keras"
    streams = True
    tensorboard = True

    def __init__(self, backend, registry):
        super().__init__(backend, registry)
        self.model = None  # the IR
        self.keras_model = None
        self.placement = None
        self.plan_ = None

    def place(self, settings, *, workers=None, task_index=None):
        from .device import place

        self.placement = place(keras_backend(), settings.get("strategy") or "auto",
                               workers=workers or None, task_index=task_index)
        return self.placement

    def seed(self, settings):
        import keras

        if settings["seed"] is not None:
            keras.utils.set_random_seed(settings["seed"])
        keras.mixed_precision.set_global_policy(settings.get("precision") or "float32")

    def environment(self):
        import keras

        return {"keras_backend": keras.backend.backend(), "keras_version": keras.__version__}

    def plan(self, model, settings, n_train):
        from ..perf import training_plan

        overrides = {k: settings.get(k) for k in (
            "batch_size", "shuffle", "seed", "steps_per_execution", "jit_compile", "pipeline")}
        if self.placement is not None and self.placement.strategy is not None \
                and overrides["steps_per_execution"] is None:
            # Keras 3.15's multi-step loop fails under MirroredStrategy (InvalidArgumentError at
            # while/cond in has_next); one batch per call unless the spec asks otherwise.
            overrides["steps_per_execution"] = 1
        device = self.placement.device if self.placement is not None else None
        self.plan_ = training_plan(model, n_train, overrides, backend=device.backend if device else keras_backend(),
                                   device=device.kind if device else "CPU")
        self.plan_warnings = self.plan_.warnings
        return list(self.plan_.notes)

    def _scope(self):
        import contextlib

        return self.placement.scope() if self.placement is not None else contextlib.nullcontext()

    def _guarded(self, make):
        try:
            with self._scope():
                return make()
        except NndslError:
            raise
        except Exception as e:  # noqa: BLE001 - Keras' messages are the useful part
            raise RunError(f"building the model failed: {type(e).__name__}: {e}") from e

    def build(self, model, settings):
        self.model = model
        options = dict(self.plan_.compile_options) if self.plan_ is not None else {}
        self.keras_model = self._guarded(
            lambda: self.backend.build(model, self.registry, compile=True, **options))

    def adapt(self, layers, x_train, settings):
        from ..backends.keras_helpers import adapt_preprocessing

        if hasattr(x_train, "features"):  # a streamed split (nndsl.data): its input batches only
            x_train = x_train.features(settings["batch_size"])
        elif not isinstance(x_train, dict):
            x_train = {self.model.inputs[0].name: x_train}
        try:
            with self._scope():
                return adapt_preprocessing(self.keras_model, x_train, dict(layers))
        except NndslError:
            raise
        except Exception as e:  # noqa: BLE001 - Keras' message names the layer and the data
            raise RunError(f"adapting the preprocessing layers failed: {type(e).__name__}: {e}") from e

    def restore(self, model, settings, checkpoint):
        self.model = model
        self.keras_model = self._guarded(lambda: load_keras_model(checkpoint, model, self.registry))

    def load(self, model, path):
        self.model = model
        try:
            self.keras_model = load_keras_model(path, model, self.registry)
        except Exception as e:  # noqa: BLE001 - a corrupt or foreign file: say which and why
            raise RunError(_load_error(path, e)) from e

    def _callbacks(self, reporter, has_validation: bool, run_dir: str | None, resuming: bool = False,
                   tensorboard: str | None = None) -> list:
        """The spec's callbacks as Keras objects; files they write go inside the run directory.

        A resumed run's ``csv_logger`` appends to its log instead of starting it again.
        ``tensorboard`` (``nndsl run --tensorboard``, kept in run.json): a log folder for one more
        ``callback tensorboard``, lowered exactly as the spec's statement would be.
        """
        from .. import ir
        from ..backends.keras.lower import KerasLowering
        from ..backends.keras.build import instantiate
        from ..backends.keras.training import callback_call, missing_package

        specs = list(self.model.training.callbacks)
        if tensorboard is not None:
            specs.append(ir.Callback("tensorboard", (("log_dir", tensorboard),)))
        for cb in specs:
            problem = missing_package("callback", cb.name)
            if problem:
                raise RunError(problem)

        def inside_run(path: str) -> str:
            if run_dir is None or os.path.isabs(path):
                return path
            full = os.path.join(run_dir, path)
            os.makedirs(os.path.dirname(full) or ".", exist_ok=True)
            return full

        lowering = KerasLowering(self.registry)
        out = []
        for cb in specs:
            definition = self.registry.callbacks.get(cb.name)
            watches = definition is not None and any(p.name == "monitor" for p in definition.params)
            monitor = dict(cb.options).get("monitor", "val_loss")
            if watches and isinstance(monitor, str) and monitor.startswith("val_") and not has_validation:
                reporter.info(f"warning: callback {cb.name} monitors {monitor}, but there is no validation set "
                              "(set fit validation_split=...)")
            if resuming and cb.name == "csv_logger":
                cb = type(cb)(cb.name, (*[o for o in cb.options if o[0] != "append"], ("append", True)), cb.span)
            out.append(instantiate(callback_call(cb, lowering, inside_run)))
        return out

    def _class_weight(self, y_train, reporter) -> dict | None:
        """``fit class_weight=`` as Keras' ``fit`` takes it (see :func:`nndsl.run.trainer.class_weights`)."""
        weighed = class_weights(self.model, y_train, reporter)
        return weighed[0] if weighed else None

    def fit(self, prepared, settings, *, initial_epoch, on_epoch_end, reporter):
        import keras

        class EpochEnd(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                on_epoch_end(epoch, {k: float(v) for k, v in (logs or {}).items()})

        recorder = EpochEnd()
        if is_stream(prepared.x_train):
            self._fit_stream(prepared, settings, initial_epoch, recorder, reporter)
            return
        validation = (prepared.x_val, prepared.y_val) if prepared.x_val is not None else None
        if self.placement is not None and self.placement.strategy_name == "multiworker":
            from .distributed import fit_multiworker, validation_metrics

            if self.model.training.callbacks:
                reporter.info("warning: spec callbacks are not applied under --strategy multiworker")
            if self.model.training.fit_options.get("class_weight") is not None:
                reporter.info("warning: fit class_weight is not applied under --strategy multiworker")
            fit_multiworker(self.keras_model, self.placement.strategy, prepared, settings, recorder, initial_epoch,
                            reporter, validation_metrics(keras, self.model, self.registry))
            return
        # the recorder goes last: it sees what earlier callbacks add to the logs (learning_rate)
        callbacks = self._callbacks(reporter, validation is not None, settings.get("run_dir"),
                                    resuming=initial_epoch > 0, tensorboard=settings.get("tensorboard")) + [recorder]
        self.keras_model.fit(**self.plan_.fit_arguments(prepared.x_train, prepared.y_train),
                             epochs=settings["epochs"], initial_epoch=initial_epoch, validation_data=validation,
                             class_weight=self._class_weight(prepared.y_train, reporter),
                             callbacks=callbacks, verbose=reporter.keras_verbose)
        _report_early_stopping(callbacks, reporter, settings["epochs"])

    def _fit_stream(self, prepared, settings, initial_epoch, recorder, reporter):
        """Train on data read from disk (:class:`nndsl.data.stream.Split`): tf.data batches, prefetched."""
        if self.placement is not None and self.placement.strategy_name == "multiworker":
            raise RunError("--strategy multiworker takes data held in memory; this data is read from disk "
                           "while training: use --strategy auto")
        batch = self.plan_.batch_size if self.plan_ is not None else settings["batch_size"]
        seed = self.plan_.seed if self.plan_ is not None else settings.get("seed")
        shuffle = self.plan_.shuffle if self.plan_ is not None else settings.get("shuffle", True)
        validation = prepared.x_val.dataset(batch) if prepared.x_val is not None else None
        callbacks = self._callbacks(reporter, validation is not None, settings.get("run_dir"),
                                    resuming=initial_epoch > 0, tensorboard=settings.get("tensorboard")) + [recorder]
        self.keras_model.fit(prepared.x_train.dataset(batch, shuffle=shuffle, seed=seed), shuffle=False,
                             epochs=settings["epochs"], initial_epoch=initial_epoch, validation_data=validation,
                             class_weight=self._class_weight(prepared.x_train.class_ids, reporter),
                             callbacks=callbacks, verbose=reporter.keras_verbose)
        _report_early_stopping(callbacks, reporter, settings["epochs"])

    def evaluate(self, x, y, batch_size):
        import contextlib

        import keras

        if is_stream(x):
            with self._scope():
                result = self.keras_model.evaluate(x.dataset(batch_size), verbose=0, return_dict=True)
            return {k: float(v) for k, v in result.items()}

        scope = self._scope()
        if self.placement is not None and self.placement.strategy_name == "multiworker":
            # Keras' evaluate fails under this strategy: evaluate a reloaded copy on one device.
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "m.keras")
                self.keras_model.save(path)
                self.keras_model = load_keras_model(path)
            self.placement = None
            scope = contextlib.nullcontext()
        with scope:
            result = self.keras_model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
        return {k: float(v) for k, v in result.items()}

    def predict(self, x, batch_size):
        return self.keras_model.predict(_strings_as_tensors(x), batch_size=batch_size, verbose=0)

    def input_specs(self):
        return [(tuple(t.shape[1:]), str(t.dtype)) for t in self.keras_model.inputs]

    def input_names(self):
        return [t.name for t in self.keras_model.inputs]

    def output_names(self):
        return list(getattr(self.keras_model, "output_names", None) or []) or None

    def save(self, path):
        self.keras_model.save(path)

    def save_checkpoint(self, path):
        self.keras_model.save(path)


def _strings_as_tensors(x):
    """NumPy string arrays as tf.string tensors: Keras' array adapter refuses str and object arrays."""
    import numpy as np

    def one(a):
        if isinstance(a, np.ndarray) and a.dtype.kind in "USO":
            import tensorflow as tf

            return tf.constant(a.astype(object))
        return a

    return {k: one(v) for k, v in x.items()} if isinstance(x, dict) else one(x)


def _report_early_stopping(callbacks, reporter, epochs: int) -> None:
    """Say when early stopping ended training, and which epoch's weights the model keeps."""
    import keras

    for cb in callbacks:
        if not isinstance(cb, keras.callbacks.EarlyStopping):
            continue
        stopped = cb.stopped_epoch + 1 if cb.stopped_epoch > 0 else None
        restored = cb.best_epoch + 1 if cb.restore_best_weights and cb.best_weights is not None else None
        best = f"{cb.monitor} {float(cb.best):.4f}" if cb.best is not None and restored else cb.monitor
        if stopped:
            reporter.info(f"early stopping: {cb.monitor} did not improve for {cb.patience} epoch"
                          f"{'s' * (cb.patience != 1)}; stopped after epoch {stopped} of {epochs}")
        if restored:
            reporter.info(f"early stopping: restored the weights of epoch {restored} (best {best})")
        elif stopped:
            reporter.info(f"early stopping: kept the weights of epoch {stopped}, the last "
                          "(restore_best_weights=false)")
        reporter.event("early_stopping", monitor=cb.monitor, stopped_epoch=stopped, restored_epoch=restored)
