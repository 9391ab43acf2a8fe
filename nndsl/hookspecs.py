"""Every hook a plugin can implement. All are called with keyword arguments only.

A plugin is a module or object with functions decorated ``@nndsl.hookimpl`` whose names match
the specs below, declared in its package's ``pyproject.toml``::

    [project.entry-points.nndsl]
    myplugin = "nndsl_myplugin.plugin"

The built-in layers, optimizers, losses, metrics, activations, data sets and backends are
registered through these same hooks (``nndsl/builtins/``). Registration hooks are called
once per plugin when the registry is built; each returns a list of definitions (or None).
Definitions carry meaning only; how a backend builds each one is that backend's lowering
table, filled through ``nndsl_lowerings`` (the built-in Keras lowerings use it too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from .backends.base import Backend
    from .lowering import Lowering
    from .registry import (ActivationDef, DataFormatDef, DatasetDef, LayerDef, LossDef, MetricDef, ObjectDef,
                           OptimizerDef)

PROJECT = "nndsl"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def nndsl_layers() -> list[LayerDef]:
    """Register layers.

    Called once per plugin when the registry is built (before any spec is checked).
    Takes no arguments. Returns a list of :class:`nndsl.registry.LayerDef`: each carries its
    signature, automatic name, shape rule and parameter-count rule (how a backend builds it
    is a lowering: see ``nndsl_lowerings``). A name or alias that another plugin already
    registered is an error naming both plugins.
    """


@hookspec
def nndsl_activations() -> list[ActivationDef]:
    """Register activations (usable as ``activation=NAME`` and as bare layers: ``relu``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.registry.ActivationDef`.
    """


@hookspec
def nndsl_optimizers() -> list[OptimizerDef]:
    """Register optimizers (statements such as ``adam 3e-4 beta_1=0.9``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.registry.OptimizerDef`; its first param is the learning rate.
    """


@hookspec
def nndsl_losses() -> list[LossDef]:
    """Register losses (``loss NAME``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.registry.LossDef`, each naming what kind of labels it wants.
    """


@hookspec
def nndsl_metrics() -> list[MetricDef]:
    """Register metrics (``metrics NAME ...``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.registry.MetricDef`.
    """


@hookspec
def nndsl_regularizers() -> list[ObjectDef]:
    """Register weight regularizers (``kernel_regularizer=l2(0.01)``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.registry.ObjectDef`; a backend lowers each from its lowering table (kind
    ``"regularizer"``; a plugin adds entries with ``nndsl_lowerings``).
    """


@hookspec
def nndsl_constraints() -> list[ObjectDef]:
    """Register weight constraints (``kernel_constraint=max_norm(3)``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.registry.ObjectDef`.
    """


@hookspec
def nndsl_initializers() -> list[ObjectDef]:
    """Register weight initializers (``kernel_initializer=he_normal(seed=1)``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.registry.ObjectDef`.
    """


@hookspec
def nndsl_schedules() -> list[ObjectDef]:
    """Register learning-rate schedules (``adam cosine_decay(1e-3, decay_steps=1000)``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.registry.ObjectDef`.
    """


@hookspec
def nndsl_callbacks() -> list[ObjectDef]:
    """Register training callbacks (``callback early_stopping patience=3``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.registry.ObjectDef`; params of kind :class:`nndsl.params.Path` are
    resolved inside the run directory by ``nndsl run``.
    """


@hookspec
def nndsl_backends() -> list[Backend]:
    """Register backends (``--backend NAME``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.backends.base.Backend` instances; ``name`` is what users type (lower case,
    dashes allowed). A backend may build in-process (``build``), emit source (``emit``), or both.
    """


@hookspec
def nndsl_datasets() -> list[DatasetDef]:
    """Register built-in data sets (``data NAME``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.registry.DatasetDef`. Its ``load()`` is only called by ``nndsl run`` (never by
    ``check``), returns a :class:`nndsl.datasets.RawData`, and must not hang without a
    network: fall back to a local copy or raise :class:`nndsl.datasets.DataError`.
    """


@hookspec
def nndsl_data_formats() -> list[DataFormatDef]:
    """Register kinds of data files and folders (``data "photos/"``, ``data "table.csv"``).

    Called once per plugin when the registry is built. Takes no arguments. Returns a list of
    :class:`nndsl.registry.DataFormatDef`: which suffixes (or folders) it reads, the options
    the ``data`` statement accepts for it, and ``prepare``, called only by ``nndsl run``,
    ``evaluate`` and ``data`` (never by ``check``). The first format that claims a path wins,
    built-ins first.
    """


@hookspec
def nndsl_lowerings(backend: str) -> list[Lowering]:
    """Lower definitions (any plugin's, the built-ins included) for one backend.

    Called through pluggy once per plugin, the first time a command needs ``backend``'s
    lowering table (``backend`` is the table's name: ``"keras"`` for both Keras backends,
    otherwise the backend's ``lowering_table``). Returns a list of
    :class:`nndsl.lowering.Lowering` ``(kind, name, value)`` for that backend, or None for a
    backend it does not lower to; ``value`` is what that backend documents (the Keras
    backends take ``nndsl.backends.keras.KerasLayer`` for layers). A plugin's entry replaces
    a built-in one; two plugins lowering one name keep the first, with a warning.
    """
