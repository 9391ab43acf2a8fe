"""The ``torch`` backend: ``nndsl.build`` gives an ``nn.Module``, ``nndsl emit`` a PyTorch script,
``nndsl run`` trains with :class:`nndsl_torch.trainer.TorchTrainer`."""

from __future__ import annotations

from typing import Any

from nndsl.backends.base import Backend, BackendError
from nndsl.lowering import KINDS, Gap

from .lowering import PREPROCESSING_REFUSED
from .model import BACKEND, plan


class TorchBackend(Backend):
    name = BACKEND
    description = ("PyTorch: nn.Module with the spec's (channels-last) shapes, standalone PyTorch scripts, "
                   "training with nndsl run")
    emits = ("python",)
    # every kind needs an entry in the merged "torch" lowering table (this plugin's and others')
    lowers = tuple(KINDS)
    compiles = False  # build() returns the nn.Module; the optimizer and loss are the trainer's
    reasons = {
        **{("layer", name): why for name, why in PREPROCESSING_REFUSED.items()},
        ("activation", "sparsemax"): "PyTorch has no sparsemax (Keras' is a sort-based kernel of its own)",
        ("regularizer", "orthogonal_regularizer"): "its penalty depends on Keras' kernel layout (rows); not ported",
        ("callback", "tensorboard"): "TensorBoard logging is Keras' (torch.utils.tensorboard is not wired in)",
        ("callback", "model_checkpoint"): "nndsl run checkpoints every epoch; a monitored best-model file is Keras'",
    }

    def unsupported(self, model, registry) -> list[Gap]:
        """Every construct this backend cannot lower, training included: what the lowering table
        lacks (:meth:`Backend.unsupported`), then the values and options the lowerings refuse
        (:func:`nndsl_torch.model.plan`: a loss option, class_weight, a mask into a layer that
        would ignore it), each once."""
        gaps = super().unsupported(model, registry)
        seen = {(g.span, g.message) for g in gaps}
        the_plan = plan(model, registry, attributes=False)
        for problems, training in ((the_plan.problems, False), (the_plan.training_problems, True)):
            for p in problems:
                if (p.span, p.message) not in seen:
                    seen.add((p.span, p.message))
                    gaps.append(Gap("option", "", p.span, p.message, p.hint, training))
        return gaps

    def _refuse(self, model, registry, training: bool) -> None:
        gaps = [g for g in self.unsupported(model, registry) if training or not g.training]
        if gaps:
            lines = [f"backend '{BACKEND}' cannot lower this model" + (" for training:" if training else ":")]
            lines += [f"  {'line ' + str(g.span.line) + ': ' if g.span is not None else ''}{g.message}" for g in gaps]
            raise BackendError("\n".join(lines))

    def check_supported(self, model, registry) -> None:
        """The model's layers must lower (``nndsl.build``); training constructs are checked by
        ``emit`` and ``run``, which use them."""
        self._refuse(model, registry, training=False)

    def check_trainable(self, model, registry) -> None:
        self._refuse(model, registry, training=True)

    def build(self, model, registry, compile: bool = True, **options: Any):
        """The ``nn.Module`` (``compile`` is accepted for symmetry with Keras and ignored)."""
        from .model import build_module

        _need_torch()
        return build_module(model, registry)

    def emit(self, model, registry, fmt: str = "python", **options: Any) -> str:
        if fmt != "python":
            return super().emit(model, registry, fmt)
        from .emit import emit_script

        self.check_trainable(model, registry)
        missing = script_gaps(model)
        if missing:
            raise BackendError("the PyTorch script does not carry what only `nndsl run --backend torch` applies:\n"
                               + "\n".join(f"  {'line ' + str(span.line) + ': ' if span else ''}{what}"
                                            for span, what in missing)
                               + "\n  train it with nndsl run --backend torch, or emit without it")
        return emit_script(model, registry, **options)

    # what the conformance kit (nndsl.testing) asks of a backend

    def predict_arrays(self, built, inputs: dict) -> dict:
        """Outputs in inference mode for NumPy inputs keyed by input name, keyed by output name."""
        import torch

        built.eval()
        with torch.no_grad():
            out = built({k: torch.as_tensor(v) for k, v in inputs.items()})
        if not isinstance(out, dict):
            out = {built.output_names[0]: out}
        return {k: v.detach().cpu().numpy() for k, v in out.items()}

    def count_params(self, built) -> int:
        from .weights import count_params

        return sum(count_params(built))

    def copy_keras_weights(self, built, keras_model) -> None:
        from .weights import load_keras_weights

        load_keras_weights(built, keras_model)

    def trainer(self, registry):
        from .trainer import TorchTrainer

        _need_torch()
        return TorchTrainer(self, registry)


def script_gaps(model) -> list[tuple[Any, str]]:
    """(span, what) the torch trainer applies and the emitted script does not: weight penalties and constraints,
    a learning-rate schedule, class weights, callbacks (the script trains a fixed number of epochs)."""
    out = []
    for node in model.nodes:
        for name, value in node.attrs:
            if value is not None and (name.endswith("_constraint") or
                                      name.endswith("_regularizer") and name != "activity_regularizer"):
                out.append((node.span, f"{name} on layer '{node.op}'"))
    opt = model.training.optimizer
    if opt is not None and not isinstance(opt.attr.get("learning_rate"), (int, float, type(None))):
        out.append((opt.span, f"the learning-rate schedule {opt.attr['learning_rate'].name}"))
    if model.training.fit_options.get("class_weight") is not None:
        out.append((model.training.fit_span, "fit class_weight"))
    for cb in model.training.callbacks:
        out.append((cb.span, f"callback {cb.name}"))
    spans = {o: model.training.loss_span(i) for i, (o, _) in enumerate(model.training.losses)}
    for output, options in model.training.loss_options:
        out += [(spans.get(output), f"loss option {name}") for name, _ in options]
    return out


def _need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise BackendError("backend 'torch' needs PyTorch: pip install torch") from None
