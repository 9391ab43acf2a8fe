"""Binding layer chains: `x = image -> conv2d 32 3 -> relu`, `concat(a, b)`, `output y`.

Each step is looked up in the registry, checked for its number of inputs and bound to its
signature; a step whose input failed is still argument-checked but produces ``POISONED``, so
one mistake is reported once and not again by every later layer.
"""

from __future__ import annotations

from typing import Sequence

from .. import ast, codes
from ..diagnostics import Span, did_you_mean
from ..params import ArgError, Param, describe
from ..registry import LayerDef, plugin_owner
from ..statements import RESERVED_WORDS, STATEMENT_KEYWORDS
from .bound import Pending
from .scope import LAYER, POISONED, TensorRef

_ACTIVATION_OP = "activation"


def check_new_name(b, name: str, span: Span) -> bool:
    """A name a statement defines must be new and must not be a keyword or a registered name."""
    scope = b.scope
    if name in scope.refs and name not in scope.spans:
        return True  # named by a statement with a syntax error: that error is enough
    if name in scope.refs:
        b.error(codes.DUPLICATE_NAME, f"'{name}' is already defined", span,
                f"it was defined on line {scope.spans[name].line}; pick another name")
        return False
    if name in STATEMENT_KEYWORDS or name in RESERVED_WORDS:
        b.error(codes.RESERVED_NAME, f"'{name}' is a reserved word", span, "pick another name")
        return False
    if name in b.registry.layers or name in b.registry.activations or name in b.registry.optimizers:
        b.error(codes.RESERVED_NAME, f"'{name}' is the name of a layer, activation or optimizer", span,
                f"pick another name, such as '{name}_out'")
        return False
    return True


def tensor_ref(b, value: ast.Value) -> TensorRef | None:
    """The tensor a name in `layer(a, b)` or at a chain's head stands for (None: reported)."""
    if not isinstance(value, ast.Ident):
        b.error(codes.BAD_INPUTS, f"expected a tensor name, got {describe(value)}", value.span,
                "inside parentheses come input tensors, then options as key=value: concat(a, b, axis=-1)")
        return None
    ref = b.scope.get(value.name)
    if ref is None:
        b.error(codes.UNDEFINED_TENSOR, f"'{value.name}' is not defined", value.span,
                did_you_mean(value.name, b.scope.visible()) or "define it first: x = ... or input x ...")
    return ref


def bind_chain(b, st: ast.Statement) -> None:
    """A layer chain, named (`x = ...`), an output (`output y = ...`) or neither."""
    chain = st.chain
    assert chain is not None
    steps = list(chain.steps)
    source: TensorRef | None
    head = steps[0]
    if (not head.parenthesized and not head.args and not head.keywords
            and head.name not in b.registry.layers and head.name not in b.registry.activations):
        # A chain that starts from a named tensor: `x = image -> conv2d ...`
        if len(steps) == 1 and head.name not in b.scope.refs:
            # `relux` alone: most likely a misspelled layer, not a missing tensor.
            lookup_layer(b, head)
            b.current_ref = POISONED
            return
        source = tensor_ref(b, ast.Ident(head.name, head.name_span))
        if source is None:
            source = POISONED
        steps = steps[1:]
        if not steps:
            if st.is_output and st.target == head.name:
                mark_output(b, head.name, head.name_span)
                return
            what = f"{'output ' if st.is_output else ''}{st.target} = {head.name}" if st.target else head.name
            b.error(codes.BAD_OUTPUT, f"'{what}' applies no layer", chain.span,
                    f"write 'output {head.name}' to make it an output" if st.is_output else
                    "add a layer: x = y -> dense 10")
            return
    elif head.parenthesized:
        source = None
    else:
        source = b.current_ref
        if source is not None and source.is_input and len(b.inputs) > 1:
            names = [i.name for i in b.inputs]
            b.error(codes.TOO_MANY_INPUTS_SEQ,
                    f"'{head.name}' has no source and the model has {len(names)} inputs "
                    f"({', '.join(names)})", head.name_span,
                    f"start the chain from an input: x = {names[-1]} -> {head.name} ...")
            source = POISONED
        if source is None:
            if not b.inputs and not b.input_written:
                b.error(codes.NO_SOURCE, f"'{head.name}' has nothing to apply to", head.name_span,
                        "declare an input first: input 784")
            source = POISONED
    produced: TensorRef | None = source  # None: a chain opening with a call, concat(a, b)
    for step in steps:
        produced = layer_step(b, step, produced)
    assert produced is not None  # every chain here has at least one step
    if not produced.is_layer:
        b.current_ref = produced
        if st.target:
            # Keep later statements from cascading into "undefined" errors.
            if st.target not in b.scope.refs:
                b.scope.define(st.target, POISONED, st.target_span or st.span)
        return
    if st.synthetic:
        b.scope.define(st.target, produced)
        if st.is_output:
            b.outputs.append((produced, st.span))
    elif st.target is not None:
        if check_new_name(b, st.target, st.target_span or st.span):
            if not b.pending[produced.index].fixed_name:
                # The target names the tensor and its last layer, unless that layer has name=.
                b.pending[produced.index].name = st.target
            b.scope.define(st.target, produced, st.target_span or st.span)
            if st.is_output:
                b.outputs.append((produced, st.target_span or st.span))
    b.current_ref = produced


def layer_step(b, step: ast.Call, previous: TensorRef | None) -> TensorRef:
    """Check one layer of a chain; an input that already failed poisons the result silently.

    Arguments are still checked after a failure, so every mistake in a chain is reported.
    """
    poisoned = False
    inputs: list[TensorRef] = []
    if previous is not None:
        poisoned |= previous.failed
        inputs.append(previous)
    if step.parenthesized:
        for arg in step.paren_args:
            ref = tensor_ref(b, arg)
            if ref is None or ref.failed:
                poisoned = True
                continue
            inputs.append(ref)
    layer, attrs_call, args = lookup_layer(b, step)
    if layer is None:
        return POISONED
    if poisoned:
        _bind_only(b, layer, attrs_call, args)
        return POISONED
    n = len(inputs)
    if n < layer.min_inputs or (layer.max_inputs is not None and n > layer.max_inputs):
        if layer.max_inputs == 1:
            expect = "one input"
        elif layer.max_inputs is None:
            expect = f"at least {layer.min_inputs} inputs"
        else:
            expect = f"{layer.min_inputs} to {layer.max_inputs} inputs"
        b.error(codes.BAD_INPUTS, f"{layer.name} takes {expect}, got {n}", step.name_span,
                f"name the tensors to combine: {layer.name}(a, b)" if layer.max_inputs != 1
                else "chain it after one tensor: x -> " + layer.name)
        return POISONED
    params = layer.params
    if layer.expand_params is not None:
        try:
            params = _expand_params(b, layer, args, step)
        except ArgError as e:
            b.error(codes.ARG_TYPE, f"{layer.name}: {e.message}", e.span or step.name_span, e.hint)
            return POISONED
        if params is None:
            return POISONED
    bound = b.bind(layer.name, params, attrs_call, args)
    if bound is None:
        return POISONED
    values, explicit = bound
    b.pending.append(Pending(step.layer_name, layer, params, values, explicit, inputs, step.span,
                             b.origin, step.layer_name is not None))
    b.step_layers[id(step)] = len(b.pending) - 1
    return TensorRef(LAYER, len(b.pending) - 1)


def _bind_only(b, layer: LayerDef, call: ast.Call, args) -> None:
    params = layer.params
    if layer.expand_params is not None:
        try:
            params = _expand_params(b, layer, args, call)
        except ArgError:
            return
        if params is None:
            return
    b.bind(layer.name, params, call, args)


def _expand_params(b, layer: LayerDef, args, step: ast.Call) -> tuple[Param, ...] | None:
    """A layer's own signature rule; a plugin's that fails is reported (None), not raised."""
    assert layer.expand_params is not None
    try:
        params = layer.expand_params(b.registry, args)
        if not all(isinstance(p, Param) for p in params):
            raise TypeError(f"expand_params returned {params!r:.80}; expected Params")
        return tuple(params)
    except ArgError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - plugin rules are untrusted code
        owner = plugin_owner(b.registry, "layers", layer.name)
        if owner is None:
            raise
        b.error(codes.ARG_TYPE, f"layer '{layer.name}' (from plugin {owner}) failed: "
                f"{type(exc).__name__}: {exc}", step.name_span,
                f"this is a bug in plugin {owner}, not in the spec; report it to its authors")
        return None


def lookup_layer(b, step: ast.Call) -> tuple[LayerDef | None, ast.Call, Sequence[ast.Value]]:
    """The layer a step names (a bare activation is the activation layer); None: reported."""
    registry = b.registry
    layer = registry.layers.get(step.name)
    bare = not (step.args or step.keywords)
    # `relu` alone is the activation; `relu max_value=6` is the layer of that name, if any.
    if step.name in registry.activations and (layer is None or bare):
        act_layer = registry.layers.get(_ACTIVATION_OP)
        if act_layer is not None:
            if step.args or step.keywords:
                b.error(codes.ARG_COUNT, f"the bare activation '{step.name}' takes no arguments",
                        (step.args or step.keywords)[0].span,
                        f"use 'activation {step.name}', or a layer such as leakyrelu for options")
                return None, step, ()
            fake = ast.Call(_ACTIVATION_OP, (ast.Ident(step.name, step.name_span),), (), step.span,
                            step.name_span)
            return act_layer, fake, fake.args
    if layer is not None:
        return layer, step, step.args
    hint = did_you_mean(step.name, list(registry.layers) + list(registry.activations)
                        + list(registry.optimizers) + list(STATEMENT_KEYWORDS))
    if step.name in registry.optimizers:
        hint = f"'{step.name}' is an optimizer; write it on a line of its own"
    elif step.name in registry.losses or step.name in registry.metrics:
        hint = f"'{step.name}' is a loss/metric; write 'loss {step.name}' or 'metrics {step.name}'"
    elif hint is None and step.name in b.scope.refs:
        hint = f"'{step.name}' is a tensor; a chain starts from it: y = {step.name} -> ..."
    b.error(codes.UNKNOWN_LAYER, f"unknown layer '{step.name}'", step.name_span, hint)
    return None, step, ()


def bind_alias(b, st: ast.Statement) -> None:
    """`y = x -> block ...`: the block's result gets the statement's name."""
    ref = b.scope.get(st.alias_of or "") or POISONED
    assert st.target is not None
    if not check_new_name(b, st.target, st.target_span or st.span):
        return
    b.scope.define(st.target, ref, st.target_span or st.span)
    if ref.is_layer:
        p = b.pending[ref.index]
        # A layer made in a block, or unnamed, takes the statement's name; one the spec
        # named itself (a tensor name, name=) keeps its name and `target` is another name for it.
        if p.name is None or (p.origin is not None and p.origin.frames):
            p.name = st.target
            p.fixed_name = False
    if st.is_output:
        b.declared.add(st.target)
        if ref.is_layer:
            b.outputs.append((ref, st.target_span or st.span))
        elif ref.is_input:
            b.error(codes.BAD_OUTPUT, f"input '{st.target}' cannot be an output", st.span,
                    "apply at least one layer to it")
    b.current_ref = ref


def mark_output(b, name: str, span: Span) -> None:
    """`output y`."""
    ref = b.scope.get(name)
    if ref is None:
        b.error(codes.UNDEFINED_TENSOR, f"'{name}' is not defined", span,
                did_you_mean(name, b.scope.visible()) or "define it first: output y = x -> dense 10")
        return
    if ref.failed:
        return
    if ref.is_input:
        b.error(codes.BAD_OUTPUT, f"input '{name}' cannot be an output", span, "apply at least one layer to it")
        return
    b.outputs.append((ref, span))
