"""``nndsl import``: a Keras model's config (data only) to a readable spec.

Reads the JSON of ``model.to_json()``, or the ``config.json`` member of a ``.keras`` zip, with
:mod:`json` and nothing else: no Keras or TensorFlow import, no Python from the file, no
``Lambda`` bytecode, no pickle, no weights (loading ``.keras`` files has had code-execution
CVEs even in safe mode: CVE-2025-1550, CVE-2025-9906).

Which nndsl layer a Keras class is comes from the registry's Keras lowering table read
backwards (so plugins' layers import too); the options are the layer's nndsl params read
from the config under the same names, and only those that differ from the default are
written. A Keras option nndsl cannot express is an error naming the layer and the option, with
its line and column in the config (E740-E743), never a silently different model; with
``partial=True`` such a layer becomes a ``# TODO`` comment instead. Options that do not change
the layers or their weights (a dtype policy, an unset seed) are left out with warning W013.

The spec: ``input`` statements, then chains wherever the graph is a chain (a layer whose only
reader is the next layer), named tensors only where a result is read twice or merged, merges
as ``add(a, b)``, and the training section from the compile config when there is one.

Example::

    spec = import_model("model.keras")   # -> ImportResult(text, diagnostics)
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from .. import codes
from ..diagnostics import Diagnostic, Severity, Source, Span, SpecError

__all__ = ["ImportResult", "import_model", "import_config"]

MAX_CONFIG_BYTES = 64 * 1024 * 1024

# Keras config keys nndsl has no option for, and the value each takes when it changes nothing.
_KERAS_DEFAULTS: dict[str, Any] = {
    "trainable": True, "synchronized": False, "sparse": False, "ragged": False, "optional": False,
    "beta_initializer": ("Zeros",), "gamma_initializer": ("Ones",), "moving_mean_initializer": ("Zeros",),
    "moving_variance_initializer": ("Ones",), "renorm": False, "renorm_momentum": 0.99, "keepdims": False,
    "data_format": "channels_last", "invert": False, "zero_output_for_mask": False, "rms_scaling": False,
}
# Keys that never matter to the structure: the layer's own name (kept as the tensor name where one is needed).
_IGNORED = {"name", "build_config", "registered_name"}
# Keras' resolved form of an nndsl default: data_format=None is stored as "channels_last".
_RESOLVED_DEFAULTS = {("data_format", None): "channels_last", ("activation", None): "linear"}

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ImportResult:
    text: str
    diagnostics: tuple[Diagnostic, ...] = ()
    source: Source | None = None

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if not d.is_error)


class _Problems:
    """Diagnostics with a position in the config text (found by the layer's name in it)."""

    def __init__(self, source: Source):
        self.source = source
        self.items: list[Diagnostic] = []

    def span_of(self, layer_name: str | None, key: str | None = None) -> Span:
        text = self.source.text
        offset = 0
        if layer_name is not None:
            m = re.search(r'"name"\s*:\s*' + re.escape(json.dumps(layer_name)), text)
            if m:
                offset = m.start()
                if key is not None:
                    k = text.find(json.dumps(key), offset)
                    if k >= 0:
                        offset = k
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return Span(line, col, line, col + 1)

    def add(self, code: str, message: str, layer: str | None = None, key: str | None = None,
            hint: str | None = None, severity: str | None = None) -> None:
        kwargs = {"severity": severity} if severity else {}
        self.items.append(Diagnostic(code, message, self.span_of(layer, key), hint, **kwargs))


def _read(path: str) -> Source:
    """The config JSON text of a ``.keras`` archive or a ``.json`` file."""
    from ..errors import UsageError

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                try:
                    info = zf.getinfo("config.json")
                except KeyError:
                    raise SpecError([Diagnostic(codes.IMPORT_BAD_FILE, "the archive has no config.json: not a "
                                                "Keras 3 .keras file", Span.point(1, 1),
                                                "save the model with model.save('model.keras') (Keras 3)")],
                                    Source("", path)) from None
                if info.file_size > MAX_CONFIG_BYTES:
                    raise SpecError([Diagnostic(codes.IMPORT_BAD_FILE, "config.json is larger than "
                                                f"{MAX_CONFIG_BYTES:,} bytes", Span.point(1, 1))], Source("", path))
                data = zf.read(info)
            name = f"{path}:config.json"
        else:
            with open(path, "rb") as fh:
                data = fh.read(MAX_CONFIG_BYTES + 1)
            name = path
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    except zipfile.BadZipFile as e:
        raise SpecError([Diagnostic(codes.IMPORT_BAD_FILE, f"a broken zip archive: {e}", Span.point(1, 1))],
                        Source("", path)) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise SpecError([Diagnostic(codes.IMPORT_BAD_FILE, f"larger than {MAX_CONFIG_BYTES:,} bytes",
                                    Span.point(1, 1))], Source("", path))
    try:
        return Source(data.decode("utf-8"), name)
    except UnicodeDecodeError:
        raise SpecError([Diagnostic(codes.IMPORT_BAD_FILE, "not a UTF-8 text file: pass a .keras archive or "
                                    "the JSON of model.to_json()", Span.point(1, 1))], Source("", path)) from None


def import_model(path: str, registry=None, partial: bool = False) -> ImportResult:
    """Read a ``.keras`` file or a ``model.to_json()`` file and return the spec text.

    Raises SpecError (codes E740-E743) when the model uses what nndsl cannot express, unless
    ``partial``: then those layers become ``# TODO`` comments and the diagnostics are warnings.
    """
    return import_config(_read(path), registry, partial)


# Values -----------------------------------------------------------------------------------

def _float(v: float) -> str:
    """A float as Python's shortest round-trip text (the config's double, exactly)."""
    text = repr(float(v))
    return text if any(c in text for c in ".en") else text + ".0"


def _float32(v: float) -> str:
    """The shortest text of a float32 value Keras stored as a double (0.001, not 0.0010000000474974513)."""
    import numpy as np

    for digits in range(1, 10):
        text = f"{v:.{digits}g}"
        if np.float32(float(text)) == np.float32(v):
            return text if any(c in text for c in ".en") else text + ".0"
    return _float(v)


def _render(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(value)
        return _float(value)
    if isinstance(value, _Call):
        args = [f"{k}={_render(v)}" for k, v in value.options]
        return f"{value.name}({', '.join(args)})"
    if isinstance(value, _Bare):
        return value.text
    if isinstance(value, str):
        return value if _IDENT.fullmatch(value) and value not in ("true", "false", "none") else json.dumps(value)
    if isinstance(value, tuple):
        # None inside a tuple is a shape's unknown dimension: `(?, 1, 1, 1)`
        return "(" + ", ".join("?" if v is None else _render(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    raise ValueError(value)


@dataclass(frozen=True)
class _Call:
    name: str
    options: tuple = ()


@dataclass(frozen=True)
class _Bare:
    text: str


class _Unsupported(Exception):
    def __init__(self, message: str, key: str | None = None, hint: str | None = None):
        self.message, self.key, self.hint = message, key, hint


def _tuplify(v):
    if isinstance(v, list):
        return tuple(_tuplify(x) for x in v)
    return v


class _Converter:
    """Keras config values to nndsl values, by the nndsl parameter's kind."""

    def __init__(self, registry):
        self.registry = registry
        table = registry.lowerings("keras")
        self.layers: dict[str, str] = {}
        self.objects: dict[tuple[str, str], str] = {}
        self.optimizers: dict[str, str] = {}
        self.losses: dict[str, str] = {}
        self.metrics: dict[str, str] = {}
        self.classes: dict[tuple[str, str], str] = {}
        for (kind, name), value in table.entries.items():
            if kind == "layer" and getattr(value, "lower", None) is None and getattr(value, "cls", None):
                module = getattr(value, "module", "layers")
                key = value.cls if module == "layers" else f"{module}.{value.cls}"
                self.layers.setdefault(key, name)
            elif kind in ("initializer", "regularizer", "constraint", "schedule", "loss") and hasattr(value, "cls"):
                self.objects.setdefault((kind, value.cls), name)
                self.classes[(kind, name)] = value.cls
                # the name compile() takes: the entry's, else the loss's spelled-out name (LossDef.long)
                long = getattr(value, "name", None) or (registry.losses[name].long if kind == "loss" and
                                                        name in registry.losses else None)
                if kind == "loss" and long:
                    self.losses.setdefault(long, name)
            elif kind == "optimizer" and isinstance(value, str):
                self.optimizers.setdefault(value, name)
            elif kind == "metric" and isinstance(value, str):
                self.metrics.setdefault(value, name)

    def object(self, kind: str, table: str, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        if not isinstance(value, dict) or "class_name" not in value:
            raise _Unsupported(f"a {kind} nndsl cannot read: {json.dumps(value)[:80]}")
        cls = value["class_name"]
        name = self.objects.get((kind, cls))
        if name is None:
            raise _Unsupported(f"{kind} {cls} has no nndsl equivalent",
                               hint=f"nndsl's {table}: " + ", ".join(sorted(getattr(self.registry, table))[:12]))
        definition = getattr(self.registry, table)[name]
        params = {p.name: p for p in definition.params}
        options = []
        for k, v in (value.get("config") or {}).items():
            if v is None or k in ("name",):
                continue
            if k not in params:
                raise _Unsupported(f"{kind} {cls}'s option {k}={json.dumps(v)[:40]} has no nndsl equivalent")
            if params[k].default == _tuplify(v):
                continue
            options.append((k, _tuplify(v)))
        if not options:
            return name
        return _Call(name, tuple(options))


def _canonical(kind, value):
    """A value in one form for comparison: ints widened to per-axis tuples, lists to tuples."""
    from ..params import IntTuple, Optional, Padding

    value = _tuplify(value)
    inner = kind.inner if isinstance(kind, Optional) else kind
    if isinstance(inner, IntTuple) and isinstance(value, int) and not isinstance(value, bool):
        return (value,) * inner.n
    if isinstance(inner, Padding):
        n = inner.n
        if isinstance(value, int):
            return ((value, value),) * n
        if isinstance(value, tuple) and value and all(isinstance(x, int) for x in value):
            return tuple((x, x) for x in value) if n > 1 else ((value[0], value[1]),)
        return value
    if isinstance(value, float) and value == int(value) and not isinstance(value, bool):
        return value
    return value


def _compact(kind, value):
    """The shortest form of a value the kind accepts: (3, 3) as 3, ((1, 1), (1, 1)) as 1."""
    from ..params import IntTuple, Optional, Padding

    inner = kind.inner if isinstance(kind, Optional) else kind
    if isinstance(inner, IntTuple) and isinstance(value, tuple) and value and len(set(value)) == 1:
        return value[0]
    if isinstance(inner, Padding) and isinstance(value, tuple) and value and all(isinstance(p, tuple) for p in value):
        if all(p[0] == p[1] for p in value):
            if len({p[0] for p in value}) == 1:
                return value[0][0]
            return tuple(p[0] for p in value)
    return value


# The model graph ----------------------------------------------------------------------------

@dataclass
class _Layer:
    name: str
    cls: str
    config: dict
    inputs: list = field(default_factory=list)   # tensor (layer) names, in call order
    module: str = "keras.layers"
    rank: int | None = None                       # rank of the first input, batch axis included


def _history(arg) -> list:
    """The producing layer names of a call argument (a tensor, or a list of tensors)."""
    if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
        hist = arg["config"]["keras_history"]
        return [(hist[0], hist[1], hist[2])]
    if isinstance(arg, (list, tuple)):
        out = []
        for a in arg:
            out += _history(a)
        return out
    return []


class _Importer:
    def __init__(self, source: Source, registry, partial: bool):
        self.source = source
        self.registry = registry
        self.partial = partial
        self.problems = _Problems(source)
        self.conv = _Converter(registry)
        self.names: dict[str, str] = {}
        self.taken: set[str] = set()

    # -- names
    def tensor_name(self, keras_name: str) -> str:
        if keras_name in self.names:
            return self.names[keras_name]
        from ..statements import RESERVED_WORDS, STATEMENT_KEYWORDS

        base = re.sub(r"[^A-Za-z0-9_]", "_", keras_name) or "t"
        if not (base[0].isalpha() or base[0] == "_"):
            base = "t_" + base
        reserved = set(RESERVED_WORDS) | set(STATEMENT_KEYWORDS) | {"param", "let", "default", "include", "assert",
                                                                      "if", "elif", "else", "as", "and", "or", "not",
                                                                      "input"}
        registered = set()
        for table in ("layers", "activations", "optimizers", "losses", "metrics"):
            registered |= set(getattr(self.registry, table))
        name = base
        if name in reserved or name in registered:
            name = base + "_out"
        k = 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        self.names[keras_name] = name
        return name

    def error(self, code: str, message: str, layer: str | None = None, key: str | None = None,
              hint: str | None = None) -> None:
        self.problems.add(code, message, layer, key, hint, severity=Severity.WARNING if self.partial else None)

    def note(self, message: str, layer: str | None = None, key: str | None = None) -> None:
        self.problems.add(codes.IMPORT_LEFT_OUT, message, layer, key, severity=Severity.WARNING)

    # -- one layer
    def step(self, layer: _Layer, paren_inputs: list[str] | None) -> str:
        """The spec text of one layer: ``dense 10 softmax`` or ``add(a, b)``."""
        from ..params import Activation, Optional

        if layer.cls == "Bidirectional" and "bidirectional" in self.registry.layers:
            return self.bidirectional(layer)
        key = layer.cls if layer.module in ("keras.layers", "keras") else f"{layer.module}.{layer.cls}"
        op = self.conv.layers.get(key) or self.conv.layers.get(layer.cls)
        if op is None:
            raise _Unsupported(f"layer '{layer.name}' is a {layer.cls}, which nndsl has no layer for",
                               hint="write it as a plugin layer (docs/PLUGINS.md), or import with --partial")
        definition = self.registry.layers[op]
        params = {p.name: p for p in definition.params}
        cfg = dict(layer.config)
        dtype = cfg.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = (dtype.get("config") or {}).get("name")
        if dtype not in (None, "float32"):
            self.note(f"layer '{layer.name}': dtype policy {dtype!r} left out (nndsl run --precision sets it)",
                      layer.name, "dtype")
        values: dict[str, Any] = {}
        for k, v in cfg.items():
            if k in _IGNORED:
                continue
            p = params.get(k)
            if k == "attention_axes" and layer.rank and v == list(range(1, layer.rank - 1)):
                continue  # MultiHeadAttention's default: every axis but the batch and the features
            if p is None:
                if v is None or _tuplify(v) == _KERAS_DEFAULTS.get(k) or (
                        isinstance(v, dict) and (v.get("class_name"),) == _KERAS_DEFAULTS.get(k)
                        and not any(x is not None for x in (v.get("config") or {}).values())):
                    continue
                raise _Unsupported(f"layer '{layer.name}' ({layer.cls}): option {k}={json.dumps(v)[:60]} has no "
                                   f"nndsl equivalent", key=k)
            kind = p.kind
            inner = kind.inner if isinstance(kind, Optional) else kind
            table = getattr(inner, "table", None)
            if table is not None:
                v = self.conv.object(table[:-1], table, v)
                defs = getattr(self.registry, table)
                if isinstance(v, str) and isinstance(p.default, str) and v in defs and p.default in defs \
                        and defs[v].name == defs[p.default].name:
                    continue  # another name of the default (random_uniform is uniform)
            elif isinstance(inner, Activation):
                v = None if v in ("linear", None) else v
                if v is not None and v not in self.registry.activations:
                    raise _Unsupported(f"layer '{layer.name}': activation {v!r} has no nndsl equivalent", key=k)
            else:
                v = _tuplify(v)
            if (k, p.default) in _RESOLVED_DEFAULTS and v == _RESOLVED_DEFAULTS[(k, p.default)]:
                continue
            if k == "strides" and "pool_size" in cfg and _tuplify(cfg["pool_size"]) == v:
                continue  # pooling's strides default to the pool size
            if not p.required and _canonical(kind, v) == _canonical(kind, p.default):
                continue
            if isinstance(v, tuple) and len(v) == 1 and not p.variadic and isinstance(p.default, int):
                v = v[0]  # Keras stores axis=3 as [3]
            values[k] = _compact(kind, v)
        missing = [p.name for p in definition.params if p.required and p.name not in values]
        if missing:
            raise _Unsupported(f"layer '{layer.name}' ({layer.cls}) has no {missing[0]} in its config", key=None)
        if op == "relu" and not values:
            values["negative_slope"] = 0.0  # `relu` alone is the activation; options make it the ReLU layer
        parts: list[str] = []
        positional = paren_inputs is None
        for p in definition.params:
            if p.name not in values:
                positional = False
                continue
            v = values[p.name]
            if positional and p.positional:
                if p.variadic and isinstance(v, tuple):
                    parts += ["?" if x is None else _render(x) for x in v]
                else:
                    parts.append(_render(v))
            else:
                positional = False
                parts.append(f"{p.name}={_render(v)}")
        if paren_inputs is not None:
            return f"{op}({', '.join(paren_inputs + parts)})"
        if op == "activation" and len(parts) == 1 and parts[0] in self.registry.activations:
            return parts[0]  # `relu` alone is `activation relu`, as specs write it
        return " ".join([op, *parts])

    def bidirectional(self, layer: _Layer) -> str:
        """``bidirectional lstm 64``: the wrapped layer's own step, with the wrapper's merge_mode."""
        cfg = layer.config
        inner = cfg.get("layer")
        if not isinstance(inner, dict) or not isinstance(inner.get("config"), dict):
            raise _Unsupported(f"layer '{layer.name}' (Bidirectional) has no wrapped layer", key="layer")
        backward = cfg.get("backward_layer")
        if isinstance(backward, dict):
            fwd, bwd = dict(inner["config"]), dict(backward.get("config") or {})
            same = backward.get("class_name") == inner.get("class_name") and all(
                fwd.get(k) == bwd.get(k) for k in set(fwd) | set(bwd) if k not in ("name", "go_backwards"))
            if not same or bool(fwd.get("go_backwards")) == bool(bwd.get("go_backwards")):
                raise _Unsupported(f"layer '{layer.name}' (Bidirectional) has its own backward layer", key="backward_layer")
        for k, v in cfg.items():
            if k not in ("name", "dtype", "merge_mode", "layer", "backward_layer") and v != _KERAS_DEFAULTS.get(k):
                raise _Unsupported(f"layer '{layer.name}' (Bidirectional): option {k}={json.dumps(v)[:60]} has no "
                                   "nndsl equivalent", key=k)
        inner_cfg = dict(inner["config"])
        inner_cfg.pop("zero_output_for_mask", None)  # Bidirectional sets it from return_sequences itself
        wrapped = _Layer(layer.name, inner.get("class_name", "?"), inner_cfg, module=inner.get("module") or "keras.layers")
        text = "bidirectional " + self.step(wrapped, None)
        merge = cfg.get("merge_mode", "concat")
        if merge != "concat":
            text += f" merge_mode={_render(merge)}"
        return text

    # -- the model
    def model(self, data: dict) -> str:
        if not isinstance(data, dict) or "class_name" not in data or not isinstance(data.get("config"), dict):
            self.problems.add(codes.IMPORT_BAD_FILE, "not a Keras model config (no class_name/config at the top)",
                              hint="pass the JSON of model.to_json() or a .keras archive")
            return ""
        cls = data["class_name"]
        config = data["config"]
        layers_cfg = config.get("layers")
        if cls not in ("Sequential", "Functional", "Model") or not isinstance(layers_cfg, list):
            self.problems.add(codes.IMPORT_BAD_FILE, f"a {cls}, not a Sequential or functional Keras model",
                              hint="subclassed models have no config to read; rebuild them functionally")
            return ""
        layers: list[_Layer] = []
        inputs: list[_Layer] = []
        for i, entry in enumerate(layers_cfg):
            if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
                self.problems.add(codes.IMPORT_BAD_FILE, f"layer {i} of the config is not a layer object")
                continue
            lc = entry["config"]
            name = entry.get("name") or lc.get("name") or f"layer_{i}"
            layer = _Layer(name, entry.get("class_name", "?"), lc, module=entry.get("module") or "keras.layers")
            if layer.cls in ("Functional", "Sequential", "Model"):
                self.error(codes.IMPORT_UNSUPPORTED_GRAPH, f"layer '{name}' is a nested {layer.cls} model; "
                           "nndsl specs are flat (blocks are expanded)", name,
                           hint="rebuild the model without nesting, or describe the inner model as a block")
                continue
            nodes = entry.get("inbound_nodes") or []
            if len(nodes) > 1:
                self.error(codes.IMPORT_UNSUPPORTED_GRAPH, f"layer '{name}' is applied {len(nodes)} times (shared "
                           "weights); a spec applies each layer once", name)
                continue
            if nodes:
                node = nodes[0]
                args = node.get("args", []) if isinstance(node, dict) else node
                kwargs = node.get("kwargs", {}) if isinstance(node, dict) else {}
                hist = _history(args)
                extra = {k: v for k, v in (kwargs or {}).items() if v is not None and k not in ("training",)}
                tensor_kwargs = _history(list(extra.values()))
                if tensor_kwargs:
                    hist += tensor_kwargs
                    extra = {k: v for k, v in extra.items() if not _history(v)}
                if extra:
                    self.error(codes.IMPORT_UNSUPPORTED_OPTION, f"layer '{name}' is called with "
                               f"{', '.join(sorted(extra))}, which a spec cannot pass", name)
                    continue
                if any(h[2] != 0 or h[1] != 0 for h in hist):
                    self.error(codes.IMPORT_UNSUPPORTED_GRAPH, f"layer '{name}' reads a second output or call "
                               "of another layer", name)
                    continue
                layer.inputs = [h[0] for h in hist]
                first = args[0] if isinstance(args, list) and args else None
                while isinstance(first, list) and first:
                    first = first[0]
                if isinstance(first, dict) and isinstance((first.get("config") or {}).get("shape"), list):
                    layer.rank = len(first["config"]["shape"])
            if layer.cls == "InputLayer":
                inputs.append(layer)
            else:
                layers.append(layer)
        if cls == "Sequential":
            return self.sequential(config, inputs, layers, data)
        return self.functional(config, inputs, layers, data)

    def input_line(self, layer: _Layer, name: str | None) -> str:
        cfg = layer.config
        shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
        if not isinstance(shape, list) or not shape:
            raise _Unsupported(f"input '{layer.name}' has no batch_shape", key="batch_shape")
        dims = ["?" if d is None else str(d) for d in shape[1:]]
        dtype = cfg.get("dtype")
        if isinstance(dtype, dict):
            dtype = (dtype.get("config") or {}).get("name")
        extra = f" dtype={dtype}" if dtype not in (None, "float32") else ""
        if cfg.get("sparse") or cfg.get("ragged"):
            raise _Unsupported(f"input '{layer.name}' is sparse or ragged; nndsl inputs are dense", key="sparse")
        head = f"input {name} " if name else "input "
        return head + " ".join(dims) + extra

    def guarded(self, layer: _Layer, make) -> str | None:
        try:
            return make()
        except _Unsupported as e:
            code = codes.IMPORT_UNSUPPORTED_LAYER if "nndsl has no layer" in e.message else \
                codes.IMPORT_UNSUPPORTED_OPTION
            self.error(code, e.message, layer.name, e.key, e.hint)
            return None

    def sequential(self, config, inputs, layers, data) -> str:
        lines: list[str] = []
        if inputs:
            line = self.guarded(inputs[0], lambda: self.input_line(inputs[0], None))
            if line:
                lines.append(line)
        else:
            shape = config.get("build_input_shape") or (data.get("build_config") or {}).get("input_shape")
            if not shape:
                self.problems.add(codes.IMPORT_BAD_FILE, "the Sequential model was never built: its input shape is "
                                  "unknown", hint="build it (model.build((None, 784)) or an Input) before saving")
                return ""
            lines.append("input " + " ".join("?" if d is None else str(d) for d in shape[1:]))
        for layer in layers:
            text = self.guarded(layer, lambda layer=layer: self.step(layer, None))
            lines.append(text if text is not None else f"# TODO(nndsl import): layer '{layer.name}' ({layer.cls})")
        return "\n".join(lines) + "\n"

    def functional(self, config, inputs, layers, data) -> str:
        outputs = [o[0] for o in _outputs(config.get("output_layers"))]
        consumers: dict[str, int] = {}
        for layer in layers:
            for t in layer.inputs:
                consumers[t] = consumers.get(t, 0) + 1
        input_names = {i.name for i in inputs}
        lines: list[str] = []
        for inp in inputs:
            line = self.guarded(inp, lambda inp=inp: self.input_line(inp, self.tensor_name(inp.name)))
            if line:
                lines.append(line)
        merges = self.registry.layers
        stmt: list[str] = []          # the steps of the open statement
        head: str | None = None       # what it starts from
        tail: str | None = None       # the Keras layer it ends with

        def flush():
            nonlocal stmt, head, tail
            if not stmt:
                return
            target = self.tensor_name(tail)
            body = " -> ".join(([head] if head else []) + stmt)
            prefix = "output " if tail in outputs else ""
            lines.append(f"{prefix}{target} = {body}")
            stmt, head, tail = [], None, None

        for layer in layers:
            key = layer.cls
            op = self.conv.layers.get(key)
            multi = op is not None and (merges[op].max_inputs is None or merges[op].max_inputs > 1)
            continues = (tail is not None and layer.inputs and layer.inputs[0] == tail and consumers.get(tail, 0) == 1
                         and tail not in outputs)
            if not layer.inputs:
                self.error(codes.IMPORT_UNSUPPORTED_GRAPH, f"layer '{layer.name}' reads no tensor", layer.name)
                continue
            if multi:
                if continues and len(layer.inputs) > 1:
                    others = [self.tensor_name(t) for t in layer.inputs[1:]]
                    text = self.guarded(layer, lambda layer=layer, others=others: self.step(layer, others))
                    if text is None:
                        flush()
                        lines.append(f"# TODO(nndsl import): layer '{layer.name}' ({layer.cls})")
                        continue
                    stmt.append(text)
                    tail = layer.name
                    continue
                flush()
                for t in layer.inputs:
                    self.tensor_name(t)
                ins = [self.tensor_name(t) for t in layer.inputs]
                text = self.guarded(layer, lambda layer=layer, ins=ins: self.step(layer, ins))
                if text is None:
                    lines.append(f"# TODO(nndsl import): layer '{layer.name}' ({layer.cls})")
                    continue
                stmt, head, tail = [text], None, layer.name
                continue
            if len(layer.inputs) != 1 and op is not None:
                self.error(codes.IMPORT_UNSUPPORTED_GRAPH, f"layer '{layer.name}' reads {len(layer.inputs)} tensors; "
                           f"nndsl's {op} takes one", layer.name)
                continue
            text = self.guarded(layer, lambda layer=layer: self.step(layer, None))
            if text is None:
                flush()
                lines.append(f"# TODO(nndsl import): layer '{layer.name}' ({layer.cls})")
                continue
            if continues:
                stmt.append(text)
                tail = layer.name
                continue
            flush()
            src = layer.inputs[0]
            if src not in input_names:
                self.tensor_name(src)
            stmt, head, tail = [text], self.tensor_name(src), layer.name
        flush()
        for o in outputs:
            if o in input_names:
                self.error(codes.IMPORT_UNSUPPORTED_GRAPH, f"output '{o}' is an input; a spec's outputs are layers", o)
        return "\n".join(lines) + "\n"

    # -- training
    def training(self, data: dict, outputs: list[str]) -> list[str]:
        cc = data.get("compile_config")
        if not isinstance(cc, dict):
            return []
        out: list[str] = []
        opt = cc.get("optimizer")
        if isinstance(opt, dict):
            name = self.conv.optimizers.get(opt.get("class_name", ""))
            if name is None:
                self.note(f"optimizer {opt.get('class_name')} left out: nndsl has no equivalent")
            else:
                definition = self.registry.optimizers[name]
                params = {p.name: p for p in definition.params}
                parts = [name]
                positional = True
                for p in definition.params:
                    v = (opt.get("config") or {}).get(p.name)
                    if v is None or p.name not in (opt.get("config") or {}):
                        positional = False
                        continue
                    if isinstance(v, dict):
                        self.note(f"optimizer option {p.name} (a {v.get('class_name')}) left out")
                        positional = False
                        continue
                    same = isinstance(v, float) and isinstance(p.default, (int, float)) and \
                        not isinstance(p.default, bool) and _float32(v) == _float32(float(p.default))
                    if same or v == p.default:
                        positional = False
                        continue
                    text = _float32(v) if isinstance(v, float) else _render(v)
                    parts.append(text if positional and p.positional else f"{p.name}={text}")
                    if not p.positional:
                        positional = False
                del params
                out.append(" ".join(parts))
        elif isinstance(opt, str):
            out.append(opt)
        loss = cc.get("loss")
        reverse_loss = dict(self.conv.losses)
        for n in self.registry.losses:
            reverse_loss.setdefault(n, n)

        def loss_name(v):
            if isinstance(v, str):
                return reverse_loss.get(v)
            if isinstance(v, dict):
                return self.conv.objects.get(("loss", v.get("class_name", "")))
            return None

        if isinstance(loss, dict) and not ("class_name" in loss):
            parts = []
            for o, v in loss.items():
                n = loss_name(v)
                if n is None:
                    self.note(f"loss {json.dumps(v)[:40]} for output {o} left out")
                    continue
                parts.append(f"{self.names.get(o, o)}={n}")
            if parts:
                out.append("loss " + " ".join(parts))
        elif loss is not None:
            n = loss_name(loss)
            if n is None:
                self.note(f"loss {json.dumps(loss)[:40]} left out: nndsl has no equivalent")
            else:
                out.append(f"loss {n}")
        metrics = cc.get("metrics")
        reverse_metric = dict(self.conv.metrics)
        for n in self.registry.metrics:
            reverse_metric.setdefault(n, n)
        if isinstance(metrics, dict):  # per output: {"priority": ["auc"], ...}
            pairs = []
            for o, ms in metrics.items():
                for m in ms if isinstance(ms, list) else [ms]:
                    n = reverse_metric.get(m) if isinstance(m, str) else None
                    if n is None:
                        self.note(f"metric {json.dumps(m)[:40]} for output {o} left out")
                    else:
                        pairs.append(f"{self.names.get(o, o)}={n}")
            if pairs:
                out.append("metrics " + " ".join(pairs))
        elif isinstance(metrics, list):
            names = []
            for m in metrics:
                n = reverse_metric.get(m) if isinstance(m, str) else None
                if n is None:
                    self.note(f"metric {json.dumps(m)[:40]} left out")
                else:
                    names.append(n)
            if names:
                out.append("metrics " + " ".join(names))
        return out


def _outputs(spec) -> list:
    """``output_layers`` as a list of [name, node, tensor] (Keras writes one output unwrapped)."""
    if not spec:
        return []
    if isinstance(spec, list) and spec and isinstance(spec[0], str):
        return [spec]
    if isinstance(spec, dict):
        return [v for v in spec.values()]
    return list(spec)


def _without_object_ids(value):
    """The config without ``shared_object_id`` keys: .keras archives add them; they mean nothing here."""
    if isinstance(value, dict):
        return {k: _without_object_ids(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_without_object_ids(v) for v in value]
    return value


def import_config(source: Source | str, registry=None, partial: bool = False) -> ImportResult:
    """The spec for a Keras model config (JSON text); see :func:`import_model`."""
    if isinstance(source, str):
        source = Source(source, "<config>")
    if registry is None:
        from ..plugins import default_registry

        registry = default_registry()
    importer = _Importer(source, registry, partial)
    try:
        data = json.loads(source.text)
    except json.JSONDecodeError as e:
        raise SpecError([Diagnostic(codes.IMPORT_BAD_FILE, f"not JSON: {e.msg}", Span.point(e.lineno, e.colno),
                                    "pass a .keras archive or the JSON of model.to_json()")], source) from None
    except RecursionError:
        raise SpecError([Diagnostic(codes.IMPORT_BAD_FILE, "JSON nested too deeply", Span.point(1, 1))],
                        source) from None
    data = _without_object_ids(data)
    try:
        body = importer.model(data)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as e:  # untrusted data, odd shapes
        raise SpecError([Diagnostic(codes.IMPORT_BAD_FILE, f"a malformed Keras config ({type(e).__name__}: "
                                    f"{str(e)[:80]})", Span.point(1, 1),
                                    "pass the JSON of model.to_json() or a .keras archive, unedited")],
                        source) from None
    errors = [d for d in importer.problems.items if d.is_error]
    if errors:
        raise SpecError(importer.problems.items, source)
    outputs = [o[0] for o in _outputs((data.get("config") or {}).get("output_layers"))] \
        if isinstance(data, dict) else []
    try:
        training = importer.training(data, outputs) if isinstance(data, dict) else []
    except (KeyError, TypeError, AttributeError, IndexError, ValueError):
        importer.note("the compile config could not be read; the spec has no training section")
        training = []
    name = (data.get("config") or {}).get("name") if isinstance(data, dict) else None
    header = f"# Imported by nndsl import from {source.filename}" + (f" (Keras model '{name}')" if name else "") + "\n"
    text = header + body + ("\n" + "\n".join(training) + "\n" if training else "")
    from ..fmt import format_source

    try:
        text = format_source(text)
    except SpecError:
        pass  # a --partial spec with TODO gaps still parses; anything else is shown as written
    return ImportResult(text, tuple(importer.problems.items), source)
