"""Hypothesis strategies for nndsl specs: from the grammar, from known-good models, and mutants.

Three families, each drawn from ``nndsl/grammar.lark`` and the built-in registry:

* :func:`grammar_specs`: any text the grammar derives (statements, chains, paren calls, every
  kind of value), with names drawn from the registry plus random identifiers. Mostly
  meaningless, always syntactically plausible: it exercises resolve, infer and lint.
* :func:`valid_specs`: models built from layer forms known to check (dense stacks, conv stacks,
  small functional graphs) with a training section: for round-trip and emit properties.
* :func:`mutated_specs`: either of the above with tokens dropped, swapped or duplicated, and
  hostile text inserted (huge numbers, unicode look-alikes, zero-width joiners, NULs, CR,
  tabs, unbalanced quotes and parentheses).
"""

from __future__ import annotations

from hypothesis import strategies as st

from nndsl.plugins import build_registry, get_plugin_manager
from nndsl.statements import RESERVED_WORDS, STATEMENT_KEYWORDS

REGISTRY = build_registry(get_plugin_manager(load_entrypoints=False))

LAYERS = sorted(REGISTRY.layers)
ACTIVATIONS = sorted(REGISTRY.activations)
OPTIMIZERS = sorted(REGISTRY.optimizers)
LOSSES = sorted(REGISTRY.losses)
METRICS = sorted(REGISTRY.metrics)
KEYWORD_NAMES = sorted({p.name for layer in REGISTRY.layers.values() for p in layer.params}
                       | {"dtype", "epochs", "batch_size", "seed", "label", "axis", "name"})
KNOWN_WORDS = sorted(set(LAYERS + ACTIVATIONS + OPTIMIZERS + LOSSES + METRICS + list(STATEMENT_KEYWORDS)
                         + list(RESERVED_WORDS) + list(REGISTRY.callbacks) + list(REGISTRY.datasets)))

random_identifiers = st.builds(lambda a, b: a + b, st.sampled_from("abdxyzAZ_"),
                               st.text("abcdefghijklmnopqrstuvwxyz_0123456789XYZ", max_size=10))
names = st.one_of(st.sampled_from(KNOWN_WORDS), random_identifiers)

# Values -------------------------------------------------------------------------------------

HUGE_NUMBERS = ["10" + "0" * 400, "-" + "9" * 30, "9" * 5000, "1e999", "-1e999", "1e-999", "1e308",
                "4.9e-324", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
                "0", "-0", "+0", "0.0", ".5", "5.", "1e5", "1E-5", "+3", "00007"]

numbers = st.one_of(
    st.integers(-3, 300).map(str),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(HUGE_NUMBERS),
)

_ESCAPES = ['\\"', "\\\\", "\\n", "\\t", "\\u0041", "\\0", "{}", "'", "\\'", "\\q"]
strings = st.builds(lambda a, e, b: '"' + a + e + b + '"',
                    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\"\\\n"), max_size=6),
                    st.sampled_from(["", *_ESCAPES]), st.text("ab ./{}", max_size=3))


def _tuple(children):
    return st.lists(children, max_size=4).map(lambda xs: "(" + ", ".join(xs) + ("," if len(xs) == 1 else "") + ")")


OBJECT_NAMES = sorted({n for table in ("regularizers", "constraints", "initializers", "schedules")
                       for n in getattr(REGISTRY, table)} | set(LOSSES))


def _call_value(children):
    """`l2(0.01)`, `cosine_decay(1e-3, decay_steps=10)`: a call value, registered or not."""
    arg = st.one_of(children, st.builds(lambda k, v: f"{k}={v}", st.sampled_from(
        ["l2", "decay_steps", "seed", "axis", "from_logits", "gamma", "warmup_steps", "mode"]) | random_identifiers,
        children))
    return st.builds(lambda n, a: f"{n}(" + ", ".join(a) + ")",
                     st.sampled_from(OBJECT_NAMES) | random_identifiers, st.lists(arg, max_size=3))


values = st.recursive(st.one_of(numbers, strings, names, names, st.just("?")),
                      lambda children: _tuple(children) | _call_value(children), max_leaves=4)
keywords = st.builds(lambda k, v: f"{k}={v}", st.one_of(st.sampled_from(KEYWORD_NAMES), random_identifiers), values)
args = st.one_of(values, keywords)

# Statements ---------------------------------------------------------------------------------

calls = st.builds(lambda n, a: " ".join([n, *a]), names, st.lists(args, max_size=3))
paren_calls = st.builds(lambda n, a: f"{n}(" + ", ".join(a) + ")",
                        st.sampled_from(["concat", "add", "multiply", "dot", "average", "subtract",
                                         "multiheadattention", "dense"]) | random_identifiers,
                        st.lists(st.one_of(names, keywords), max_size=3))
steps = st.one_of(calls, calls, paren_calls)
chains = st.lists(steps, min_size=1, max_size=3).map(" -> ".join)
statements = st.one_of(
    chains,
    chains,
    st.builds(lambda n, c: f"{n} = {c}", names, chains),
    st.builds(lambda n, c: f"output {n} = {c}", names, chains),
    st.builds(lambda n: f"output {n}", names),
    st.builds(lambda n: f"input {n}", st.lists(st.one_of(numbers, st.just("?"), names), min_size=1, max_size=4)
              .map(" ".join)),
)
separators = st.sampled_from(["\n", "; ", "\r\n", "\n\n", " # note\n", ";\t", "\n  -> "])


@st.composite
def grammar_specs(draw) -> str:
    """Text the grammar derives: statements of every shape, with registry and random names."""
    parts = draw(st.lists(statements, min_size=1, max_size=5))
    out = []
    for p in parts:
        out.append(p)
        out.append(draw(separators))
    if draw(st.booleans()):
        out.insert(0, draw(st.sampled_from(["input 784\n", "input 28 28 1\n", "input a 8; input b 8\n"])))
    return "".join(out)


# Known-good models --------------------------------------------------------------------------

_act = st.sampled_from(["relu", "tanh", "sigmoid", "gelu", "linear", "softmax"])
_vector_layers = st.one_of(
    st.builds(lambda n, a: f"dense {n} {a}", st.integers(1, 64), _act),
    st.builds(lambda n: f"dense {n} use_bias=false", st.integers(1, 64)),
    st.builds(lambda n, r, c: f"dense {n} relu kernel_regularizer={r} kernel_constraint={c}", st.integers(1, 64),
              st.sampled_from(["l2(0.01)", "l1(1e-4)", "l1_l2(l1=0.01, l2=0.1)", "l2", "orthogonal_regularizer(0.1)"]),
              st.sampled_from(["max_norm(3)", "non_neg()", "unit_norm(axis=0)", "min_max_norm(0.0, 2.0)"])),
    st.builds(lambda r: f"dropout {r}", st.sampled_from(["0.1", "0.25", "0.5", "0"])),
    st.sampled_from(["batchnorm", "layernorm", "relu", "tanh", "activation sigmoid", "gaussiannoise 0.1"]),
)
_image_layers = st.one_of(
    st.builds(lambda f, k, a: f"conv2d {f} {k} {a} padding=same", st.integers(1, 8), st.integers(1, 3), _act),
    st.just("maxpool2d 2 padding=same"),
    st.just("batchnorm"),
    st.just("upsampling2d 2"),
)
_training = st.builds(
    lambda opt, lr, loss, metrics, fit: "\n".join(x for x in [f"{opt} {lr}", f"loss {loss}", metrics, fit] if x),
    st.sampled_from(OPTIMIZERS), st.sampled_from(["0.001", "3e-4", "0.1", "1", "cosine_decay(1e-3, 100)",
                                                  "exponential_decay(0.1, decay_steps=10, decay_rate=0.9)",
                                                  "piecewise_constant_decay((10, 20), (0.1, 0.01, 0.001))"]),
    st.sampled_from(LOSSES),
    st.sampled_from(["", "metrics accuracy", "metrics mae mse"]),
    st.sampled_from(["", "fit epochs=2 batch_size=16", "fit epochs=1 seed=3 validation_split=0.2",
                     'data "x.npz"', "data mnist"]),
)


@st.composite
def valid_specs(draw) -> str:
    """A model that checks: a dense stack, a conv stack, or a small functional graph."""
    kind = draw(st.sampled_from(["vector", "image", "graph"]))
    if kind == "vector":
        lines = [f"input {draw(st.integers(1, 800))}"] + draw(st.lists(_vector_layers, max_size=6))
        lines.append(f"dense {draw(st.integers(1, 10))} softmax")
    elif kind == "image":
        h = draw(st.integers(4, 32))
        lines = [f"input {h} {h} {draw(st.integers(1, 3))}"] + draw(st.lists(_image_layers, max_size=5))
        lines += ["flatten", f"dense {draw(st.integers(1, 10))}"]
    else:
        width = draw(st.integers(1, 16))
        merge = draw(st.sampled_from(["add", "concat", "multiply", "average", "maximum"]))
        lines = [f"input a {width}", f"input b {width}",
                 f"x = a -> dense {width} {draw(_act)}", f"y = b -> dense {width}",
                 f"z = {merge}(x, y)", f"output out = z -> dense {draw(st.integers(1, 5))}"]
    lines.append(draw(_training))
    return draw(st.sampled_from(["\n", "\r\n", "; "])).join(lines) + "\n"


# Mutants ------------------------------------------------------------------------------------

HOSTILE = ["\u0430", "\u0435", "\uff44", "\uff45nse", "\u200d", "\u200b", "\ufeff", "\0", "\r", "\t", "\r\n",
           "\x0b", "\x0c", "\u2028", "\x85", '"', "'", "(", ")", "((((", "))))", "->", "-", "=", "==", ";",
           "#", "\\", ",", "?", "output", "input", "\U0001f600", "ﬁle", "\u00e9", "e\u0301"] + HUGE_NUMBERS[:6]

_TOKEN = r"->|[A-Za-z_][A-Za-z0-9_]*\(?|[+-]?\d[\w.+-]*|\"(?:[^\"\\\n]|\\.)*\"|\s+|."


def tokens(text: str) -> list[str]:
    import re

    return re.findall(_TOKEN, text, flags=re.S)


@st.composite
def mutated_specs(draw) -> str:
    """A spec with a few random edits: drop, swap, duplicate, insert hostile text or bytes."""
    toks = tokens(draw(st.one_of(valid_specs(), grammar_specs())))
    for _ in range(draw(st.integers(1, 4))):
        if not toks:
            toks = [""]
        op = draw(st.sampled_from(["drop", "swap", "dup", "insert", "insert", "replace", "bytes"]))
        i = draw(st.integers(0, len(toks) - 1))
        j = draw(st.integers(0, len(toks) - 1))
        if op == "drop":
            del toks[i]
        elif op == "swap":
            toks[i], toks[j] = toks[j], toks[i]
        elif op == "dup":
            toks.insert(i, toks[i])
        elif op == "insert":
            toks.insert(i, draw(st.sampled_from(HOSTILE)))
        elif op == "replace":
            toks[i] = draw(st.sampled_from(HOSTILE + HUGE_NUMBERS))
        else:
            toks.insert(i, draw(st.binary(max_size=6)).decode("latin-1"))
    return "".join(toks)


def deep_chain(n: int, layer: str = "dense 4") -> str:
    return "input 4\n" + " -> ".join([layer] * n) + "\n"


def nested_tuple(depth: int) -> str:
    return "input 4; dense 4 activation=" + "(" * depth + "1" + ")" * depth
