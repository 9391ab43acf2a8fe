"""A loss's spelled-out name is the language's (LossDef.long), read by every backend: the Keras
backends hand it to compile(), the torch plugin picks its runtime function by it."""

from __future__ import annotations

import nndsl
from nndsl.backends.keras import compile_arguments
from nndsl.backends.keras.lower import KerasObject
from nndsl.lowering import Lowering
from nndsl.registry import LossDef

from test_plugins import registry_with


def test_short_names_are_spelled_out_by_the_definition(registry):
    assert registry.losses["mse"].long == "mean_squared_error"
    assert registry.losses["mape"].long == "mean_absolute_percentage_error"
    assert registry.losses["huber"].long == "huber"  # already long: the name itself


def test_keras_compile_takes_the_long_name(registry):
    model = nndsl.check("input 3\ndense 2\nloss mse\n", registry=registry)
    assert compile_arguments(model, registry)["loss"] == "mean_squared_error"


def test_a_plugin_loss_gets_its_keras_name_from_its_definition():
    """No backend keeps a short -> long table: a new loss's long_name reaches compile()."""
    def lowerings(backend):
        if backend == "keras":
            return [Lowering("loss", "sqe", KerasObject("losses", "MeanSquaredError"))]
        return None

    reg = registry_with(nndsl_losses=lambda: [LossDef("sqe", long_name="mean_squared_error")],
                        nndsl_lowerings=lowerings)
    model = nndsl.check("input 3\ndense 2\nloss sqe\n", registry=reg)
    assert compile_arguments(model, reg)["loss"] == "mean_squared_error"
