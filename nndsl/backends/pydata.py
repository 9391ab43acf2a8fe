"""The data-loading and training part of an emitted script.

Mirrors what ``nndsl run`` does for single-input, single-output models, in the plain NumPy
and Keras a tutorial uses: load, scale 8-bit pixels to [0, 1], reshape to the input, one-hot
labels when the loss wants them, shuffle with a fixed seed before splitting.
"""

from __future__ import annotations

from .. import ir

INDENT = "    "


def _lit(value) -> str:
    from .pyemit import literal

    return literal(value)


def _prepare_lines(model: ir.Model, registry) -> list[str]:
    inp = model.inputs[0]
    out_shape = model.tensor_shape(model.outputs[0])
    lines = []
    if all(d is not None for d in inp.shape):
        target = (-1, *inp.shape)
        lines += [f"x = x.reshape({_lit(target)})"]
    lines += ['if x.dtype == np.uint8:', f'{INDENT}x = x.astype("float32") / 255.0',
              "else:", f'{INDENT}x = x.astype("float32")']
    losses = [name for _, name in model.training.losses]
    labels = registry.losses[losses[0]].labels if losses else "values"
    if labels == "one_hot" and len(out_shape) == 1 and (out_shape[0] or 0) > 1:
        lines += ["if y.ndim == 1:", f"{INDENT}y = keras.utils.to_categorical(y, {out_shape[0]})"]
    elif labels == "binary":
        lines += ['y = y.astype("float32")']
    return lines


def data_lines(model: ir.Model, registry) -> tuple[list[str], list[str]]:
    """(load_data function lines, main-block lines)."""
    main = ["model = build_model()", "model.summary()"]
    t = model.training
    single = len(model.inputs) == 1 and len(model.outputs) == 1
    if t.data is None or not t.losses:
        return [], main
    if not single:
        main.append("# Multi-input / multi-output data is mapped by name: train this spec with `nndsl run`.")
        return [], main
    fit = t.fit_options
    seed = fit.get("seed", 0) or 0
    test_split = fit.get("test_split", 0.1)
    prep = ["def prepare(x, y):", f'{INDENT}"""Shape and scale inputs, encode labels, as this model needs."""']
    prep += [INDENT + line for line in _prepare_lines(model, registry)]
    prep += [f"{INDENT}return x, y", "", ""]
    fn = prep + ["def load_data():", f'{INDENT}"""Training and test arrays, shuffled with a fixed seed."""',
                 f"{INDENT}rng = np.random.default_rng({int(seed)})"]
    shuffle_split = [
        f"{INDENT * 2}order = rng.permutation(len(x))",
        f"{INDENT * 2}n_test = int(len(x) * {_lit(float(test_split))})",
        f"{INDENT * 2}x_test, y_test = x[order[:n_test]], y[order[:n_test]]",
        f"{INDENT * 2}x_train, y_train = x[order[n_test:]], y[order[n_test:]]",
    ]
    if t.data.kind == "dataset" and t.data.value == "mnist":
        fn.append(f"{INDENT}(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()")
    elif t.data.kind == "path" and t.data.value.lower().endswith(".npz"):
        fn.append(f"{INDENT}with np.load({_lit(t.data.value)}, allow_pickle=False) as data:")
        fn.append(f'{INDENT * 2}if "x_train" in data:')
        fn.append(f'{INDENT * 3}x_train, y_train = data["x_train"], data["y_train"]')
        fn.append(f'{INDENT * 3}x_test, y_test = data["x_test"], data["y_test"]')
        fn.append(f"{INDENT * 2}else:")
        fn.append(f'{INDENT * 3}x, y = data["x"], data["y"]')
        fn += [INDENT + line for line in shuffle_split]
    else:
        main.append("# This data source is loaded by `nndsl run`; train with it.")
        return [], main
    fn += [f"{INDENT}order = rng.permutation(len(x_train))",
           f"{INDENT}x_train, y_train = x_train[order], y_train[order]",
           f"{INDENT}return prepare(x_train, y_train), prepare(x_test, y_test)"]
    fit_args = []
    for key in ("epochs", "batch_size", "validation_split", "shuffle"):
        if key in fit:
            fit_args.append(f"{key}={_lit(fit[key])}")
    main += ["(x_train, y_train), (x_test, y_test) = load_data()",
             f"model.fit(x_train, y_train{''.join(', ' + a for a in fit_args)})",
             "model.evaluate(x_test, y_test)"]
    return fn, main
