"""Pass 3: whole-graph checks that need every shape: outputs, losses, dead code.

Warnings here never stop a build; they point at inputs and layers that no output uses, and
at training settings that name outputs the model does not have.
"""

from __future__ import annotations

from . import codes, ir
from .diagnostics import Diagnostic, Severity, did_you_mean
from .registry import Registry
from .semantic.bound import BoundModel


def live_names(nodes: tuple[ir.Node, ...], outputs) -> set[str]:
    """Names of the tensors the outputs depend on (Keras drops every other layer)."""
    by_name = {n.name: n for n in nodes}
    live: set[str] = set()
    stack = [o for o in outputs if o in by_name]
    while stack:
        name = stack.pop()
        if name in live:
            continue
        live.add(name)
        node = by_name.get(name)
        if node is not None:
            stack.extend(node.inputs)
    return live


def lint(bound: BoundModel, nodes: tuple[ir.Node, ...], registry: Registry) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    by_name = {n.name: n for n in nodes}
    outputs = [name for name, _ in bound.outputs]

    live = live_names(nodes, outputs)
    if outputs and all(o in by_name for o in outputs):
        for i in bound.inputs:
            if i.name not in live:
                out.append(Diagnostic(codes.UNUSED_INPUT, f"input '{i.name}' is not used by any output", i.span,
                                      "remove it, or connect it to the model", Severity.WARNING))
        dead = [n for n in nodes if n.name not in live]
        # One warning per dead branch: report the layers that feed nothing live.
        consumers: dict[str, list[str]] = {}
        for n in nodes:
            for s in n.inputs:
                consumers.setdefault(s, []).append(n.name)
        # A layer inside a block points at its line there and names the calls on the way.
        origins = {b.name: b.origin for b in bound.layers} if dead else {}
        for n in dead:
            if not consumers.get(n.name):
                out.append(Diagnostic(codes.DEAD_BRANCH, f"'{n.name}' ({n.op}) is not used by any output", n.span,
                                      f"mark it as an output (output {n.name}) or remove it", Severity.WARNING,
                                      origin=origins.get(n.name)))

    # Training statements that name outputs.
    multi = len(outputs) > 1
    per_output = [(o, s) for o, s in bound.loss_spans]
    for name, span in per_output:
        if name not in outputs and name not in bound.declared_outputs:
            hint = did_you_mean(name, outputs) or ("outputs: " + ", ".join(outputs) if outputs else None)
            out.append(Diagnostic(codes.UNKNOWN_OUTPUT, f"'{name}' is not an output of the model", span, hint))
    losses = bound.training.losses
    named = {o for o, _ in losses if o}
    if named and multi:
        missing = [o for o in outputs if o not in named]
        if missing and not any(o == "" for o, _ in losses):
            span = per_output[0][1] if per_output else None
            out.append(Diagnostic(codes.MISSING_LOSS, "no loss for output" + ("s " if len(missing) > 1 else " ") +
                                  ", ".join(f"'{m}'" for m in missing), span,
                                  "give every output a loss: loss " + " ".join(f"{o}=..." for o in outputs)))
    fit = bound.training.fit_options
    if fit and not losses:
        out.append(Diagnostic(codes.NO_LOSS, "'fit' is given but no loss", bound.fit_span,
                              "add a loss statement, e.g. loss sparse_categorical_crossentropy", Severity.WARNING))
    from .lint_training import lint_training

    out += lint_training(bound, nodes, registry)
    return out
