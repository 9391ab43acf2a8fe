"""The data-loading and training part of an emitted script.

It reproduces what ``nndsl run`` does (``nndsl/datasets.py``, ``nndsl/prepare.py``) in plain NumPy and Keras: the
same file layouts, the same preparation (8-bit pixels scaled to [0, 1], samples reshaped to
the input, labels encoded for the loss), and the same seeded shuffle and splits, so a script
trains on exactly the rows ``nndsl run`` would. Every value taken from the spec (paths, names)
is rendered by :func:`nndsl.backends.pysource.literal`.

Data paths in the script are relative to the script's own folder (``data_path``), rewritten by
``nndsl emit`` from the spec's folder to where the script is written (``-o``; on stdout the script
is taken to be saved beside the spec). ``data mnist`` falls back like ``run`` does: Keras' loader,
else (offline, ``NNDSL_OFFLINE=1``) the digits bundled with an installed nndsl.
"""

from __future__ import annotations

import os

from .. import ir
from .pysource import literal

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


def data_path(path):
    """A data file's path: relative ones are relative to this script's folder."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), os.path.expanduser(path))
'''

_ARRAYS = '''

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
    order = np.random.default_rng(DATA_SEED).permutation(n)
    if x_test is None:
        n_test = share(n, TEST_SPLIT)
        x_test, y_test = take(x, order[:n_test]), take(y, order[:n_test])
        order = order[n_test:]
    n_val = share(len(order), VALIDATION_SPLIT)
    validation = prepared(take(x, order[:n_val]), take(y, order[:n_val])) if n_val else None
    return prepared(take(x, order[n_val:]), take(y, order[n_val:])), validation, prepared(x_test, y_test)
'''


def _lit(value) -> str:
    return literal(value)


def _by_name(names, expr_for) -> str:
    return "{" + ", ".join(f"{_lit(n)}: {expr_for(n)}" for n in names) + "}"


def _relocated(path: str, data_dir: str) -> str:
    """The spec's data path as seen from the script's folder (``data_dir``: the spec's folder from there)."""
    if os.path.isabs(os.path.expanduser(path)) or not data_dir:
        return path
    return os.path.normpath(os.path.join(data_dir, path))


def _load_arrays(model: ir.Model, data: ir.DataRef, data_dir: str = "") -> list[str] | None:
    """The body of load_arrays() for this data source, or None when only `nndsl run` can load it."""
    ins = [i.name for i in model.inputs]
    outs = list(model.outputs)
    single = len(ins) == 1 and len(outs) == 1
    fn = ["def load_arrays():", f'{INDENT}"""The arrays as stored, by the spec\'s input and output names."""']
    if data.kind == "dataset":
        if data.value != "mnist" or not single:
            return None
        i, o = _lit(ins[0]), _lit(outs[0])
        fn[1] = (f'{INDENT}"""MNIST through Keras (its cache, then a download); else, as `nndsl run` does, '
                 'the 5,000 digits bundled with nndsl."""')
        fn += [f'{INDENT}if os.environ.get("NNDSL_OFFLINE", "").strip().lower() in ("", "0", "false", "no"):',
               f"{INDENT * 2}try:",
               f"{INDENT * 3}(x, y), (x_test, y_test) = keras.datasets.mnist.load_data()",
               f"{INDENT * 3}return {{{i}: x}}, {{{o}: y}}, {{{i}: x_test}}, {{{o}: y_test}}",
               f"{INDENT * 2}except Exception as error:  # no network and no cache",
               f'{INDENT * 3}print("MNIST is unavailable (" + repr(error) + "); using the digits bundled with nndsl")',
               f"{INDENT}with np.load(bundled_mnist(), allow_pickle=False) as data:",
               f'{INDENT * 2}return {{{i}: data["x"]}}, {{{o}: data["y"]}}, None, None',
               "",
               "",
               "def bundled_mnist():",
               f'{INDENT}"""nndsl/data/mnist_5k.npz of the installed nndsl, found without importing nndsl."""',
               f'{INDENT}found = importlib.util.find_spec("nndsl")',
               f"{INDENT}if found is None or not found.submodule_search_locations:",
               f'{INDENT * 2}raise SystemExit("MNIST cannot be loaded (offline) and nndsl, which bundles 5,000 digits, "',
               f'{INDENT * 2}                 "is not installed: pip install nndsl, or put mnist.npz in ~/.keras/datasets")',
               f'{INDENT}return os.path.join(found.submodule_search_locations[0], "data", "mnist_5k.npz")']
        return fn
    path = _relocated(data.value, data_dir)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npz":
        fn += [f"{INDENT}with np.load(data_path({_lit(path)}), allow_pickle=False) as data:",
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
        fn += [f"{INDENT}x = np.load(data_path({_lit(path)}), allow_pickle=False)",
               f"{INDENT}y = np.load(data_path({_lit(y_path)}), allow_pickle=False)"]
        test_stem = _swap_word(stem, "train", "test")
        if test_stem is not None:
            xt = os.path.join(folder, test_stem + ext_raw)
            yt = os.path.join(folder, (_swap_word(test_stem, "x", "y") or "") + ext_raw)
            fn += [f"{INDENT}try:  # the test split, when both files lie beside the training files",
                   f"{INDENT * 2}x_test = np.load(data_path({_lit(xt)}), allow_pickle=False)",
                   f"{INDENT * 2}y_test = np.load(data_path({_lit(yt)}), allow_pickle=False)",
                   f"{INDENT}except FileNotFoundError:",
                   f"{INDENT * 2}return {{{_lit(ins[0])}: x}}, {{{_lit(outs[0])}: y}}, None, None",
                   f"{INDENT}return {{{_lit(ins[0])}: x}}, {{{_lit(outs[0])}: y}}, "
                   f"{{{_lit(ins[0])}: x_test}}, {{{_lit(outs[0])}: y_test}}"]
        else:
            fn.append(f"{INDENT}return {{{_lit(ins[0])}: x}}, {{{_lit(outs[0])}: y}}, None, None")
        return fn
    if ext == ".csv":
        label = dict(data.options).get("label")
        fn += [f'{INDENT}header = np.loadtxt(data_path({_lit(path)}), delimiter=",", max_rows=1, dtype=str, ndmin=1, quotechar=\'"\',',
               f'{INDENT}                    encoding="utf-8-sig")',
               f"{INDENT}header = [str(name).strip() for name in header]",
               f'{INDENT}table = np.loadtxt(data_path({_lit(path)}), delimiter=",", skiprows=1, ndmin=2, dtype=np.float64,',
               f'{INDENT}                   quotechar=\'"\', encoding="utf-8-sig")',
               f"{INDENT}label = " + (f"header.index({_lit(label)})" if label is not None else "len(header) - 1"),
               f"{INDENT}y = table[:, label]",
               f"{INDENT}if np.all(y == np.round(y)):",
               f"{INDENT * 2}y = y.astype(np.int64)",
               f"{INDENT}x = np.delete(table, label, axis=1).astype(np.float32)",
               f"{INDENT}return {{{_lit(ins[0])}: x}}, {{{_lit(outs[0])}: y}}, None, None"]
        return fn
    return None


def data_lines(model: ir.Model, registry, *, data_dir: str = "", callbacks: list[str] | None = None,
               tf_data: bool = False) -> tuple[set[str], list[str], list[str], list[str]]:
    """(extra imports, module constants, data functions, main-block lines after the build).

    ``callbacks`` are the Python sources of the spec's callbacks (the same objects ``run`` makes).
    ``tf_data``: the script may read data folders through ``tf.data`` (the Keras scripts); other
    emitters get arrays only, and a folder is left to ``nndsl run`` with a comment.
    """
    from ..statements import FIT_PARAMS

    t = model.training
    if t.data is None or not t.losses:
        return set(), [], [], []
    fit = {p.name: p.default for p in FIT_PARAMS}
    fit.update(t.fit_options)
    streams = False
    fmt = registry.data_format(t.data.value) if t.data.kind == "path" else None
    if fmt is not None and fmt.name in ("folder", "csv", "parquet"):
        from .pysources import folder_lines, table_lines

        lines_for = folder_lines if fmt.name == "folder" else table_lines
        made = None if fmt.name == "folder" and not tf_data else lines_for(model, t.data,
                                                                         _relocated(t.data.value, data_dir))
        if made is None:
            return set(), [], [], ["# This data source is loaded by `nndsl run` (it has no plain-NumPy loader here)."]
        extra_imports, extra_constants, body, streams = made
        extra_constants += [f"BATCH_SIZE = {_lit(int(fit['batch_size']))}", f"SHUFFLE = {_lit(bool(fit['shuffle']))}"]
        body = _HELPERS.strip("\n").split("\n") + body
        # words in a table: Keras' array adapter refuses NumPy string arrays, so fit takes tf.data
        held = tf_data and not streams and any(i.dtype == "string" for i in model.inputs)
        if held:
            from .pysources import AS_DATASET

            extra_imports = extra_imports | {"import tensorflow as tf"}
            body = body + AS_DATASET.rstrip("\n").split("\n")
    else:
        extra_imports, extra_constants, held = set(), [], False
        body = _load_arrays(model, t.data, data_dir)
        if body is None:
            return set(), [], [], ["# This data source is loaded by `nndsl run` (it has no plain-NumPy loader here)."]
        body = body + (_HELPERS + _ARRAYS).rstrip("\n").split("\n")
    losses = dict(t.losses)
    inputs = {i.name: (tuple(i.shape), i.dtype) for i in model.inputs}
    outputs = {}
    for o in model.outputs:
        loss = registry.losses.get(losses.get(o) or losses.get("", ""))
        outputs[o] = (tuple(model.tensor_shape(o)), loss.labels if loss is not None else "values")
    constants = ["DATA_SEED = 0 if SEED is None else SEED  # the shuffle before the splits, as in `nndsl run`",
                 f"TEST_SPLIT = {_lit(float(fit['test_split']))}",
                 f"VALIDATION_SPLIT = {_lit(float(fit['validation_split']))}",
                 "INPUTS = " + _lit(inputs),
                 "OUTPUTS = " + _lit(outputs)] + extra_constants
    functions = body
    fit_args = ", shuffle=False" * streams + "".join(f", {key}={_lit(fit[key])}" for key in (("epochs",) if streams else
                                                               ("epochs", "batch_size", "shuffle")))
    imports = {"import os"} | ({"import importlib.util"} if t.data.kind == "dataset" else set()) | extra_imports
    weights = fit.get("class_weight")
    if weights is not None:
        width = model.tensor_shape(model.outputs[0])[-1]
        classes = width if width and width > 1 else 2
        if weights == "balanced" and streams:
            pass  # a folder's labels are not listed up front here: train without class weights
        elif weights == "balanced":
            from .keras.lower import HELPERS

            imports.add(f"{HELPERS}:balanced_class_weight")  # the script carries the helper's source
            fit_args += f", class_weight=balanced_class_weight(train[1], {_lit(int(classes))})"
        else:
            fit_args += ", class_weight={" + ", ".join(f"{i}: {_lit(float(w))}" for i, w in enumerate(weights)) + "}"
    main = ["train, validation, test = load_data()"]
    from ..builtins.layers_preprocessing import adapt_plan

    adapt = adapt_plan(model)
    if adapt:  # as `nndsl run`: adapted on the training rows only, before fit
        from .keras.lower import HELPERS

        imports.add(f"{HELPERS}:adapt_preprocessing")
        constants.append("ADAPT = " + _lit({name: tuple(sources) for name, sources in adapt.items()})
                         + "  # layers adapted before fit, with the inputs each depends on")
        rows = "features(train)" if streams else "train[0]"  # a folder's train is a tf.data pipeline
        main += [f"for line in adapt_preprocessing(model, {rows}, ADAPT):  # training rows only",
                 f'{INDENT}print("adapted", line)']
    if callbacks:
        main += ["callbacks = ["] + [f"{INDENT}{c}," for c in callbacks] + ["]"]
        fit_args += ", callbacks=callbacks"
    star = "" if streams else "*"
    if held:
        fit_args = fit_args.replace(f", batch_size={_lit(fit['batch_size'])}", "").replace(
            f", shuffle={_lit(fit['shuffle'])}", ", shuffle=False")
        main += [f"model.fit(as_dataset(train, SHUFFLE), validation_data=as_dataset(validation){fit_args})",
                 "if test is not None:",
                 f"{INDENT}metrics = model.evaluate(as_dataset(test), verbose=0, return_dict=True)",
                 f'{INDENT}print("test:", *("%s %.6f" % item for item in metrics.items()))']
        return imports, constants, functions, main
    main += [f"model.fit({star}train, validation_data=validation{fit_args})",
             "if test is not None:",
             f"{INDENT}metrics = model.evaluate({star}test, verbose=0, return_dict=True)",
             f'{INDENT}print("test:", *("%s %.6f" % item for item in metrics.items()))']
    return imports, constants, functions, main
