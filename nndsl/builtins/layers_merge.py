"""Built-in merge layers: add, subtract, multiply, average, maximum, minimum, concat, dot.

Written ``concat(a, b, axis=-1)`` or mid-chain ``x -> add(y)`` (the chain's tensor comes
first). Shape rules mirror Keras 3's ``Merge``, ``Concatenate`` and ``Dot`` exactly,
including broadcasting of size-1 dimensions and of lower-rank inputs.
Axes count the batch as axis 0, as in Keras.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..params import Bool, Int, IntTuple, Param
from ..registry import LayerDef, ShapeError

MERGE = "merge"


# element-wise merges ------------------------------------------------------------------------

def _broadcast(a: tuple, b: tuple) -> tuple | None:
    """Keras' ``Merge._compute_elemwise_op_output_shape``: align on the right, 1 stretches,
    an unknown size makes the result unknown; None if two known sizes differ."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return a
    out = list(a[:-len(b)])
    for i, j in zip(a[-len(b):], b):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i != j:
            return None
        else:
            out.append(i)
    return tuple(out)


def _elementwise_shape(name: str):
    def rule(a, shapes):
        out = shapes[0]
        for s in shapes[1:]:
            merged = _broadcast(out, s)
            if merged is None:
                hint = "reshape the inputs so that every dimension matches (or is 1)"
                if out and s and None not in (out[-1], s[-1]) and out[-1] != s[-1]:
                    hint = (f"make the last sizes agree before the {name}, for example by projecting "
                            f"input {shapes.index(s) + 1} with dense {out[-1]}")
                raise ShapeError("needs inputs of the same shape (or of size 1 where they differ)", hint)
            out = merged
        return out
    return rule


def _elementwise(name: str, doc: str, max_inputs: int | None = None) -> LayerDef:
    return LayerDef(name, name, (), _elementwise_shape(name), min_inputs=2, max_inputs=max_inputs,
                    category=MERGE, doc=doc)


ADD = _elementwise("add", "Element-wise sum: add(a, b), or x -> add(shortcut).")
SUBTRACT = _elementwise("subtract", "a - b, element-wise: subtract(a, b).", max_inputs=2)
MULTIPLY = _elementwise("multiply", "Element-wise product: multiply(a, b).")
AVERAGE = _elementwise("average", "Element-wise mean: average(a, b, c).")
MAXIMUM = _elementwise("maximum", "Element-wise maximum: maximum(a, b).")
MINIMUM = _elementwise("minimum", "Element-wise minimum: minimum(a, b).")


# concat -------------------------------------------------------------------------------------

def _axis_index(axis: int, rank: int, what: str) -> int:
    """Index into a shape without the batch for a Keras axis (batch = 0, negative from the end)."""
    full = rank + 1
    if axis == 0 or axis == -full:
        raise ShapeError(f"cannot {what} over axis {axis}, the batch axis",
                         "axes count the batch as 0; the last axis is -1")
    if not -full < axis < full:
        raise ShapeError(f"axis {axis} is out of range for a {full}-D input",
                         f"use an axis from 1 to {rank}, or -1 for the last")
    return axis - 1 if axis > 0 else rank + axis


def _concat_shape(a, shapes):
    axis = a["axis"]
    ranks = {len(s) for s in shapes}
    if len(ranks) != 1:
        raise ShapeError("needs inputs with the same number of dimensions",
                         "reshape the inputs so they have the same number of dimensions")
    idx = _axis_index(axis, len(shapes[0]), "concatenate")
    for d in range(len(shapes[0])):
        sizes = {s[d] for s in shapes} - {None}
        if d != idx and len(sizes) > 1:
            raise ShapeError(f"needs inputs of the same shape except on axis {axis}",
                             f"the inputs differ on axis {d + 1}; concatenate on that axis (axis={d + 1}) "
                             "or reshape them")
    out = list(shapes[0])
    sizes = [s[idx] for s in shapes]
    out[idx] = None if None in sizes else sum(sizes)
    return tuple(out)


CONCAT = LayerDef("concat", "concatenate",
                  (Param("axis", Int(), default=-1, doc="the batch is axis 0; -1 is the last"),),
                  _concat_shape, min_inputs=2, max_inputs=None, category=MERGE,
                  aliases=("concatenate",), doc="Joins inputs along an axis: concat(a, b, axis=-1).")


# dot ----------------------------------------------------------------------------------------

def _dot_shape(a, shapes):
    x, y = shapes
    axes = a["axes"] if isinstance(a["axes"], tuple) else (a["axes"], a["axes"])
    ix = _axis_index(axes[0], len(x), "take a dot product")
    iy = _axis_index(axes[1], len(y), "take a dot product")
    if x[ix] != y[iy]:
        raise ShapeError(f"needs equal sizes on the axes it sums over, got {x[ix]} (axis {axes[0]}) and "
                         f"{y[iy]} (axis {axes[1]})",
                         "pick axes of the same size: dot(a, b, axes=(2, 1))")
    out = [d for i, d in enumerate(x) if i != ix] + [d for i, d in enumerate(y) if i != iy]
    return tuple(out) if out else (1,)


DOT = LayerDef("dot", "dot",
               (Param("axes", IntTuple(n=2, min=None), positional=True, doc="axis, or (axis of a, axis of b)"),
                Param("normalize", Bool(), default=False, doc="cosine similarity: L2-normalize first")),
               _dot_shape, min_inputs=2, max_inputs=2, category=MERGE,
               doc="Dot product of two inputs along an axis each: dot(a, b, axes=1).")


@hookimpl
def nndsl_layers() -> list[LayerDef]:
    return [ADD, SUBTRACT, MULTIPLY, AVERAGE, MAXIMUM, MINIMUM, CONCAT, DOT]
