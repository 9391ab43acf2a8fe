"""The data-loading and training part of an emitted script.

It reproduces what ``nndsl run`` does (``nndsl/datasets.py``, ``nndsl/prepare.py``) in plain NumPy and Keras: the
same file layouts, the same preparation (8-bit pixels scaled to [0, 1], samples reshaped to
the input, labels encoded for the loss), and the same seeded shuffle and splits, so a script
trains on exactly the rows ``nndsl run`` would. Every value taken from the spec (paths, names)
is rendered by :func:`nndsl.backends.pyemit.literal`.
"""

from __future__ import annotations

import os

from .. import ir

INDENT = "    "

_HELPERS = '''

def share(n, fraction):
    """round(n * fraction) rows, at least one when the fraction is positive."""
    return min(n, max(1, int(round(n * fraction)))) if fraction > 0 else 0


def fits(sample, shape):
    return len(sample) == len(shape) and all(d is None or d == s for s, d in zip(sample, shape))


def dims(shape):
    return tuple(-1 if d is None else d for d in shape)


def prepare_input(x, shape, dtype):
    """Scale 8-bit pixels to [0, 1], convert to the input's dtype, reshape to its shape."""
    if x.dtype == np.uint8 and dtype.startswith("float"):
        x = np.divide(x, np.float32(255.0), dtype=np.float32)
    else:
        x = x.astype("float32" if dtype in ("float16", "bfloat16") else dtype, copy=False)
    if not fits(x.shape[1:], shape):
        x = x.reshape((len(x),) + dims(shape))
    return x


def prepare_labels(y, shape, kind):
    """Encode labels as the loss wants them: one-hot rows, class ids, or float targets."""
    classes = shape[-1] if shape else None
    ids = bool(classes and classes > 1) and (fits(y.shape[1:], shape[:-1]) or fits(y.shape[1:], shape[:-1] + (1,)))
    if kind in ("one_hot", "sparse") and ids:
        y = y.reshape((len(y),) + dims(shape[:-1])).astype(np.intp)
        return np.eye(classes, dtype=np.float32)[y] if kind == "one_hot" else y.astype(np.int32)
    if kind == "sparse":
        return np.argmax(y, axis=-1).astype(np.int32)
    y = y.astype(np.float32, copy=False)
    if not fits(y.shape[1:], shape):
        y = y.reshape((len(y),) + dims(shape))
    return y


def take(arrays, rows):
    return {name: a[rows] for name, a in arrays.items()}


def prepared(x, y):
    """Inputs and labels ready for fit: arrays, or dicts keyed by the spec's names."""
    x = {name: prepare_input(a, *INPUTS[name]) for name, a in x.items()}
    y = {name: prepare_labels(a, *OUTPUTS[name]) for name, a in y.items()}
    return (x if len(x) > 1 else next(iter(x.values()))), (y if len(y) > 1 else next(iter(y.values())))


def load_data():
    """(train, validation, test) pairs, shuffled and split exactly as `nndsl run` does."""
    x, y, x_test, y_test = load_arrays()
    n = len(next(iter(x.values())))
    order = np.random.default_rng(SEED).permutation(n)
    if x_test is None:
        n_test = share(n, TEST_SPLIT)
        x_test, y_test = take(x, order[:n_test]), take(y, order[:n_test])
        order = order[n_test:]
    n_val = share(len(order), VALIDATION_SPLIT)
    validation = prepared(take(x, order[:n_val]), take(y, order[:n_val])) if n_val else None
    return prepared(take(x, order[n_val:]), take(y, order[n_val:])), validation, prepared(x_test, y_test)
'''


def _lit(value) -> str:
    from .pyemit import literal

    return literal(value)


def _by_name(names, expr_for) -> str:
    return "{" + ", ".join(f"{_lit(n)}: {expr_for(n)}" for n in names) + "}"


def _load_arrays(model: ir.Model, data: ir.DataRef) -> list[str] | None:
    """The body of load_arrays() for this data source, or None when only `nndsl run` can load it."""
    ins = [i.name for i in model.inputs]
    outs = list(model.outputs)
    single = len(ins) == 1 and len(outs) == 1
    fn = ["def load_arrays():", f'{INDENT}"""The arrays as stored, by the spec\'s input and output names."""']
    if data.kind == "dataset":
        if data.value != "mnist" or not single:
            return None
        fn += [f"{INDENT}(x, y), (x_test, y_test) = keras.datasets.mnist.load_data()",
               f"{INDENT}return ({{{_lit(ins[0])}: x}}, {{{_lit(outs[0])}: y}}, "
               f"{{{_lit(ins[0])}: x_test}}, {{{_lit(outs[0])}: y_test}})"]
        return fn
    path = data.value
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npz":
        fn += [f"{INDENT}with np.load({_lit(path)}, allow_pickle=False) as data:",
               f"{INDENT * 2}arrays = {{key: data[key] for key in data.files}}"]
        if single:
            fn += [f'{INDENT}if "x_train" in arrays:',
                   f'{INDENT * 2}test = "x_test" in arrays',
                   f'{INDENT * 2}return ({{{_lit(ins[0])}: arrays["x_train"]}}, {{{_lit(outs[0])}: arrays["y_train"]}},',
                   f'{INDENT * 2}        {{{_lit(ins[0])}: arrays["x_test"]}} if test else None,',
                   f'{INDENT * 2}        {{{_lit(outs[0])}: arrays["y_test"]}} if test else None)',
                   f'{INDENT}return {{{_lit(ins[0])}: arrays["x"]}}, {{{_lit(outs[0])}: arrays["y"]}}, None, None']
        else:
            fn += [f'{INDENT}split = "train_" if any(key.startswith("x_train_") for key in arrays) else ""',
                   f'{INDENT}x = {_by_name(ins, lambda n: "arrays[" + _lit("x_") + " + split + " + _lit(n) + "]")}',
                   f'{INDENT}y = {_by_name(outs, lambda n: "arrays[" + _lit("y_") + " + split + " + _lit(n) + "]")}',
                   f"{INDENT}if not split or not any(key.startswith(\"x_test_\") for key in arrays):",
                   f"{INDENT * 2}return x, y, None, None",
                   f'{INDENT}x_test = {_by_name(ins, lambda n: "arrays[" + _lit("x_test_" + n) + "]")}',
                   f'{INDENT}y_test = {_by_name(outs, lambda n: "arrays[" + _lit("y_test_" + n) + "]")}',
                   f"{INDENT}return x, y, x_test, y_test"]
        return fn
    if not single:
        return None
    if ext == ".npy":
        from ..datasets import _swap_word

        folder, filename = os.path.split(path)
        stem, ext_raw = os.path.splitext(filename)
        label_stem = _swap_word(stem, "x", "y")
        if label_stem is None:
            return None
        y_path = os.path.join(folder, label_stem + ext_raw)
        fn += [f"{INDENT}x = np.load({_lit(path)}, allow_pickle=False)",
               f"{INDENT}y = np.load({_lit(y_path)}, allow_pickle=False)"]
        test_stem = _swap_word(stem, "train", "test")
        if test_stem is not None:
            xt = os.path.join(folder, test_stem + ext_raw)
            yt = os.path.join(folder, (_swap_word(test_stem, "x", "y") or "") + ext_raw)
            fn += [f"{INDENT}try:  # the test split, when both files lie beside the training files",
                   f"{INDENT * 2}x_test = np.load({_lit(xt)}, allow_pickle=False)",
                   f"{INDENT * 2}y_test = np.load({_lit(yt)}, allow_pickle=False)",
                   f"{INDENT}except FileNotFoundError:",
                   f"{INDENT * 2}return {{{_lit(ins[0])}: x}}, {{{_lit(outs[0])}: y}}, None, None",
                   f"{INDENT}return {{{_lit(ins[0])}: x}}, {{{_lit(outs[0])}: y}}, "
                   f"{{{_lit(ins[0])}: x_test}}, {{{_lit(outs[0])}: y_test}}"]
        else:
            fn.append(f"{INDENT}return {{{_lit(ins[0])}: x}}, {{{_lit(outs[0])}: y}}, None, None")
        return fn
    if ext == ".csv":
        label = dict(data.options).get("label")
        fn += [f'{INDENT}header = np.loadtxt({_lit(path)}, delimiter=",", max_rows=1, dtype=str, ndmin=1, quotechar=\'"\',',
               f'{INDENT}                    encoding="utf-8-sig")',
               f"{INDENT}header = [str(name).strip() for name in header]",
               f'{INDENT}table = np.loadtxt({_lit(path)}, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64,',
               f'{INDENT}                   quotechar=\'"\', encoding="utf-8-sig")',
               f"{INDENT}label = " + (f"header.index({_lit(label)})" if label is not None else "len(header) - 1"),
               f"{INDENT}y = table[:, label]",
               f"{INDENT}if np.all(y == np.round(y)):",
               f"{INDENT * 2}y = y.astype(np.int64)",
               f"{INDENT}x = np.delete(table, label, axis=1).astype(np.float32)",
               f"{INDENT}return {{{_lit(ins[0])}: x}}, {{{_lit(outs[0])}: y}}, None, None"]
        return fn
    return None


def data_lines(model: ir.Model, registry) -> tuple[list[str], list[str], list[str], list[str]]:
    """(extra imports, module constants, data functions, main-block lines) for the script."""
    main = ["model = build_model()", "model.summary()"]
    t = model.training
    if t.data is None or not t.losses:
        return [], [], [], main
    body = _load_arrays(model, t.data)
    if body is None:
        main.append("# This data source is loaded by `nndsl run` (it has no plain-NumPy loader here).")
        return [], [], [], main
    fit = t.fit_options
    losses = dict(t.losses)
    inputs = {i.name: (tuple(i.shape), i.dtype) for i in model.inputs}
    outputs = {}
    for o in model.outputs:
        loss = registry.losses.get(losses.get(o) or losses.get("", ""))
        outputs[o] = (tuple(model.tensor_shape(o)), loss.labels if loss is not None else "values")
    constants = [f"SEED = {_lit(int(fit.get('seed') or 0))}",
                 f"TEST_SPLIT = {_lit(float(fit.get('test_split', 0.1)))}",
                 f"VALIDATION_SPLIT = {_lit(float(fit.get('validation_split', 0.0)))}",
                 "INPUTS = " + _lit(inputs),
                 "OUTPUTS = " + _lit(outputs)]
    functions = body + _HELPERS.rstrip("\n").split("\n")
    fit_args = [f"{key}={_lit(fit[key])}" for key in ("epochs", "batch_size", "shuffle") if key in fit]
    main += ["train, validation, test = load_data()",
             f"model.fit(*train, validation_data=validation{''.join(', ' + a for a in fit_args)})",
             "model.evaluate(*test)"]
    return [], constants, functions, main
