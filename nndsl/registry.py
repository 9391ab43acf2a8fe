"""What exists: layers, optimizers, losses, metrics, activations, data sets, backends.

Every entry is a frozen definition contributed through a plugin hook (see
:mod:`nndsl.hookspecs`); the built-ins use the same hooks as third-party plugins. Shape
inference and parameter counting live here, with each layer's definition, never in a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from .errors import PluginCodeError, RegistryError, ShapeError  # noqa: F401 - re-exported
from .params import Param

Shape = tuple  # tuple[int | None, ...], without the batch dimension


@dataclass(frozen=True, slots=True)
class ParamCount:
    trainable: int = 0
    non_trainable: int = 0

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    def __add__(self, other: "ParamCount") -> "ParamCount":
        return ParamCount(self.trainable + other.trainable, self.non_trainable + other.non_trainable)


def _no_params(attrs: Mapping[str, Any], shapes: Sequence[Shape]) -> ParamCount:
    return ParamCount()


def _no_macs(attrs: Mapping[str, Any], shapes: Sequence[Shape]) -> int:
    return 0


@dataclass(frozen=True)
class LayerDef:
    """A layer the language knows: its meaning only, never how a backend builds it.

    How each backend builds a layer is that backend's lowering table (see
    :mod:`nndsl.lowering`); a plugin adds entries with the ``nndsl_lowerings`` hook.

    Args:
        name: the spec name, lower case (``conv2d``).
        auto_name: prefix of automatic layer names (``dense`` gives ``dense``, ``dense_1``, ...);
            part of the language: the IR and the summary show these names.
        params: the signature.
        output_shape: ``(attrs, input_shapes) -> shape``; raises ShapeError.
        count_params: ``(attrs, input_shapes) -> ParamCount``.
        count_macs: ``(attrs, input_shapes) -> int``: multiply-accumulates of one sample's forward
            pass. Weighted layers (dense, convolutions, recurrent, attention) count theirs; the
            rest keep the default 0, as does a layer whose size depends on an unknown dimension.
        min_inputs, max_inputs: how many input tensors it takes (``None``: any number).
        aliases: other accepted names.
        expand_params: optional ``(registry, positional_args) -> params`` for layers whose
            signature depends on their first argument (``bidirectional lstm 64``).
        takes: what its inputs hold: ``"numbers"`` (every layer but a few), or ``"strings"``
            (``textvectorization``, ``stringlookup``): ``check`` refuses a ``dtype=string``
            input fed to a layer that takes numbers, and numbers fed to one that takes strings.
    """

    name: str
    auto_name: str
    params: tuple[Param, ...]
    output_shape: Callable[[Mapping[str, Any], Sequence[Shape]], Shape]
    count_params: Callable[[Mapping[str, Any], Sequence[Shape]], ParamCount] = _no_params
    count_macs: Callable[[Mapping[str, Any], Sequence[Shape]], int] = _no_macs
    min_inputs: int = 1
    max_inputs: int | None = 1
    aliases: tuple[str, ...] = ()
    doc: str = ""
    category: str = "core"
    expand_params: Callable[["Registry", Sequence[Any]], tuple[Param, ...]] | None = None
    takes: str = "numbers"


@dataclass(frozen=True)
class ActivationDef:
    """An activation usable as ``activation=NAME`` and as a bare layer (``relu``)."""

    name: str
    doc: str = ""


@dataclass(frozen=True)
class OptimizerDef:
    """An optimizer statement: ``adam 3e-4 beta_1=0.9``. The first param is the learning rate."""

    name: str
    params: tuple[Param, ...]
    aliases: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class LossDef:
    """A loss: ``loss NAME``.

    ``labels`` says what targets it wants, so ``run`` can prepare them:
    ``"sparse"`` (integer class ids), ``"one_hot"``, ``"binary"`` or ``"values"``.
    ``long_name`` is the name spelled out (``mean_squared_error`` for ``mse``): what the loss
    is called in the literature and in frameworks, so every backend reads it from here.
    """

    name: str
    labels: str = "values"
    aliases: tuple[str, ...] = ()
    doc: str = ""
    # Options a spec may give it: `loss bce from_logits=true`, `loss out=bce(label_smoothing=0.1)`.
    params: tuple[Param, ...] = ()
    long_name: str | None = None

    @property
    def long(self) -> str:
        """The spelled-out name (default: ``name``)."""
        return self.long_name or self.name


@dataclass(frozen=True)
class MetricDef:
    """A metric: ``metrics NAME``.

    ``log_name`` is the column ``nndsl run`` logs it under (``history.csv``, what callbacks
    ``monitor``), the same in every backend; default: ``name``.
    """

    name: str
    aliases: tuple[str, ...] = ()
    doc: str = ""
    log_name: str | None = None

    @property
    def logged_as(self) -> str:
        return self.log_name or self.name


@dataclass(frozen=True)
class ObjectDef:
    """A configurable object the language names: a regularizer (``l2(0.01)``), a constraint,
    an initializer, a learning-rate schedule, or a callback (``callback early_stopping ...``).

    Meaning only: the signature, its documentation and an optional cross-parameter rule
    ``validate(values) -> problem or None`` (values include defaults). Each backend lowers it by
    (kind, name) in its lowering table (``nndsl_lowerings``); Keras': :mod:`nndsl.backends.keras.training`.
    """

    name: str
    params: tuple[Param, ...] = ()
    doc: str = ""
    aliases: tuple[str, ...] = ()
    validate: Callable[[Mapping[str, Any]], str | None] | None = None


# Tables of ObjectDef, each filled by its hook nndsl_<table>.
OBJECT_TABLES = ("regularizers", "constraints", "initializers", "schedules", "callbacks")


@dataclass(frozen=True)
class DatasetDef:
    """A built-in data set: ``data NAME``.

    Args:
        name: the spec name (``mnist``).
        load: ``() -> nndsl.datasets.RawData``; may use the network or Keras' cache, but must
            fall back (or raise ``nndsl.datasets.DataError``) quickly when offline.
        doc: one line for ``nndsl help``.
        aliases: other accepted names.
    """

    name: str
    load: Callable[[], Any]
    doc: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataFormatDef:
    """A kind of file or folder that ``data "PATH"`` can name: ``.npz``, ``.csv``, an image folder.

    The format is picked by the path: a file by its suffix (``suffixes``), a folder (a path
    ending in ``/``, or with no suffix, or a directory on disk) by ``folder=True``. ``check``
    binds the statement's options against ``params``; ``nndsl run`` calls ``prepare``.

    Args:
        name: a lower-case identifier (``csv``, ``image_folder``).
        prepare: ``(path, options, model, registry, *, shown, seed, validation_split,
            test_split) -> nndsl.prepare.Prepared``: read the data at ``path`` for the checked
            ``model``, split it (test rows first, then validation, from one seeded permutation,
            as :func:`nndsl.prepare.prepare` does) and say what it did in ``notes``. Arrays in
            memory, or :class:`nndsl.data.stream.Split` for data read from disk while training.
            Raises :class:`nndsl.errors.DataError` for data it cannot use.
        suffixes: file suffixes it reads, lower case with the dot (``(".csv",)``).
        folder: it reads folders.
        params: the options ``data "PATH" key=value`` accepts for this format.
        doc: one line for ``nndsl help`` and the catalogue.
    """

    name: str
    prepare: Callable[..., Any]
    suffixes: tuple[str, ...] = ()
    folder: bool = False
    params: tuple[Param, ...] = ()
    doc: str = ""
    aliases: tuple[str, ...] = ()


@dataclass
class Registry:
    """Every registered definition by name (aliases included), with who registered it."""

    layers: dict[str, LayerDef] = field(default_factory=dict)
    activations: dict[str, ActivationDef] = field(default_factory=dict)
    optimizers: dict[str, OptimizerDef] = field(default_factory=dict)
    losses: dict[str, LossDef] = field(default_factory=dict)
    metrics: dict[str, MetricDef] = field(default_factory=dict)
    datasets: dict[str, DatasetDef] = field(default_factory=dict)
    data_formats: dict[str, DataFormatDef] = field(default_factory=dict)
    regularizers: dict[str, ObjectDef] = field(default_factory=dict)
    constraints: dict[str, ObjectDef] = field(default_factory=dict)
    initializers: dict[str, ObjectDef] = field(default_factory=dict)
    schedules: dict[str, ObjectDef] = field(default_factory=dict)
    callbacks: dict[str, ObjectDef] = field(default_factory=dict)
    backends: dict[str, Any] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # (backend) -> LoweringTable; set by nndsl.plugins.build_registry to ask the plugins
    lowering_source: Callable[[str], Any] | None = field(default=None, repr=False)
    _lowerings: dict[str, Any] = field(default_factory=dict, repr=False)

    _TYPES: Mapping[str, type] = field(default_factory=lambda: {
        "layers": LayerDef, "activations": ActivationDef, "optimizers": OptimizerDef,
        "losses": LossDef, "metrics": MetricDef, "datasets": DatasetDef,
        "data_formats": DataFormatDef,
        **{table: ObjectDef for table in OBJECT_TABLES},
    }, repr=False)

    def add(self, table: str, item: Any, owner: str) -> None:
        """Register ``item`` (and its aliases) in ``table``; a clash names both plugins."""
        expected = self._TYPES.get(table)
        if expected is not None and not isinstance(item, expected):
            raise RegistryError(f"plugin {owner!r} returned {type(item).__name__} {item!r:.80} "
                                f"from its {table} hook; expected {expected.__name__}")
        if table == "backends":
            from .backends.base import Backend
            if not isinstance(item, Backend):
                raise RegistryError(f"plugin {owner!r} returned {type(item).__name__} {item!r:.80} "
                                    "from its backends hook; expected a nndsl.backends.base.Backend")
        name = getattr(item, "name", None)
        ident = name.replace("-", "_") if table == "backends" and isinstance(name, str) else name
        if not isinstance(ident, str) or not ident.isidentifier() or not ident.isascii() or ident != ident.lower():
            raise RegistryError(f"plugin {owner!r} registered {table[:-1]} with bad name {name!r}: "
                                "names are lower-case ASCII identifiers")
        aliases = getattr(item, "aliases", ())
        if not isinstance(aliases, (tuple, list)) or not all(
                isinstance(a, str) and a.isidentifier() and a.isascii() and a == a.lower() for a in aliases):
            raise RegistryError(f"plugin {owner!r} registered {table[:-1]} {name!r} with bad aliases "
                                f"{aliases!r:.80}: expected a tuple of lower-case ASCII identifiers")
        if isinstance(item, LayerDef):
            _check_layer_def(item, owner)
        names = [name, *aliases]
        target = getattr(self, table)
        for n in names:
            if n in target:
                other = self.owners.get((table, n), "?")
                if target[n] is item:
                    continue
                raise RegistryError(f"{table[:-1]} {n!r} is registered twice: by plugin {other!r} "
                                    f"and by plugin {owner!r}")
        for n in names:
            target[n] = item
            self.owners[(table, n)] = owner

    def data_format(self, path: str, *, is_dir: bool | None = None) -> "DataFormatDef | None":
        """The format that reads ``path``: by suffix, or a folder format for a folder.

        ``is_dir`` None decides from the text alone (``check``): a trailing ``/`` or no suffix
        is a folder. The first registered format that claims it wins (built-ins first).
        """
        import os

        text = path.rstrip("/\\")
        suffix = os.path.splitext(os.path.basename(text))[1].lower()
        if is_dir is None:
            is_dir = path.endswith(("/", "\\")) or not suffix
        for fmt in self.data_formats.values():
            if (fmt.folder if is_dir else suffix in fmt.suffixes):
                return fmt
        return None

    def lowerings(self, backend: str):
        """The merged :class:`nndsl.lowering.LoweringTable` for ``backend`` (asked for once)."""
        table = self._lowerings.get(backend)
        if table is None:
            from .lowering import LoweringTable

            table = self.lowering_source(backend) if self.lowering_source else LoweringTable(backend)
            self._lowerings[backend] = table
        return table

    def canonical(self, table: str) -> list[str]:
        """Canonical names only (no aliases), sorted."""
        return sorted({item.name for item in getattr(self, table).values()})

    def names(self, table: str) -> list[str]:
        return sorted(getattr(self, table))

    def owner(self, table: str, name: str) -> str:
        return self.owners.get((table, name), "?")

    def items_by_owner(self) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {}
        for (table, name), owner in sorted(self.owners.items()):
            item = getattr(self, table).get(name)
            if item is None or getattr(item, "name", name) != name:
                continue  # aliases are listed under their canonical name
            out.setdefault(owner, {}).setdefault(table, []).append(name)
        return out


def _check_layer_def(layer: LayerDef, owner: str) -> None:
    """The parts of a LayerDef that checking calls into must have the right types."""
    from .params import Kind

    problem = None
    if not isinstance(layer.params, (tuple, list)) or not all(
            isinstance(p, Param) and isinstance(p.name, str) and isinstance(p.kind, Kind) for p in layer.params):
        problem = f"params {layer.params!r:.80} (expected a tuple of nndsl.params.Param)"
    elif not all(callable(f) for f in (layer.output_shape, layer.count_params, layer.count_macs)):
        problem = "a shape, parameter-count or MAC-count rule that is not callable"
    elif layer.takes not in ("numbers", "strings"):
        problem = f"takes={layer.takes!r:.80} (expected 'numbers' or 'strings')"
    elif layer.expand_params is not None and not callable(layer.expand_params):
        problem = "an expand_params that is not callable"
    elif not (isinstance(layer.auto_name, str) and layer.auto_name.isidentifier() and layer.auto_name.isascii()
              and layer.auto_name == layer.auto_name.lower()):
        problem = f"auto_name {layer.auto_name!r:.80} (expected a lower-case identifier such as 'dense')"
    if problem is not None:
        raise RegistryError(f"plugin {owner!r} registered layer {layer.name!r} with {problem}")


def plugin_owner(registry: "Registry | None", table: str, name: str) -> str | None:
    """Who registered ``name``, or None when nndsl itself did (its failures are nndsl's bugs)."""
    if registry is None:
        return None
    owner = registry.owner(table, name)
    return None if owner.startswith("nndsl.builtins.") else owner


def iter_defs(value: Any) -> Iterable[Any]:
    """Hooks may return one definition, a list of them, or None."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return value
    return (value,)
