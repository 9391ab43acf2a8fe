"""The checked model: a small set of immutable nodes that every backend reads.

Produced by :func:`nndsl.check.check`; separate from the syntax tree (no Lark, no AST
values): attributes are plain Python values, every node knows its inferred output shape and
parameter count, and keeps the span it came from for later diagnostics. It serializes to
JSON with a schema version (``nndsl check --json``, ``nndsl emit --ir``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from .diagnostics import Span
from .params import Configured, configured_from_json
from .registry import ParamCount

SCHEMA_VERSION = 2
# Versions from_json reads: 1 had no block paths (every node is at the top level).
READABLE_VERSIONS = (1, 2)

Shape = tuple  # tuple[int | None, ...]; None is a dimension unknown until run time


@dataclass(frozen=True, slots=True)
class Input:
    name: str
    shape: Shape
    dtype: str
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Node:
    """One layer application.

    ``attrs`` holds every parameter resolved (defaults filled in); ``explicit`` names the
    ones the spec wrote, so generated code reads like what a person would write. ``macs``
    is the layer's multiply-accumulates for one sample's forward pass (its ``count_macs`` rule).
    """

    name: str
    op: str
    attrs: tuple[tuple[str, Any], ...]
    explicit: tuple[str, ...]
    inputs: tuple[str, ...]
    shape: Shape
    params: ParamCount
    span: Span | None = None
    user_named: bool = False
    macs: int = 0
    # The block instances the layer was expanded from, outermost first: ("conv2_block1:bottleneck",).
    block_path: tuple[str, ...] = ()

    @property
    def attr(self) -> Mapping[str, Any]:
        return dict(self.attrs)


@dataclass(frozen=True, slots=True)
class Optimizer:
    name: str
    attrs: tuple[tuple[str, Any], ...] = ()
    explicit: tuple[str, ...] = ()
    span: Span | None = None

    @property
    def attr(self) -> Mapping[str, Any]:
        return dict(self.attrs)


@dataclass(frozen=True, slots=True)
class DataRef:
    """``data mnist`` (kind "dataset") or ``data "file.npz"`` (kind "path")."""

    kind: str
    value: str
    options: tuple[tuple[str, Any], ...] = ()
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Callback:
    name: str
    options: tuple[tuple[str, Any], ...] = ()
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Training:
    optimizer: Optimizer | None = None
    # (output name or "" for all outputs, loss name)
    losses: tuple[tuple[str, str], ...] = ()
    # (output name or "" for all outputs, metric name)
    metrics: tuple[tuple[str, str], ...] = ()
    fit: tuple[tuple[str, Any], ...] = ()
    data: DataRef | None = None
    callbacks: tuple[Callback, ...] = ()
    # (output name or "" for all outputs, options the spec gave its loss: from_logits, ...)
    loss_options: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    # (output name, weight of its loss in the total); outputs not listed weigh 1.
    loss_weights: tuple[tuple[str, float], ...] = ()
    # Where the spec writes each loss and metric (parallel to ``losses``/``metrics``; None: not
    # known, e.g. an IR from an older JSON) and its fit statement: diagnostics about them point there.
    loss_spans: tuple[Span | None, ...] = ()
    metric_spans: tuple[Span | None, ...] = ()
    fit_span: Span | None = None

    def loss_span(self, index: int) -> Span | None:
        return self.loss_spans[index] if index < len(self.loss_spans) else None

    def metric_span(self, index: int) -> Span | None:
        return self.metric_spans[index] if index < len(self.metric_spans) else None

    @property
    def fit_options(self) -> Mapping[str, Any]:
        return dict(self.fit)

    def loss_for(self, output: str) -> tuple[str | None, Mapping[str, Any]]:
        """(loss name, its options) that apply to one output; (None, {}) when it has none."""
        by_output = dict(self.losses)
        key = output if output in by_output else ""
        return by_output.get(key), dict(dict(self.loss_options).get(key, ()))


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    inputs: tuple[Input, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]
    training: Training = field(default_factory=Training)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def tensor_shape(self, name: str) -> Shape:
        for i in self.inputs:
            if i.name == name:
                return i.shape
        return self.node(name).shape

    @property
    def params(self) -> ParamCount:
        total = ParamCount()
        for n in self.nodes:
            total = total + n.params
        return total

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one forward pass of one sample, summed over every layer."""
        return sum(n.macs for n in self.nodes)

    @property
    def is_chain(self) -> bool:
        """One input, one output, each layer feeding the next: what keras.Sequential can hold."""
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            return False
        previous = self.inputs[0].name
        for n in self.nodes:
            if n.inputs != (previous,):
                return False
            previous = n.name
        return bool(self.nodes) and self.outputs[0] == previous

    def consumers(self) -> Mapping[str, list[str]]:
        out: dict[str, list[str]] = {i.name: [] for i in self.inputs}
        for n in self.nodes:
            out.setdefault(n.name, [])
            for src in n.inputs:
                out.setdefault(src, []).append(n.name)
        return out

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)


# JSON -------------------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if isinstance(value, Configured):
        return value.to_json()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def _span_json(span: Span | None):
    return span.to_json() if span else None


def to_json(model: Model) -> dict:
    """The schema-versioned JSON form of a checked model."""
    t = model.training
    return {
        "schema": "nndsl.ir",
        "schema_version": SCHEMA_VERSION,
        "name": model.name,
        "inputs": [{"name": i.name, "shape": _jsonable(i.shape), "dtype": i.dtype, "span": _span_json(i.span)}
                   for i in model.inputs],
        "nodes": [{
            "name": n.name, "op": n.op,
            "attrs": {k: _jsonable(v) for k, v in n.attrs},
            "explicit": list(n.explicit),
            "inputs": list(n.inputs),
            "shape": _jsonable(n.shape),
            "params": {"trainable": n.params.trainable, "non_trainable": n.params.non_trainable},
            "span": _span_json(n.span),
            "user_named": n.user_named,
            "macs": n.macs,
            "block_path": list(n.block_path),
        } for n in model.nodes],
        "outputs": list(model.outputs),
        "params": {"trainable": model.params.trainable, "non_trainable": model.params.non_trainable,
                   "total": model.params.total},
        "macs": model.macs,
        "training": {
            "optimizer": None if t.optimizer is None else {
                "name": t.optimizer.name, "attrs": {k: _jsonable(v) for k, v in t.optimizer.attrs},
                "explicit": list(t.optimizer.explicit), "span": _span_json(t.optimizer.span)},
            "losses": [{"output": o or None, "loss": name,
                        "options": {k: _jsonable(v) for k, v in dict(t.loss_options).get(o, ())},
                        "span": _span_json(t.loss_span(i))}
                       for i, (o, name) in enumerate(t.losses)],
            "loss_weights": {o: w for o, w in t.loss_weights},
            "metrics": [{"output": o or None, "metric": name, "span": _span_json(t.metric_span(i))}
                        for i, (o, name) in enumerate(t.metrics)],
            "fit": {k: _jsonable(v) for k, v in t.fit},
            "fit_span": _span_json(t.fit_span),
            "data": None if t.data is None else {"kind": t.data.kind, "value": t.data.value,
                                                 "options": {k: _jsonable(v) for k, v in t.data.options},
                                                 "span": _span_json(t.data.span)},
            "callbacks": [{"name": c.name, "options": {k: _jsonable(v) for k, v in c.options},
                           "span": _span_json(c.span)} for c in t.callbacks],
        },
    }


def _tuplify(value: Any) -> Any:
    """JSON back to attribute values: lists become tuples, configured objects come back."""
    return configured_from_json(value)


def _span_from(d) -> Span | None:
    return Span(d["line"], d["column"], d["end_line"], d["end_column"]) if d else None


def from_json(data: Mapping[str, Any]) -> Model:
    """Rebuild a model from :func:`to_json`'s output (this schema version or an older one)."""
    if data.get("schema") != "nndsl.ir" or data.get("schema_version") not in READABLE_VERSIONS:
        raise ValueError(f"not an nndsl IR of schema version {', '.join(map(str, READABLE_VERSIONS))}")
    t = data["training"]
    opt = t["optimizer"]
    return Model(
        name=data["name"],
        inputs=tuple(Input(i["name"], _tuplify(i["shape"]), i["dtype"], _span_from(i["span"])) for i in data["inputs"]),
        nodes=tuple(Node(
            n["name"], n["op"], tuple((k, _tuplify(v)) for k, v in n["attrs"].items()), tuple(n["explicit"]),
            tuple(n["inputs"]), _tuplify(n["shape"]),
            ParamCount(n["params"]["trainable"], n["params"]["non_trainable"]), _span_from(n["span"]),
            bool(n.get("user_named", False)), int(n.get("macs", 0)), tuple(n.get("block_path", ())))
            for n in data["nodes"]),
        outputs=tuple(data["outputs"]),
        training=Training(
            optimizer=None if opt is None else Optimizer(
                opt["name"], tuple((k, _tuplify(v)) for k, v in opt["attrs"].items()), tuple(opt["explicit"]),
                _span_from(opt.get("span"))),
            losses=tuple((x["output"] or "", x["loss"]) for x in t["losses"]),
            loss_options=tuple((x["output"] or "", tuple((k, _tuplify(v)) for k, v in x["options"].items()))
                               for x in t["losses"] if x.get("options")),
            loss_weights=tuple((o, float(w)) for o, w in t.get("loss_weights", {}).items()),
            metrics=tuple((x["output"] or "", x["metric"]) for x in t["metrics"]),
            fit=tuple((k, _tuplify(v)) for k, v in t["fit"].items()),
            data=None if t["data"] is None else DataRef(
                t["data"]["kind"], t["data"]["value"], tuple((k, _tuplify(v)) for k, v in t["data"]["options"].items()),
                _span_from(t["data"].get("span"))),
            callbacks=tuple(Callback(c["name"], tuple((k, _tuplify(v)) for k, v in c["options"].items()),
                                     _span_from(c.get("span")))
                            for c in t["callbacks"]),
            loss_spans=tuple(_span_from(x.get("span")) for x in t["losses"]),
            metric_spans=tuple(_span_from(x.get("span")) for x in t["metrics"]),
            fit_span=_span_from(t.get("fit_span")),
        ),
    )
