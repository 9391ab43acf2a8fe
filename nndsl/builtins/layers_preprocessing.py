"""Built-in preprocessing and augmentation layers: text and lookups, discretization, image ops.

Keras' preprocessing layers, with Keras' own shapes: every shape rule here was read off a
real Keras model (``tests/test_parity_preprocessing.py`` keeps them honest). None of them has
weights Keras counts: lookup tables, vocabularies and bin boundaries live outside the model's
variables (``normalization``, whose statistics are non-trainable weights, is in
:mod:`.layers_core`). A layer whose state comes from data (:func:`needs_adapt`) is adapted by
``nndsl run`` on the training split before fitting; the two string layers declare
``takes="strings"``, which is how ``check`` tells a string input from a numeric one.

A vocabulary-sized output (``one_hot``, ``multi_hot``, ``count``, ``tf_idf``) has a known size
only when the spec fixes it (``vocabulary=...``, or ``max_tokens=N pad_to_max_tokens=true``);
otherwise it is ``?`` until adapted, exactly as Keras reports it, and a ``dense`` after it is
``E400``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ast
from ..hookspecs import hookimpl
from ..params import ArgError, Bool, Choice, Float, Int, Kind, Optional, Param, describe
from ..registry import LayerDef, ShapeError
from .common import fmt, need_rank

_SEED = Param("seed", Optional(Int(min=0)), default=None)
# Layers whose state ``adapt`` computes from the training data (when the spec does not fix it).
ADAPTABLE = ("normalization", "textvectorization", "stringlookup", "integerlookup", "discretization")
# Layers that change samples at random while training and pass them through otherwise.
AUGMENTATION = ("randomflip", "randomrotation", "randomzoom", "randomcontrast", "randomcrop")


def needs_adapt(op: str, attrs) -> bool:
    """Whether a layer of the model takes its state from ``adapt`` (the spec did not fix it)."""
    if op == "normalization":
        return True
    if op in ("textvectorization", "stringlookup", "integerlookup"):
        return attrs.get("vocabulary") is None
    if op == "discretization":
        return attrs.get("bin_boundaries") is None
    return False


def adapt_plan(model) -> dict[str, tuple[str, ...]]:
    """The layers of an IR model that ``nndsl run`` adapts, in model order, each with the names
    of the model inputs it depends on (what :func:`nndsl.backends.keras_helpers.adapt_preprocessing`
    takes)."""
    input_names = {i.name for i in model.inputs}
    sources: dict[str, tuple[str, ...]] = {name: (name,) for name in input_names}
    plan = {}
    for node in model.nodes:
        found: list[str] = []
        for tensor in node.inputs:
            found += [s for s in sources.get(tensor, ()) if s not in found]
        sources[node.name] = tuple(i.name for i in model.inputs if i.name in found)
        if needs_adapt(node.op, node.attr):
            plan[node.name] = sources[node.name]
    return plan


# parameter kinds --------------------------------------------------------------------------

@dataclass(frozen=True)
class Factor(Kind):
    """A number or a ``(lower, upper)`` pair, as Keras' augmentation factors take them."""

    min: float | None = None
    max: float | None = None

    @property
    def expected(self) -> str:  # type: ignore[override]
        return "a number or a pair (lower, upper)"

    def _one(self, value) -> float:
        if not isinstance(value, ast.Number):
            raise self.wrong(value)
        v = float(value.value)
        if (self.min is not None and v < self.min) or (self.max is not None and v > self.max) or v != v:
            raise ArgError(f"{value.text} is outside [{self.min}, {self.max}]", code="range")
        return v

    def convert(self, value, ctx):
        if isinstance(value, ast.Tuple):
            if len(value.items) != 2:
                raise self.wrong(value)
            low, high = (self._one(v) for v in value.items)
            if low > high:
                raise ArgError(f"the lower bound {low} is above the upper bound {high}", code="range")
            return (low, high)
        return self._one(value)


@dataclass(frozen=True)
class Values(Kind):
    """A tuple of distinct strings (``("a", "b")``), integers, or increasing numbers."""

    of: str = "string"  # "string", "int" or "float"

    @property
    def expected(self) -> str:  # type: ignore[override]
        return {"string": "a tuple of quoted strings", "int": "a tuple of integers",
                "float": "a tuple of increasing numbers"}[self.of]

    def _item(self, item):
        if self.of == "string" and isinstance(item, ast.String):
            return item.value
        if self.of == "int" and isinstance(item, ast.Number) and isinstance(item.value, int):
            return item.value
        if self.of == "float" and isinstance(item, ast.Number):
            return float(item.value)
        raise ArgError(f"expected {self.expected}, got {describe(item)} in it")

    def convert(self, value, ctx):
        items = value.items if isinstance(value, ast.Tuple) else (value,)
        out = tuple(self._item(i) for i in items)
        if not out:
            raise ArgError("the tuple is empty", code="range")
        if self.of == "float":
            if any(b <= a for a, b in zip(out, out[1:])):
                raise ArgError("bin boundaries must increase strictly", code="range")
        elif len(set(out)) != len(out):
            twice = next(v for v in out if out.count(v) > 1)
            raise ArgError(f"{twice!r} is listed twice", code="range")
        return out


# text and lookups ------------------------------------------------------------------------

_TEXT_MODES = ("int", "multi_hot", "count", "tf_idf")
_LOOKUP_MODES = ("int", "one_hot", "multi_hot", "count")


def _depth(a, oov: int) -> int | None:
    """The size of a vocabulary-sized output: fixed by the spec, or None until adapted."""
    if a["pad_to_max_tokens"] and a["max_tokens"] is not None:
        return a["max_tokens"]
    if a.get("vocabulary") is not None:
        return len(a["vocabulary"]) + oov
    return None


def _text_shape(a, shapes):
    s = shapes[0]
    if s not in ((), (1,), (None,)):
        raise ShapeError(f"takes one string per sample, shape () or (1,), got {fmt(s)}",
                         "declare the input as input NAME dtype=string or input NAME 1 dtype=string")
    mode = a["output_mode"]
    if mode == "int":
        if a["pad_to_max_tokens"]:
            raise ShapeError("pad_to_max_tokens applies to multi_hot, count and tf_idf outputs only")
        return (a["output_sequence_length"],)
    if a["output_sequence_length"] is not None:
        raise ShapeError(f"output_sequence_length applies to output_mode=int only, not {mode}")
    if mode == "tf_idf" and a["vocabulary"] is not None:
        raise ShapeError("tf_idf with a fixed vocabulary needs idf weights nndsl cannot take",
                         "leave vocabulary out so adapt computes both, or use output_mode=count")
    return (*s, _depth(a, 1))  # Keras keeps the (1,) axis: (1, depth)


TEXT_VECTORIZATION = LayerDef(
    "textvectorization", "text_vectorization",
    (Param("max_tokens", Optional(Int(min=1)), default=None, positional=True,
           doc="vocabulary size cap, the padding and out-of-vocabulary tokens included"),
     Param("standardize", Optional(Choice(("lower_and_strip_punctuation", "lower", "strip_punctuation"))),
           default="lower_and_strip_punctuation"),
     Param("split", Optional(Choice(("whitespace", "character"))), default="whitespace"),
     Param("ngrams", Optional(Int(min=1)), default=None),
     Param("output_mode", Choice(_TEXT_MODES), default="int"),
     Param("output_sequence_length", Optional(Int(min=1)), default=None,
           doc="pad or cut int outputs to this many tokens (none: the longest in the batch)"),
     Param("pad_to_max_tokens", Bool(), default=False),
     Param("vocabulary", Optional(Values("string")), default=None, doc="fixed tokens; none: adapted")),
    _text_shape, doc="Strings to token ids (or multi-hot/count/tf-idf vectors); adapted on the training text.",
    category="preprocessing", takes="strings")


def _lookup_shape(a, shapes):
    s = shapes[0]
    mode = a["output_mode"]
    if mode != "int" and a["mask_token"] is not None:
        raise ShapeError(f"mask_token applies to output_mode=int only, not {mode}")
    if mode == "int":
        if a["pad_to_max_tokens"]:
            raise ShapeError("pad_to_max_tokens applies to one_hot, multi_hot and count outputs only")
        return s
    depth = _depth(a, a["num_oov_indices"])
    if mode == "one_hot":
        return (*s[:-1], depth) if s and s[-1] == 1 else (*s, depth)
    need_rank(s, (0, 1), "", f"{mode} takes one value or a vector of values per sample")
    return (depth,)


def _lookup(name: str, auto: str, token, oov_token, what: str) -> LayerDef:
    return LayerDef(
        name, auto,
        (Param("max_tokens", Optional(Int(min=1)), default=None, doc="vocabulary size cap, out-of-vocabulary included"),
         Param("num_oov_indices", Int(min=0), default=1),
         Param("mask_token", Optional(token), default=None),
         Param("oov_token", token, default=oov_token),
         Param("output_mode", Choice(_LOOKUP_MODES), default="int"),
         Param("pad_to_max_tokens", Bool(), default=False),
         Param("vocabulary", Optional(Values("string" if name == "stringlookup" else "int")), default=None,
               doc="fixed values; none: adapted")),
        _lookup_shape, doc=f"{what} to vocabulary indices (or one-hot/multi-hot/count vectors); adapted on the "
                           "training data.", category="preprocessing",
        takes="strings" if name == "stringlookup" else "numbers")


@dataclass(frozen=True)
class _Token(Kind):
    """A quoted string (string lookups) or an integer (integer lookups)."""

    of: str = "string"

    @property
    def expected(self) -> str:  # type: ignore[override]
        return "a quoted string" if self.of == "string" else "an integer"

    def convert(self, value, ctx):
        if self.of == "string" and isinstance(value, ast.String):
            return value.value
        if self.of == "int" and isinstance(value, ast.Number) and isinstance(value.value, int):
            return value.value
        raise self.wrong(value)


STRING_LOOKUP = _lookup("stringlookup", "string_lookup", _Token("string"), "[UNK]", "Strings")
INTEGER_LOOKUP = _lookup("integerlookup", "integer_lookup", _Token("int"), -1, "Integers")


def _discretization_shape(a, shapes):
    if (a["bin_boundaries"] is None) == (a["num_bins"] is None):
        raise ShapeError("needs exactly one of bin_boundaries and num_bins",
                         "bin_boundaries=(0.0, 1.0) fixes the bins; num_bins=4 lets adapt find them")
    s = shapes[0]
    mode = a["output_mode"]
    if mode == "int":
        return s
    depth = a["num_bins"] if a["num_bins"] is not None else len(a["bin_boundaries"]) + 1
    if mode == "one_hot":
        return (*s[:-1], depth) if s and s[-1] == 1 else (*s, depth)
    need_rank(s, (0, 1), "", f"{mode} takes one value or a vector of values per sample")
    return (depth,)


DISCRETIZATION = LayerDef(
    "discretization", "discretization",
    (Param("bin_boundaries", Optional(Values("float")), default=None, doc="fixed boundaries; none: adapted"),
     Param("num_bins", Optional(Int(min=2)), default=None, doc="how many bins adapt finds (by quantiles)"),
     Param("epsilon", Float(min=0.0, min_open=True), default=0.01),
     Param("output_mode", Choice(_LOOKUP_MODES), default="int")),
    _discretization_shape, doc="Numbers to bin indices (or one-hot/multi-hot/count vectors).",
    category="preprocessing")


# images -----------------------------------------------------------------------------------

_FILL = (Param("fill_mode", Choice(("reflect", "wrap", "constant", "nearest")), default="reflect"),
         Param("interpolation", Choice(("nearest", "bilinear")), default="bilinear"),
         _SEED,
         Param("fill_value", Float(), default=0.0))


def _image(what: str):
    def rule(a, shapes):
        need_rank(shapes[0], 3, "", f"{what} takes images: (rows, cols, channels)")
        return shapes[0]
    return rule


def _sized(what: str):
    def rule(a, shapes):
        s = shapes[0]
        need_rank(s, 3, "", f"{what} takes images: (rows, cols, channels)")
        return (a["height"], a["width"], s[2])
    return rule


_HEIGHT = Param("height", Int(min=1), positional=True)
_WIDTH = Param("width", Int(min=1), positional=True)

RANDOM_FLIP = LayerDef(
    "randomflip", "random_flip",
    (Param("mode", Choice(("horizontal", "vertical", "horizontal_and_vertical")), default="horizontal_and_vertical",
           positional=True), _SEED),
    _image("randomflip"), doc="Flips images at random while training.", category="augmentation")

RANDOM_ROTATION = LayerDef(
    "randomrotation", "random_rotation",
    (Param("factor", Factor(), positional=True, doc="a fraction of a full turn: 0.1 rotates within ±36°"),
     *_FILL),
    _image("randomrotation"), doc="Rotates images at random while training.", category="augmentation")

RANDOM_ZOOM = LayerDef(
    "randomzoom", "random_zoom",
    (Param("height_factor", Factor(min=-1.0, max=1.0), positional=True,
           doc="a fraction: 0.2 zooms out or in by up to 20%"),
     Param("width_factor", Optional(Factor(min=-1.0, max=1.0)), default=None, positional=True,
           doc="none: keeps the aspect ratio"),
     *_FILL),
    _image("randomzoom"), doc="Zooms images at random while training.", category="augmentation")

RANDOM_CONTRAST = LayerDef(
    "randomcontrast", "random_contrast",
    (Param("factor", Factor(min=0.0, max=1.0), positional=True, doc="contrast changes by a factor in [1-f, 1+f]"),
     Param("value_range", Factor(), default=(0, 255), doc="the pixels' range: (0, 255), or (0, 1) when rescaled"),
     _SEED),
    _image("randomcontrast"), doc="Changes image contrast at random while training.", category="augmentation")

RANDOM_CROP = LayerDef(
    "randomcrop", "random_crop", (_HEIGHT, _WIDTH, _SEED), _sized("randomcrop"),
    doc="Crops a random (height, width) window while training; a centre crop otherwise.", category="augmentation")

RESIZING = LayerDef(
    "resizing", "resizing",
    (_HEIGHT, _WIDTH,
     Param("interpolation", Choice(("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")),
           default="bilinear"),
     Param("crop_to_aspect_ratio", Bool(), default=False),
     Param("pad_to_aspect_ratio", Bool(), default=False)),
    _sized("resizing"), doc="Resizes images to (height, width).", category="preprocessing")

CENTER_CROP = LayerDef(
    "centercrop", "center_crop", (_HEIGHT, _WIDTH), _sized("centercrop"),
    doc="Crops the central (height, width) window (resizing when the image is smaller).", category="preprocessing")


@hookimpl
def nndsl_layers():
    return [TEXT_VECTORIZATION, STRING_LOOKUP, INTEGER_LOOKUP, DISCRETIZATION, RANDOM_FLIP, RANDOM_ROTATION,
            RANDOM_ZOOM, RANDOM_CONTRAST, RANDOM_CROP, RESIZING, CENTER_CROP]
