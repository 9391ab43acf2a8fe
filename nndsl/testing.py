"""The conformance kit: check a backend against the Keras reference on every spec nndsl ships.

A backend author points it at a backend name and gets a pytest test (one case per spec)::

    # tests/test_conformance.py of your plugin
    from nndsl.testing import conformance_test

    test_conformance = conformance_test("mybackend")

For every valid conformance spec (``spec/conformance/valid``), every example
(``spec/examples``, the zoo included) it checks that the backend builds the model (or says
it cannot: *unsupported*, a skip with the reason), that its outputs have the shapes Keras
computes, that it counts the same parameters, and, when the backend can copy a Keras model's
weights, that its outputs on random inputs match Keras' within ``atol`` (float32). The
reference is ``keras-functional`` with ``training=False``.

What the kit asks of the backend (all optional but ``build``; see docs/PLUGINS.md):

- ``Backend.predict_arrays(built, inputs) -> {output name: array}``: run the built object in
  inference mode on NumPy inputs keyed by input name (without it only building is checked);
- ``Backend.count_params(built) -> int``: parameters and stored statistics, as Keras counts;
- ``Backend.copy_keras_weights(built, keras_model)``: load a Keras model's weights.

:func:`conformance_report` runs the same checks outside pytest and returns one
:class:`Outcome` per spec (``pass``, ``unsupported`` or ``fail``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

REFERENCE = "keras-functional"
PASS, UNSUPPORTED, FAIL = "pass", "unsupported", "fail"


@dataclass(frozen=True)
class Case:
    """One spec the kit runs: ``name`` (its path under the spec directory) and its file."""

    name: str
    path: Path


@dataclass(frozen=True)
class Outcome:
    case: Case
    status: str         # pass | unsupported | fail
    detail: str = ""    # why, for unsupported and fail; what was compared, for pass


def spec_root() -> Path:
    """The repository's ``spec/`` directory (beside the ``nndsl`` package of a source checkout)."""
    env = os.environ.get("NNDSL_SPEC_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "spec"


def cases(root: "str | os.PathLike[str] | None" = None) -> list[Case]:
    """Every valid conformance spec and every example (the zoo included), sorted by name."""
    base = Path(root) if root is not None else spec_root()
    found = []
    # models only: files a spec includes (conformance/valid/include/) are not models of their own
    for pattern in ("conformance/valid/*.nn", "examples/*.nn", "examples/zoo/*.nn"):
        found += [Case(str(p.relative_to(base)), p) for p in sorted(base.glob(pattern))]
    if not found:
        raise FileNotFoundError(f"no specs under {base} (conformance/valid, examples); set NNDSL_SPEC_DIR to a "
                                "checkout's spec/ directory")
    return found


def random_inputs(model, seed: int = 0, batch: int = 3, unknown: int = 5) -> dict[str, Any]:
    """Inputs for ``model``: normal floats, or ids below every consuming embedding's vocabulary."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for inp in model.inputs:
        shape = (batch,) + tuple(unknown if d is None else d for d in inp.shape)
        vocab = [n.attr["input_dim"] for n in model.nodes if n.op == "embedding" and inp.name in n.inputs]
        if inp.dtype == "string":  # words from a small vocabulary, so lookups see repeats
            words = np.array(["red", "green", "blue", "the cat", "a dog ran", ""], dtype=object)
            out[inp.name] = rng.choice(words, size=shape)
        elif vocab or inp.dtype.startswith(("int", "uint")):
            high = min(vocab) if vocab else 10
            out[inp.name] = rng.integers(0, high, size=shape).astype("float32" if not inp.dtype.startswith(
                ("int", "uint")) else inp.dtype)
        elif inp.dtype == "bool":
            out[inp.name] = rng.integers(0, 2, size=shape).astype(bool)
        else:
            out[inp.name] = rng.normal(size=shape).astype("float32")
    return out


def randomize_weights(keras_model, seed: int = 0) -> None:
    """Give every weight random values (biases, normalization statistics too), so a weight copy
    that drops or misplaces any of them shows in the outputs. Variances stay positive."""
    import numpy as np

    rng = np.random.default_rng(seed + 1)
    for weight in keras_model.weights:
        shape = tuple(weight.shape)
        if "variance" in weight.path:
            value = rng.uniform(0.5, 1.5, size=shape)
        elif "gamma" in weight.path:
            value = rng.normal(1.0, 0.2, size=shape)
        elif len(shape) >= 2:  # kernels: scaled by fan-in, so deep models (the zoo) stay finite
            value = rng.normal(0.0, 1.0, size=shape) / np.sqrt(max(1, int(np.prod(shape[:-1]))))
        else:
            value = rng.normal(0.0, 0.2, size=shape)
        weight.assign(value.astype(weight.dtype))
    for layer in keras_model.layers:  # layers that cache derived values (Normalization's mean) refresh them
        refresh = getattr(layer, "finalize_state", None)
        if refresh is not None:
            refresh()


def _adapt_tables(built_models, model, inputs) -> None:
    """Adapt lookup tables and bins (state that is no weight, so no weight copy carries it) on the
    random inputs, in every Keras model given; normalization keeps its random statistics."""
    from .builtins.layers_preprocessing import adapt_plan

    ops = {n.name: n.op for n in model.nodes}
    plan = {name: sources for name, sources in adapt_plan(model).items() if ops[name] != "normalization"}
    if not plan:
        return
    from .backends.keras_helpers import adapt_preprocessing

    for built in built_models:
        if hasattr(built, "get_layer") and hasattr(built, "inputs"):  # a Keras model
            adapt_preprocessing(built, dict(inputs), plan)


def keras_outputs(keras_model, model, inputs) -> dict[str, Any]:
    import numpy as np

    feed = inputs[model.inputs[0].name] if len(model.inputs) == 1 else dict(inputs)
    out = keras_model(feed, training=False)
    if not isinstance(out, dict):
        out = {model.outputs[0]: out}
    return {k: np.asarray(v) for k, v in out.items()}


def check(backend_name: str, case: Case, registry=None, *, atol: float = 1e-4, seed: int = 0) -> Outcome:
    """Build ``case`` with the backend and with Keras; compare shapes, parameters and outputs."""
    import numpy as np

    from . import api
    from .backends.base import BackendError
    from .diagnostics import NndslError

    registry = api._registry(registry)
    try:
        model = api.load(case.path, registry)
    except NndslError as e:
        return Outcome(case, FAIL, f"the spec does not check: {e}")
    backend = registry.backends.get(backend_name)
    if backend is None:
        return Outcome(case, FAIL, f"no backend named {backend_name!r} is installed")
    try:
        built = api.build(model, backend_name, registry, compile=False)
    except BackendError as e:
        return Outcome(case, UNSUPPORTED, str(e))
    except Exception as e:  # noqa: BLE001 - a crash is this backend's failure, reported per spec
        return Outcome(case, FAIL, f"building failed: {type(e).__name__}: {e}")
    reference = api.build(model, REFERENCE, registry, compile=False)
    notes = ["builds"]
    counter: Callable | None = getattr(backend, "count_params", None)
    if counter is not None:
        want, got = reference.count_params(), counter(built)
        if want != got:
            return Outcome(case, FAIL, f"{got} parameters, Keras counts {want}")
        notes.append(f"{got} parameters")
    runner: Callable | None = getattr(backend, "predict_arrays", None)
    if runner is None:
        return Outcome(case, PASS, ", ".join(notes))
    copier: Callable | None = getattr(backend, "copy_keras_weights", None)
    if copier is not None:
        randomize_weights(reference, seed)
        copier(built, reference)
    inputs = random_inputs(model, seed)
    _adapt_tables([reference, built], model, inputs)
    want_out = keras_outputs(reference, model, inputs)
    if not all(np.all(np.isfinite(v)) for v in want_out.values()):
        return Outcome(case, FAIL, "the Keras reference gives non-finite outputs on random weights and inputs")
    try:
        got_out = runner(built, inputs)
    except Exception as e:  # noqa: BLE001
        return Outcome(case, FAIL, f"running failed: {type(e).__name__}: {e}")
    for name, want in want_out.items():
        got = np.asarray(got_out.get(name)) if name in got_out else None
        if got is None:
            return Outcome(case, FAIL, f"no output {name!r}")
        if got.shape != want.shape:
            return Outcome(case, FAIL, f"output {name!r} has shape {got.shape}, Keras {want.shape}")
        if copier is not None and not np.allclose(got, want, atol=atol, rtol=atol):
            diff = float(np.max(np.abs(got.astype("float64") - want.astype("float64"))))
            return Outcome(case, FAIL, f"output {name!r} differs from Keras by up to {diff:.3g} (atol {atol})")
    notes.append("output shapes")
    if copier is not None:
        notes.append(f"outputs within {atol} after the weight copy")
    return Outcome(case, PASS, ", ".join(notes))


def conformance_report(backend_name: str, registry=None, root=None, **options: Any) -> list[Outcome]:
    """:func:`check` on every case; never raises for a spec."""
    return [check(backend_name, c, registry, **options) for c in cases(root)]


def conformance_test(backend_name: str, *, root=None, registry_factory: Callable[[], Any] | None = None,
                     expect_supported: Sequence[str] = (), **options: Any):
    """A pytest test function parametrized over every case: pass, skip (unsupported) or fail.

    ``expect_supported`` names cases (``examples/mnist_mlp.nn``) that must not be unsupported.
    The test is marked ``keras`` (it builds Keras models) and ``slow``.
    """
    import pytest

    all_cases = cases(root)

    @pytest.mark.keras
    @pytest.mark.slow
    @pytest.mark.parametrize("case", all_cases, ids=[c.name for c in all_cases])
    def test_conformance(case):
        registry = registry_factory() if registry_factory is not None else None
        outcome = check(backend_name, case, registry, **options)
        if outcome.status == FAIL:
            pytest.fail(f"{backend_name} on {case.name}: {outcome.detail}")
        if outcome.status == UNSUPPORTED:
            if case.name in expect_supported:
                pytest.fail(f"{backend_name} cannot take {case.name}: {outcome.detail}")
            pytest.skip(f"unsupported by {backend_name}: {outcome.detail}")

    return test_conformance
