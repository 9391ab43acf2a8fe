"""Fit loaded arrays to a checked model: dtypes, shapes, labels per loss, seeded shuffle, splits.

The second half of ``nndsl run``'s data path (:mod:`nndsl.datasets` loads the arrays). Pure
NumPy: nothing here imports TensorFlow or Keras. Every step taken is recorded in
``Prepared.notes`` so ``run`` can say what it did to the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from . import ir
from .datasets import Arrays, DataError, RawData, _count_words, _length

_CHUNK = 1 << 22  # elements per block when scanning for NaN (bounds the temporary mask)


@dataclass(frozen=True)
class Prepared:
    """Arrays ready for ``keras.Model.fit``: one array or a dict keyed by input/output name.

    ``x_val``/``y_val`` are None without a validation split (pass them as ``validation_data``
    rather than Keras' ``validation_split``, which takes the last rows unshuffled).
    ``notes`` has one line per preparation step; ``warnings`` what ``run`` should warn about
    (files skipped or ignored). Data read from disk while training holds a
    :class:`nndsl.data.stream.Split` in each ``x_*`` field and None in the ``y_*`` fields.
    """

    x_train: Arrays
    y_train: Arrays
    x_val: Arrays | None
    y_val: Arrays | None
    x_test: Arrays | None
    y_test: Arrays | None
    notes: tuple[str, ...]
    source: str
    warnings: tuple[str, ...] = ()

# Preparation ------------------------------------------------------------------------------


def prepare(raw: RawData, model: ir.Model, registry, *, seed: int = 0,
            validation_split: float | None = None, test_split: float = 0.1) -> Prepared:
    """Fit raw arrays to ``model``: dtypes, shapes, labels per loss, seeded shuffle, splits.

    Args:
        raw: what :func:`load` returned.
        model: the checked model (its inputs, outputs and losses decide the preparation).
        registry: where each loss says what labels it wants (``LossDef.labels``).
        seed: the shuffle seed (the shuffle happens before any split).
        validation_split: share of the training rows held out for validation (None or 0: none).
        test_split: share held out as a test set when the data has no test split of its own.

    Raises:
        DataError: the data does not fit the model (shapes, label range, NaN, sizes).
    """
    for what, share in (("validation_split", validation_split), ("test_split", test_split)):
        if share is not None and not 0.0 <= share < 1.0:
            raise DataError(f"{what} must be in [0, 1), got {share}")
    notes: list[str] = []
    # Messages name arrays as the files do: x and y, or x_train ... when there is a test split.
    train = "train" if raw.x_test is not None or raw.y_test is not None else ""
    x_train = _by_name(raw.x_train, model.inputs, "x", train, "input")
    y_train = _by_name(raw.y_train, _outputs(model), "y", train, "output")
    x_test = y_test = None
    if raw.x_test is not None or raw.y_test is not None:
        if raw.x_test is None or raw.y_test is None:
            raise DataError("the data has a test split with " +
                            ("labels but no inputs" if raw.x_test is None else "inputs but no labels"))
        x_test = _by_name(raw.x_test, model.inputs, "x", "test", "input")
        y_test = _by_name(raw.y_test, _outputs(model), "y", "test", "output")
    n = _common_length({**_label(x_train, "x_" + train if train else "x"),
                        **_label(y_train, "y_" + train if train else "y")})
    if x_test is not None:
        _common_length({**_label(x_test, "x_test"), **_label(y_test, "y_test")})

    many_in, many_out = len(model.inputs) > 1, len(model.outputs) > 1
    x_plans = {}
    for inp in model.inputs:
        prefix = f"input '{inp.name}': " if many_in else ""
        x_plans[inp.name] = _plan_input(x_train[inp.name], inp, prefix, notes,
                                        x_test[inp.name] if x_test is not None else None)
    for inp in model.inputs:
        if x_plans[inp.name].scales:
            continue
        _check_ids(x_train[inp.name], inp, model, "the data")
        if x_test is not None:
            _check_ids(x_test[inp.name], inp, model, "the test data")
    y_plans = {}
    for out in model.outputs:
        prefix = f"output '{out}': " if many_out else ""
        y_plans[out] = _plan_labels(y_train[out], out, model, registry, prefix, notes,
                                    y_test[out] if y_test is not None else None)

    perm = np.random.default_rng(seed).permutation(n)
    notes.append(f"shuffled {_count_words(n)} samples with seed {seed}")
    if x_test is not None:
        rest = perm
        notes.append(f"test set: the data's own ({_count_words(_length(raw.x_test))} samples)")
    elif test_split:
        n_test = _share(n, test_split)
        test_idx, rest = perm[:n_test], perm[n_test:]
        notes.append(f"held out {test_split:.0%} ({_count_words(n_test)} samples) as test set")
    else:
        rest = perm
        notes.append("no test set (test_split=0 and the data has none)")
    val_idx = None
    if validation_split:
        n_val = _share(len(rest), validation_split)
        val_idx, rest = rest[:n_val], rest[n_val:]
        notes.append(f"held out {validation_split:.0%} ({_count_words(n_val)} samples) for validation")
    if len(rest) == 0:
        raise DataError(f"no training samples left: the data has {_count_words(n)} and the test/validation "
                        "splits take them all", "use more data or smaller test_split / validation_split")

    def build(source: Mapping[str, np.ndarray], plans, idx) -> Arrays:
        out = {name: plans[name](source[name] if idx is None else source[name][idx]) for name in plans}
        return out if len(out) > 1 else next(iter(out.values()))

    xt = build(x_train, x_plans, rest)
    yt = build(y_train, y_plans, rest)
    xv = yv = None
    if val_idx is not None:
        xv, yv = build(x_train, x_plans, val_idx), build(y_train, y_plans, val_idx)
    if x_test is not None:
        xs, ys = build(x_test, x_plans, None), build(y_test, y_plans, None)
    elif test_split:
        xs, ys = build(x_train, x_plans, test_idx), build(y_train, y_plans, test_idx)
    else:
        xs = ys = None
    sizes = [f"train {_count_words(len(rest))}"]
    if val_idx is not None:
        sizes.append(f"validation {_count_words(len(val_idx))}")
    if xs is not None:
        sizes.append(f"test {_count_words(_length(xs))}")
    notes.append(" / ".join(sizes) + " samples")
    return Prepared(xt, yt, xv, yv, xs, ys, tuple(notes), raw.source)


def _outputs(model: ir.Model) -> list[tuple[str, tuple]]:
    return [(name, model.tensor_shape(name)) for name in model.outputs]


def _by_name(data: Any, slots, role: str, split: str, kind: str) -> dict[str, np.ndarray]:
    """Map the data's arrays to the model's inputs (or outputs) by name."""
    names = [s.name if isinstance(s, ir.Input) else s[0] for s in slots]
    base = f"{role}_{split}" if split else role
    if isinstance(data, Mapping):
        given = set(data)
        missing = [n for n in names if n not in given]
        extra = sorted(given - set(names))
        if missing or extra:
            found = ", ".join(f"{role}_{k}" for k in sorted(given)) or "none"
            want = ", ".join(f"{role}_{n}" for n in names)
            raise DataError(f"the model's {kind}s are {', '.join(names)} but the data's {role} arrays are "
                            f"{found}", f"name one array per {kind}: {want}")
        out = {n: data[n] for n in names}
    else:
        if len(names) > 1:
            want = ", ".join(f"{role}_{n}" for n in names)
            raise DataError(f"the model has {len(names)} {kind}s ({', '.join(names)}) but the data has one "
                            f"'{base}' array", f"name one array per {kind}: {want}")
        out = {names[0]: data}
    for name, arr in out.items():
        label = base if len(names) == 1 else f"{base}['{name}']"
        if not isinstance(arr, np.ndarray):
            raise DataError(f"{label} is a {type(arr).__name__}, expected a NumPy array")
        if arr.ndim == 0:
            raise DataError(f"{label} is a single number, expected one sample per row")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
            raise DataError(f"{label} has dtype {arr.dtype}; expected numbers (integers or floats)")
    return out


def _label(arrays: Mapping[str, np.ndarray], base: str) -> dict[str, np.ndarray]:
    if len(arrays) == 1:
        return {base: next(iter(arrays.values()))}
    return {f"{base}['{k}']": v for k, v in arrays.items()}


def _common_length(arrays: Mapping[str, np.ndarray]) -> int:
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {_count_words(n)}" for name, n in lengths.items())
        raise DataError(f"the arrays disagree on the number of samples: {listed}",
                        "every array needs one row per sample")
    n = next(iter(lengths.values()))
    if n == 0:
        raise DataError(f"the data is empty: {', '.join(lengths)} have no samples")
    return n


def _share(n: int, fraction: float) -> int:
    """round(n * fraction), but at least one row when the fraction is positive."""
    return min(n, max(1, int(round(n * fraction)))) if fraction > 0 else 0


def _fits(sample: tuple, target: tuple) -> bool:
    return len(sample) == len(target) and all(t is None or t == s for s, t in zip(sample, target))


def _check_finite(arr: np.ndarray, label: str) -> None:
    if not np.issubdtype(arr.dtype, np.floating):
        return
    flat = arr.reshape(-1) if arr.flags.c_contiguous else arr.ravel()
    for start in range(0, flat.size, _CHUNK):
        block = flat[start:start + _CHUNK]
        bad = ~np.isfinite(block)
        if bad.any():
            at = start + int(np.argmax(bad))
            sample = at // max(1, int(np.prod(arr.shape[1:])))
            kind = "NaN" if np.isnan(flat[at]) else "an infinite value"
            raise DataError(f"{label} contains {kind} (first in sample {sample})",
                            "clean or drop those rows before training")


def input_statement(inp: ir.Input, sample: tuple) -> str:
    """The ``input`` line that takes samples of shape ``sample``, keeping the model's rank.

    Conv layers need their channel axis: 28x28 images for a model of rank 3 need ``input 28 28 1``.
    """
    dims = tuple(sample) or (1,)
    if len(dims) < len(inp.shape):
        dims = dims + (1,) * (len(inp.shape) - len(dims))
    anonymous = inp.name == "input_layer" or inp.name.startswith("input_layer_")
    return " ".join(["input"] + ([] if anonymous else [inp.name]) + [str(d) for d in dims]
                    + ([f"dtype={inp.dtype}"] if inp.dtype != "float32" else []))


def _plan_input(arr: np.ndarray, inp: ir.Input, prefix: str, notes: list[str], test: np.ndarray | None):
    """Check one input array against its spec input; return the conversion for any row subset."""
    target = tuple(inp.shape)
    sample = tuple(arr.shape[1:])
    label = f"the data for input '{inp.name}'"
    _check_finite(arr, label)
    if test is not None:
        _check_finite(test, f"the test data for input '{inp.name}'")
        if test.shape[1:] != arr.shape[1:]:
            raise DataError(f"the test inputs have samples of shape {tuple(test.shape[1:])} but the training "
                            f"inputs {sample}")
    reshape = None
    if not _fits(sample, target):
        size = int(np.prod(sample)) if sample else 1
        if None in target or size != int(np.prod(target)):
            raise DataError(
                f"input '{inp.name}' takes samples of shape {target} but the data's samples are {sample} "
                f"({size:,} values each)",
                "change the input statement to match the data: " + input_statement(inp, sample))
        reshape = target
        notes.append(f"{prefix}reshaped {sample} -> {target}"
                     + (" (added a channel axis)" if target[:-1] == sample and target[-1] == 1 else ""))
    want = inp.dtype
    integer_input = want.startswith("int") or want == "uint8"
    scale = arr.dtype == np.uint8 and not integer_input and want != "bool"
    if integer_input and np.issubdtype(arr.dtype, np.floating):
        if not np.all(arr == np.round(arr)):
            raise DataError(f"input '{inp.name}' is {want} (ids) but the data has fractional values",
                            "integer inputs (for embedding) need whole numbers")
    out_dtype = {"float16": np.float32, "bfloat16": np.float32}.get(want, np.dtype(want))
    if scale:
        notes.append(f"{prefix}scaled uint8 pixels to [0, 1] (float32)")
    elif arr.dtype != out_dtype:
        notes.append(f"{prefix}converted {arr.dtype} to {np.dtype(out_dtype).name}")

    def convert(part: np.ndarray) -> np.ndarray:
        if scale:
            part = np.divide(part, np.float32(255.0), dtype=np.float32)
        else:
            part = part.astype(out_dtype, copy=False)
        if reshape is not None:
            part = part.reshape((len(part),) + reshape)
        return part

    convert.scales = scale  # type: ignore[attr-defined]  # scaled pixels are no ids: _check_ids skips them
    return convert


# Layers that pass an integer tensor on with its values unchanged (only moved or copied), so ids
# reaching an embedding through them are still the input's ids.
ID_PRESERVING = frozenset({"flatten", "reshape", "permute", "repeatvector", "concat", "cropping1d"})


def embeddings_fed_by(model: ir.Model, input_name: str) -> list[ir.Node]:
    """The embedding layers that see ``input_name``'s values as ids (directly or via ID_PRESERVING)."""
    consumers = model.consumers()
    found: list[ir.Node] = []
    seen: set[str] = set()
    todo = [input_name]
    while todo:
        for name in consumers.get(todo.pop(), []):
            if name in seen:
                continue
            seen.add(name)
            node = model.node(name)
            if node.op == "embedding":
                found.append(node)
            elif node.op in ID_PRESERVING:
                todo.append(name)
    return found


def _check_ids(arr: np.ndarray, inp: ir.Input, model: ir.Model, what: str) -> None:
    """Ids beyond an embedding's vocabulary: TensorFlow fails mid-fit, JAX trains to NaN."""
    embeddings = embeddings_fed_by(model, inp.name)
    if not embeddings or arr.size == 0:
        return
    flat = arr.reshape(len(arr), -1)
    high_at = np.unravel_index(int(np.argmax(flat)), flat.shape)
    low_at = np.unravel_index(int(np.argmin(flat)), flat.shape)
    high, low = flat[high_at], flat[low_at]
    for node in sorted(embeddings, key=lambda n: n.attr["input_dim"]):
        vocab = node.attr["input_dim"]
        layer = f"embedding {vocab} {node.attr['output_dim']}" + (f" on line {node.span.line}" if node.span else "")
        if low < 0:
            sample, column = low_at
            raise DataError(f"{layer} takes ids 0..{vocab - 1}; {what} for input '{inp.name}' has a negative "
                            f"id ({low:g}, first in sample {sample}, column {column})",
                            "ids are 0 or more; shift or clean the data (0 is often the padding id)")
        if high >= vocab:
            sample, column = high_at
            raise DataError(f"{layer} takes ids 0..{vocab - 1}; {what} for input '{inp.name}' has ids up to "
                            f"{high:g} (first in sample {sample}, column {column})",
                            f"raise input_dim to {int(high) + 1}, or map the larger ids into 0..{vocab - 1}")


def _loss_for(model: ir.Model, output: str, registry):
    losses = dict(model.training.losses)
    name = losses.get(output) or losses.get("")
    if name is None:
        return None
    return registry.losses.get(name)


def _plan_labels(arr: np.ndarray, output: str, model: ir.Model, registry, prefix: str, notes: list[str],
                 test: np.ndarray | None):
    """Check one label array against its output and loss; return the conversion for any row subset."""
    out_shape = tuple(model.tensor_shape(output))
    loss = _loss_for(model, output, registry)
    kind = loss.labels if loss is not None else "values"
    loss_name = loss.name if loss is not None else None
    sample = tuple(arr.shape[1:])
    arrays = [("the labels", arr)] + ([("the test labels", test)] if test is not None else [])
    for what, a in arrays:
        _check_finite(a, f"{what} for output '{output}'")
        if a.shape[1:] != sample:
            raise DataError(f"the test labels have samples of shape {tuple(a.shape[1:])} but the training "
                            f"labels {sample}")
    classes = out_shape[-1] if out_shape else None
    per_class = bool(out_shape) and classes is not None and classes > 1
    lead = out_shape[:-1] if out_shape else ()
    is_ids = per_class and (_fits(sample, lead) or _fits(sample, lead + (1,)))
    for_loss = f" for loss {loss_name}" if loss_name else ""

    if kind in ("one_hot", "sparse") and is_ids:
        for what, a in arrays:
            if np.issubdtype(a.dtype, np.floating) and not np.all(a == np.round(a)):
                raise DataError(f"{what} for output '{output}' have fractional values, but loss {loss_name} "
                                f"wants class ids 0..{classes - 1} (or one-hot rows of {classes})")
            low, high = a.min(), a.max()
            if low < 0 or high >= classes:
                raise DataError(f"{what} for output '{output}' range from {low:g} to {high:g}, but the output "
                                f"has {classes} classes (ids 0..{classes - 1})",
                                f"make the output's last layer {int(high) + 1} wide, or fix the labels")
        ids_shape = lead
        if kind == "one_hot":
            eye = np.eye(classes, dtype=np.float32)
            notes.append(f"{prefix}one-hot encoded labels ({classes} classes){for_loss}")
            return lambda part: eye[part.reshape((len(part),) + tuple(
                s if s is not None else -1 for s in ids_shape)).astype(np.intp, copy=False)]
        notes.append(f"{prefix}labels as integer class ids ({classes} classes){for_loss}")
        return lambda part: part.reshape((len(part),) + tuple(s if s is not None else -1 for s in ids_shape)
                                         ).astype(np.int32, copy=False)

    if kind == "sparse" and per_class and _fits(sample, out_shape):
        for what, a in arrays:
            if not (np.all((a == 0) | (a == 1)) and np.all(a.sum(axis=-1) == 1)):
                raise DataError(f"{what} for output '{output}' have shape {sample} but are not one-hot rows; "
                                f"loss {loss_name} wants class ids 0..{classes - 1}")
        notes.append(f"{prefix}converted one-hot labels to class ids{for_loss}")
        return lambda part: np.argmax(part, axis=-1).astype(np.int32)

    if kind == "sparse":
        raise DataError(f"loss {loss_name} wants class ids for output '{output}' of shape {out_shape}, "
                        f"but the labels have samples of shape {sample}",
                        "sparse losses need an output of (classes,) and integer labels")

    # one_hot with labels already per class, binary and values: the labels are the targets.
    reshape = None
    if not _fits(sample, out_shape):
        size = int(np.prod(sample)) if sample else 1
        if None in out_shape or size != int(np.prod(out_shape)):
            hint = None
            if kind == "one_hot" and not per_class:
                hint = "class ids need an output with one unit per class, e.g. dense 10 softmax"
            raise DataError(f"output '{output}' has shape {out_shape} but the labels have samples of shape "
                            f"{sample} ({size:,} values each){for_loss}", hint)
        reshape = out_shape
        if sample not in ((), (1,)) or out_shape != (1,):
            notes.append(f"{prefix}reshaped labels {sample} -> {out_shape}")
    if kind == "binary":
        for what, a in arrays:
            low, high = a.min(), a.max()
            if not (0 <= low and high <= 1) and not np.all((a == -1) | (a == 1)):
                raise DataError(f"{what} for output '{output}' range from {low:g} to {high:g}, but loss "
                                f"{loss_name} wants binary labels in [0, 1] (or -1/1)")
        notes.append(f"{prefix}binary labels as float32{for_loss}")
    elif arr.dtype != np.float32:
        notes.append(f"{prefix}labels as float32 values{for_loss}")

    def convert(part: np.ndarray) -> np.ndarray:
        part = part.astype(np.float32, copy=False)
        if reshape is not None:
            part = part.reshape((len(part),) + reshape)
        return part

    return convert
