"""The ``torch`` backend: ``nndsl.build`` gives an ``nn.Module``, ``nndsl emit`` a PyTorch script,
``nndsl run`` trains with :class:`nndsl_torch.trainer.TorchTrainer`."""

from __future__ import annotations

from typing import Any

from nndsl.backends.base import Backend, BackendError

from .model import BACKEND, plan, unsupported_message


class TorchBackend(Backend):
    name = BACKEND
    description = ("PyTorch: nn.Module with the spec's (channels-last) shapes, standalone PyTorch scripts, "
                   "training with nndsl run")
    emits = ("python",)
    # model-level constructs a table entry must exist for (Backend.missing_lowerings); training
    # constructs are checked by plan() for emit and run, so nndsl.build works without them
    lowers = ("layer",)

    def unsupported(self, model, registry) -> list[tuple[Any, str]]:
        """(span or None, message) for every construct this backend cannot lower, training included."""
        return [(p.span, p.message) for p in plan(model, registry).all_problems]

    def check_supported(self, model, registry) -> None:
        """The model's layers must lower (``nndsl.build``); training constructs are checked by
        ``emit`` and ``run``, which use them."""
        the_plan = plan(model, registry)
        if the_plan.problems:
            raise BackendError(unsupported_message(the_plan))

    def check_trainable(self, model, registry) -> None:
        the_plan = plan(model, registry)
        if the_plan.all_problems:
            raise BackendError(unsupported_message(the_plan, training=True))

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


def _need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise BackendError("backend 'torch' needs PyTorch: pip install torch") from None
