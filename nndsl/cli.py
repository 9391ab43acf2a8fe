"""The ``nndsl`` command: argument parsing, then library calls.

Diagnostics go to stderr, results (tables, JSON, generated code) to stdout. Every failure a
user can cause maps to a named exit code here, in one place; ``--traceback`` shows the Python
traceback for the curious. Nothing on the check/summary/emit/help paths imports TensorFlow.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sys
from typing import Sequence

from .errors import ExitCode


def _color(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def _registry():
    from .plugins import default_registry

    reg = default_registry()
    for w in reg.warnings:
        print(f"nndsl: warning: {w}", file=sys.stderr)
    return reg


def _overrides(args) -> dict:
    """`--set NAME=VALUE` flags as {name: expression}; a malformed one is a usage error."""
    from .overrides import parse_set

    return parse_set(getattr(args, "set", None) or ())


def _load(path: str, registry, data_files: bool = False, args=None):
    from .check import check_source, read_source

    return check_source(read_source(path), registry, _overrides(args) if args is not None else None,
                        data_files=data_files)


def _load_spaces(path: str, registry, data_files: bool = False, args=None):
    """Like _load, for the commands that take search spaces: a CheckResult, or a SpaceCheck."""
    from .check import read_source
    from .spacecheck import check_spaces

    return check_spaces(read_source(path), registry, _overrides(args) if args is not None else None,
                        data_files=data_files)


def _print_warnings(result) -> None:
    from .diagnostics import render

    color = _color(sys.stderr)
    for w in result.warnings:
        print(render(w, result.source, color, result.sources), file=sys.stderr)


# Commands ---------------------------------------------------------------------------------

def _space_json(check) -> dict:
    return {"spaces": [{"name": s.name, "kind": s.kind, "text": s.text, "line": s.span.line,
                        "column": s.span.column, "values": s.describe(), "default": s.default}
                       for s in check.spaces],
            "defaults": dict(check.values), "params": {"min": check.params[0], "max": check.params[1]},
            "models_checked": check.checked, "models_valid": check.valid, "exhaustive": check.exhaustive}


def _print_lowering_warnings(registry, backend) -> None:
    """Clashes and failures of plugins' ``nndsl_lowerings`` hooks for ``backend``'s table."""
    for w in backend.lowerings(registry).warnings:
        print(f"nndsl: warning: {w}", file=sys.stderr)


def _lowerable(result, registry, backend, training: bool = True) -> None:
    """Raise every construct of a checked spec ``backend`` cannot lower (E700/E701), all at once."""
    from .backends.base import require_lowerable

    require_lowerable(backend, result.model, registry, training=training, source=result.source,
                      sources=result.sources)


def _backend_for(result, registry, name: str | None, training: bool = True):
    """The backend named (or the default for the model), once everything it must lower does:
    plugins' lowering warnings printed, then E700/E701 diagnostics for all it cannot lower."""
    from .backends.base import choose_backend, get_backend

    if name is not None:
        backend = get_backend(registry, name)
        _print_lowering_warnings(registry, backend)
        _lowerable(result, registry, backend, training)
    backend = choose_backend(result.model, registry, name)
    if name is None:
        _print_lowering_warnings(registry, backend)
        _lowerable(result, registry, backend, training)
    return backend


def cmd_check(args) -> int:
    from .diagnostics import SpecError, UsageError
    from .errors import BackendError
    from .spacecheck import SpaceCheck
    from . import ir

    registry = _registry()
    backend = None
    if args.backend is not None:
        from .backends.base import get_backend

        backend = get_backend(registry, args.backend)
        _print_lowering_warnings(registry, backend)
    status = ExitCode.OK
    report = []
    for path in args.files:
        try:
            result = _load_spaces(path, registry, data_files=True, args=args)
            if backend is not None:  # a spec with search spaces: its reference model
                checked = result.result if isinstance(result, SpaceCheck) else result
                _lowerable(checked, registry, backend)
                backend.check_supported(checked.model, registry)
        except UsageError as e:  # one unreadable file does not stop the others
            if status == ExitCode.OK:
                status = ExitCode.USAGE
            if args.format == "json":
                report.append({"file": path, "ok": False, "error": str(e)})
            else:
                print(f"nndsl: error: {e}", file=sys.stderr)
            continue
        except BackendError as e:  # the backend's own refusal (keras-sequential: not a chain)
            if status == ExitCode.OK:
                status = ExitCode.USAGE
            if args.format == "json":
                report.append({"file": path, "ok": False, "error": str(e)})
            else:
                print(f"nndsl: error: {path}: {e}", file=sys.stderr)
            continue
        except SpecError as e:
            status = ExitCode.SPEC_ERROR
            if args.format == "json":
                report.append({"file": e.source.filename, "ok": False,
                               "diagnostics": [d.to_json(e.source.filename) for d in e.diagnostics]})
            else:
                print(e.render(_color(sys.stderr)), file=sys.stderr)
            continue
        spaces = result if isinstance(result, SpaceCheck) else None
        model = spaces.result.model if spaces else result.model
        if args.ir and args.format != "json":
            print(json.dumps(ir.to_json(model), indent=2))
        if args.format == "json":
            entry = {"file": result.source.filename, "ok": True, "layers": len(model.nodes),
                     "params": model.params.total, "macs": model.macs,
                     "layer_macs": {n.name: n.macs for n in model.nodes},
                     "diagnostics": [d.to_json(result.source.filename) for d in result.warnings]}
            if spaces:
                entry["search"] = _space_json(spaces)
            if args.ir:
                entry["ir"] = ir.to_json(model)
            report.append(entry)
        else:
            _print_warnings(result)
            if not args.ir:
                prefix = f"{result.source.filename}: " if len(args.files) > 1 else ""
                n = len(model.nodes)
                if spaces:
                    low, high = spaces.params
                    k = len(spaces.spaces)
                    print(f"{prefix}ok: {n} layer{'s' * (n != 1)} with the defaults, {low:,} to {high:,} params; "
                          f"{k} search space{'s' * (k != 1)}, {spaces.valid} of {spaces.checked} models checked valid"
                          + ("" if spaces.exhaustive else " (each space's values one at a time)"))
                else:
                    print(f"{prefix}ok: {n} layer{'s' * (n != 1)}, {model.params.total:,} params")
    if args.format == "json":
        print(json.dumps(report if len(report) != 1 else report[0], indent=2))
    return status


def cmd_summary(args) -> int:
    from .summary import render_summary

    from .spacecheck import SpaceCheck

    registry = _registry()
    result = _load_spaces(args.file, registry, args=args)
    _print_warnings(result)
    from .backends.base import choose_backend

    spaces = result if isinstance(result, SpaceCheck) else None
    model = spaces.result.model if spaces else result.model
    backend = choose_backend(model, registry, getattr(args, "backend", None))
    if spaces:
        width = max(len(s.name) for s in spaces.spaces)
        print("Search spaces (the table shows the defaults):")
        for s in spaces.spaces:
            print(f"  {s.name:<{width}}  {s.kind:<10}  {s.describe()}  (default {spaces.values[s.name]}, "
                  f"line {s.span.line})")
        low, high = spaces.params
        print(f"Params over {spaces.valid} valid checked models: {low:,} to {high:,}\n")
    print(render_summary(model, lambda node: backend.layer_type(node, registry), by_block=not args.expand))
    return ExitCode.OK


def cmd_expand(args) -> int:
    from .flat import render_flat

    registry = _registry()
    result = _load(args.file, registry, args=args)
    _print_warnings(result)
    sys.stdout.write(render_flat(result, registry))
    return ExitCode.OK


def cmd_fmt(args) -> int:
    """Print, check (--check: a diff, exit 1) or rewrite (--write) specs in the canonical layout."""
    import difflib

    from .check import read_source
    from .diagnostics import SpecError, UsageError
    from .fmt import format_source

    if args.write and "-" in args.files:
        raise UsageError("fmt --write cannot rewrite standard input; pipe it: nndsl fmt - < FILE")
    status = ExitCode.OK
    for path in args.files:
        try:
            source = read_source(path)
            formatted = format_source(source.text, source.filename)
        except UsageError as e:
            print(f"nndsl: error: {e}", file=sys.stderr)
            status = max(status, ExitCode.USAGE)
            continue
        except SpecError as e:
            print(e.render(_color(sys.stderr)), file=sys.stderr)
            status = max(status, ExitCode.SPEC_ERROR)
            continue
        if args.check:
            if formatted != source.text:
                sys.stdout.writelines(difflib.unified_diff(
                    source.text.splitlines(keepends=True), formatted.splitlines(keepends=True),
                    f"{source.filename} (original)", f"{source.filename} (formatted)"))
                print(f"nndsl: {source.filename} would be reformatted", file=sys.stderr)
                status = max(status, ExitCode.SPEC_ERROR)
        elif args.write:
            if formatted != source.text:
                write_atomically(path, formatted)
                print(f"nndsl: reformatted {path}", file=sys.stderr)
        else:
            sys.stdout.write(formatted)
    return status


def cmd_explain(args) -> int:
    """A diagnostic code's long explanation, or a registered layer's (optimizer's, ...) reference."""
    from .tools.explain import explain

    registry = None if re.fullmatch(r"[EWew]\d{3}", args.name) else _registry()
    sys.stdout.write(explain(args.name, registry))
    return ExitCode.OK


def cmd_import(args) -> int:
    """A Keras model (.keras archive or model.to_json() file), read as data only, to a spec."""
    from .diagnostics import render
    from .tools.import_keras import import_model

    registry = _registry()
    result = import_model(args.model, registry, partial=args.partial)
    color = _color(sys.stderr)
    for d in result.warnings:
        print(render(d, result.source, color), file=sys.stderr)
    if args.output:
        write_atomically(args.output, result.text)
    else:
        sys.stdout.write(result.text)
    return ExitCode.OK


_DIAGRAM_SUFFIXES = {".svg": "svg", ".mmd": "mermaid", ".mermaid": "mermaid", ".md": "mermaid", ".dot": "dot",
                     ".gv": "dot", ".txt": "ascii"}


def cmd_diagram(args) -> int:
    """Draw a checked spec: SVG (default), Mermaid, DOT or ASCII; no Graphviz needed."""
    from .tools.diagram import render

    fmt = args.format
    if fmt is None:
        suffix = os.path.splitext(args.output or "")[1].lower()
        fmt = _DIAGRAM_SUFFIXES.get(suffix, "svg")
    registry = _registry()
    result = _load(args.file, registry, args=args)
    _print_warnings(result)
    depth = None if args.expand else args.depth
    text = render(result.model, fmt, depth)
    if fmt == "mermaid" and args.output and args.output.lower().endswith(".md"):
        text = "```mermaid\n" + text + "```\n"
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
    return ExitCode.OK


def write_atomically(path: str, text: str) -> None:
    """Write via a temporary file and rename, so a failure leaves nothing half-written."""
    import tempfile

    from .diagnostics import UsageError

    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".nndsl-", suffix=".tmp", dir=directory)
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UsageError(f"{path}: cannot write: {e.strerror or e}") from None


def _spec_dir_from_script(spec: str, output: str | None) -> str:
    """The spec's folder as seen from the script's (relative data paths go through it).

    On stdout the script is taken to be saved beside the spec, so paths stay as written.
    """
    if not output or output == "-" or spec == "-":
        return ""
    spec_dir = os.path.dirname(os.path.abspath(spec))
    script_dir = os.path.dirname(os.path.abspath(output))
    try:
        rel = os.path.relpath(spec_dir, script_dir)
    except ValueError:  # another drive (Windows): only an absolute path reaches it
        return spec_dir
    return "" if rel == "." else rel


def cmd_emit(args) -> int:
    from . import ir
    from .diagnostics import UsageError

    registry = _registry()
    result = _load(args.file, registry, args=args)
    _print_warnings(result)
    model = result.model
    if args.ir:
        if args.seed is not None:
            raise UsageError("--seed applies to the Python script, not to --ir")
        text = json.dumps(ir.to_json(model), indent=2) + "\n"
    else:
        backend = _backend_for(result, registry, args.backend)
        fmt = args.format or "python"
        options = {}
        if fmt == "python":
            options = {"source_name": os.path.basename(result.source.filename), "seed": args.seed,
                       "data_dir": _spec_dir_from_script(args.file, args.output)}
        elif args.seed is not None:
            raise UsageError(f"--seed applies to the Python script, not to --format {fmt}")
        text = backend.emit(model, registry, fmt, **options)
    if args.output and args.output != "-":
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
    return ExitCode.OK


def cmd_plugins(args) -> int:
    from .plugins import default_plugin_manager

    registry = _registry()
    pm = default_plugin_manager()
    provided = registry.items_by_owner()
    report = []
    for name, info in pm.info.items():
        entry = {"name": name, "distribution": info.distribution, "version": info.version,
                 "builtin": info.builtin, "provides": provided.get(name, {})}
        report.append(entry)
    if args.format == "json":
        print(json.dumps({"plugins": report, "warnings": registry.warnings}, indent=2))
        return ExitCode.OK
    for entry in report:
        origin = "built-in" if entry["builtin"] else f"{entry['distribution'] or '?'} {entry['version'] or ''}".strip()
        print(f"{entry['name']} ({origin})")
        for table, names in sorted(entry["provides"].items()):
            print(f"  {table}: {', '.join(names)}")
    return ExitCode.OK


def _run_options(args):
    from .run import RunOptions

    workers = tuple(w.strip() for w in args.workers.split(",") if w.strip()) if args.workers else ()
    return RunOptions(epochs=args.epochs, batch_size=args.batch_size, data=args.data, backend=args.backend,
                      seed=args.seed, out=args.out, precision=args.precision, strategy=args.strategy,
                      workers=workers, task_index=args.task_index, quiet=args.quiet, silent=args.silent,
                      json=args.json,
                      steps_per_execution=args.steps_per_execution, jit_compile=args.jit_compile,
                      pipeline=args.pipeline, tensorboard=args.tensorboard)


def cmd_run(args) -> int:
    from .diagnostics import UsageError
    from .run import resume, run

    registry = _registry()
    options = _run_options(args)
    if args.resume:
        if args.file:
            raise UsageError("give either a spec FILE or --resume DIR, not both")
        resume(args.resume, options, registry)
        return ExitCode.OK
    if not args.file:
        raise UsageError("nndsl run needs a spec FILE (or --resume DIR)")
    run(args.file, options, registry, on_checked=None if args.quiet or args.silent else _print_warnings,
        overrides=_overrides(args))
    return ExitCode.OK


def cmd_data(args) -> int:
    """What `run` would train on, without training: the data's source, preparation, split and warnings."""
    import os

    from .check import check_source, read_source
    from .run.runner import Reporter, data_reference, fit_setting, load_data

    registry = _registry()
    model = check_source(read_source(args.file), registry).model
    spec_dir = os.path.dirname(os.path.abspath(args.file)) if args.file != "-" else os.getcwd()
    data, _ = data_reference(model, args.data, registry, spec_dir)
    seed = fit_setting(model, "seed")
    settings = {"data": data, "data_seed": seed if seed is not None else 0,
                "validation_split": fit_setting(model, "validation_split"), "test_split": fit_setting(model, "test_split")}
    load_data(settings, model, registry, Reporter())
    return ExitCode.OK


def cmd_tune(args) -> int:
    from .diagnostics import UsageError
    from .run.tune import TuneOptions, resume_tune, tune

    registry = _registry()
    options = TuneOptions(trials=args.trials, timeout=args.timeout, jobs=args.jobs, out=args.out,
                          sampler=args.sampler, objective=args.objective, direction=args.direction, seed=args.seed,
                          storage=args.storage, prune=not args.no_prune, epochs=args.epochs,
                          batch_size=args.batch_size, data=args.data, backend=args.backend, json=args.json,
                          quiet=args.quiet, worker=args.worker)
    if args.resume:
        if args.file:
            raise UsageError("give either a spec FILE or --resume DIR, not both")
        if args.set:
            raise UsageError("--set cannot change a resumed tune (it keeps the values it was started with)")
        resume_tune(args.resume, options, registry)
        return ExitCode.OK
    if args.worker:
        raise UsageError("--worker goes with --resume DIR (nndsl tune --jobs starts such workers itself)")
    if not args.file:
        raise UsageError("nndsl tune needs a spec FILE (or --resume DIR)")
    tune(args.file, options, registry, overrides=_overrides(args), set_texts=tuple(args.set or ()))
    return ExitCode.OK


def cmd_evaluate(args) -> int:
    from .run.use import evaluate

    evaluate(args.target, _registry(), data=args.data, as_json=args.json)
    return ExitCode.OK


def cmd_predict(args) -> int:
    from .run.use import predict

    predict(args.target, args.input, _registry(), output=args.output, as_json=args.json,
            classes=args.classes, top=args.top)
    return ExitCode.OK


def cmd_export(args) -> int:
    from .run.export import prefer_tensorflow

    note = prefer_tensorflow()  # before Keras is imported: every export format is a TensorFlow/ONNX graph
    from .run.export import export_run

    def info(line: str) -> None:
        if not args.json:
            print(line, file=sys.stderr)

    if note:
        info(f"note: {note}")
    result = export_run(args.run, args.to, _registry(), out=args.out, rows=args.rows, tolerance=args.tolerance,
                        force=args.force, info=info)
    for line in result.notes:
        info(f"warning: {line}")
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(f"verified with {result.runtime} on {result.rows} {result.split} rows: max |difference| "
              f"{result.max_diff:.2e} (tolerance {result.tolerance:.1e})")
        print(f"exported {result.format}: {result.path}")
    return ExitCode.OK


def cmd_curves(args) -> int:
    from .run.curves import render_text, write_image
    from .run.runinfo import expand, read_run

    runs = [read_run(path) for path in expand(args.runs)]
    if args.out:
        write_image(runs, args.out)
        print(f"wrote {args.out}: " + ", ".join(f"{r.name} ({r.epochs} epochs)" for r in runs if r.history))
        for run in runs:
            if not run.history:
                print(f"nndsl: warning: {run.path}: no finished epoch yet, not drawn", file=sys.stderr)
    else:
        sys.stdout.write(render_text(runs))
    return ExitCode.OK


def cmd_plot(args) -> int:
    """The issue's name for the figure: ``curves --out`` with a default file (curves.svg here)."""
    args.out = args.out or "curves.svg"
    return cmd_curves(args)


def cmd_runs(args) -> int:
    from .run.runinfo import dumps
    from .run.runs import as_json, list_runs, render

    rows = list_runs(args.dir, _registry(), sort=args.sort, where=args.where or ())
    if args.json:
        print(dumps(as_json(rows)))
    else:
        sys.stdout.write(render(rows))
    return ExitCode.OK


def cmd_compare(args) -> int:
    from .run.compare import as_json, compare, render
    from .run.runinfo import dumps

    runs, params = compare(args.runs, _registry(), sort=args.sort)
    if args.json:
        print(dumps(as_json(runs, params)))
    else:
        sys.stdout.write(render(runs, params))
    return ExitCode.OK


def _int_at_least(minimum: int):
    """An argparse type: a whole number >= minimum, with a plain-words error otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, got {value}")
        return value
    return parse


_positive = _int_at_least(1)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value
_natural = _int_at_least(0)


def cmd_lsp(args) -> int:
    """Serve the Language Server Protocol over stdin/stdout (needs the optional pygls)."""
    from .diagnostics import UsageError

    try:
        from .tools.lsp import serve
    except ImportError as e:
        raise UsageError(f"nndsl lsp needs the language-server extra ({e.name or e} is missing): "
                         "pip install 'nndsl[lsp]'") from None
    return ExitCode.OK if serve() == 0 else ExitCode.SPEC_ERROR  # LSP: exit without shutdown is 1


# Parser -----------------------------------------------------------------------------------

def _add_set(p) -> None:
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="override a spec parameter (param NAME = ...); repeatable; VALUE is an expression")


def build_parser() -> argparse.ArgumentParser:
    from .version import __version__

    parser = argparse.ArgumentParser(
        prog="nndsl", description="Compile neural-network model specs (.nn files) to checked IR and Keras.",
        epilog="Exit codes: 0 ok, 1 spec errors, 2 usage, 3 data error, 4 run error, 5 plugin conflict, "
               "70 internal error, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"nndsl {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show Python tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("check", help="parse and check specs; print 'ok' or diagnostics")
    p.add_argument("files", nargs="+", metavar="FILE", help="spec files ('-' reads stdin)")
    _add_set(p)
    p.add_argument("--format", choices=("text", "json"), default="text", help="diagnostics format")
    p.add_argument("--ir", action="store_true", help="print the checked IR as JSON (with --format json: "
                                                     "as the 'ir' field of each file's report)")
    p.add_argument("--backend", metavar="NAME", help="also report (E700/E701) every construct this backend "
                   "cannot lower: keras-sequential, keras-functional, or a plugin's (nndsl plugins lists them)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("summary", help="a table of layers, output shapes and parameter counts")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--expand", action="store_true", help="one row per layer (default: one row per block instance)")
    _add_set(p)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("expand", help="print the flat v1 spec a file means (blocks inlined, repeats unrolled, "
                                      "arithmetic evaluated, includes resolved, every layer named)")
    p.add_argument("file", metavar="FILE")
    _add_set(p)
    p.set_defaults(func=cmd_expand)

    p = sub.add_parser("fmt", help="print specs in the canonical layout (--check for CI, --write to rewrite)")
    p.add_argument("files", nargs="+", metavar="FILE", help="spec files ('-' reads stdin)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="change nothing; show a diff and exit 1 if a file is not formatted")
    mode.add_argument("-w", "--write", action="store_true", help="rewrite the files in place (atomically)")
    p.set_defaults(func=cmd_fmt)

    p = sub.add_parser("diagram", help="draw a spec as SVG, Mermaid, DOT or ASCII (no Graphviz needed)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=("svg", "mermaid", "dot", "ascii"),
                   help="default: from -o's suffix (.svg .mmd .md .dot .gv .txt), else svg")
    p.add_argument("-o", "--output", metavar="OUT", help="write here (atomically) instead of stdout")
    fold = p.add_mutually_exclusive_group()
    fold.add_argument("--expand", action="store_true", help="draw every layer (default: a block instance is one node)")
    fold.add_argument("--depth", type=_positive, default=1, metavar="N",
                      help="fold block instances N levels deep into one node each (default 1: the outermost)")
    _add_set(p)
    p.set_defaults(func=cmd_diagram)

    p = sub.add_parser("emit", help="print a standalone Python script (or the IR) for a spec")
    _add_set(p)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--python", dest="format", action="store_const", const="python",
                      help="a runnable Keras script (the default)")
    what.add_argument("--format", dest="format", metavar="FMT", help="another format a backend emits")
    what.add_argument("--ir", action="store_true", help="the checked IR as JSON")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--backend", metavar="NAME", help="keras-sequential, keras-functional, or a plugin's")
    p.add_argument("-o", "--output", metavar="OUT", help="write here (atomically) instead of stdout; relative "
                   "data paths are rewritten to be relative to OUT's folder")
    p.add_argument("--seed", type=_natural, metavar="N", help="seed the script (overrides fit seed=): "
                   "keras.utils.set_random_seed and the data shuffle, as nndsl run --seed N")
    p.set_defaults(func=cmd_emit)

    p = sub.add_parser("run", help="train a spec: data, fit, evaluate, save a run directory")
    p.add_argument("file", metavar="FILE", nargs="?", help="the spec to train")
    p.add_argument("--resume", metavar="DIR", help="continue a killed or interrupted run from its last checkpoint")
    _add_set(p)
    p.add_argument("--epochs", type=_positive, metavar="N", help="override fit epochs (with --resume: extend)")
    p.add_argument("--batch-size", type=_positive, metavar="N", help="override fit batch_size")
    p.add_argument("--data", metavar="DATA", help="a data set name or a .npz/.npy/.csv path (overrides the spec)")
    p.add_argument("--backend", metavar="NAME", help="keras-sequential, keras-functional, or a plugin's")
    p.add_argument("--seed", type=_natural, metavar="N", help="seed Keras and the data shuffle (reproducible on CPU)")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/<model>-<timestamp>)")
    p.add_argument("--precision", choices=("float32", "mixed_float16", "mixed_bfloat16"),
                   help="Keras dtype policy")
    p.add_argument("--strategy", choices=("auto", "none", "mirrored", "multiworker"), default="auto",
                   help="auto: MirroredStrategy on several GPUs; multiworker: TF_CONFIG or --workers")
    p.add_argument("--workers", metavar="HOST:PORT,...", help="the multiworker cluster (with --task-index)")
    p.add_argument("--task-index", type=_natural, metavar="N", help="this worker's index in --workers")
    p.add_argument("--steps-per-execution", type=_positive, metavar="N",
                   help="batches per compiled call (default: 64, or one epoch if fewer)")
    p.add_argument("--jit-compile", choices=("true", "false", "auto"), help="XLA compilation (default: Keras')")
    p.add_argument("--pipeline", choices=("numpy", "tfdata"),
                   help="how batches reach Keras (default: per Keras backend, see benchmarks/README.md)")
    p.add_argument("--tensorboard", action="store_true",
                   help="write TensorBoard logs into RUN/tensorboard/ (needs nndsl[tensorboard]; kept by --resume)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--quiet", action="store_true", help="no progress, notes or summary: only the final test line")
    out.add_argument("--silent", action="store_true", help="print nothing (errors still go to stderr)")
    out.add_argument("--json", action="store_true", help="one JSON object per line: start, each epoch, end")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("data", help="what run would train on, without training: source, classes, columns, "
                                    "missing values, preparation, splits")
    p.add_argument("file", metavar="FILE", help="a spec file ('-' for standard input)")
    p.add_argument("--data", metavar="DATA", help="this data instead of the spec's data statement")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("tune", help="search a spec's search spaces (choice, int, uniform, loguniform) with "
                                     "Optuna: one run per trial, trials.csv, best.nn")
    p.add_argument("file", metavar="FILE", nargs="?", help="the spec with search spaces")
    p.add_argument("--resume", metavar="DIR", help="continue a killed or finished tune (its study, spec and settings)")
    _add_set(p)
    p.add_argument("--trials", type=_positive, metavar="N", help="trials in all (default 20; grid: the whole grid; "
                   "with --resume: a new total)")
    p.add_argument("--timeout", type=_positive_float, metavar="S", help="stop starting trials after S seconds")
    p.add_argument("--jobs", type=_positive, default=1, metavar="J", help="processes working on the study at once")
    p.add_argument("--out", metavar="DIR", help="tune directory (default tunes/<model>-<timestamp>)")
    p.add_argument("--sampler", choices=("tpe", "random", "grid"), help="how values are drawn (default tpe)")
    p.add_argument("--objective", metavar="NAME", help="the logged quantity to optimize (default: the spec's "
                   "first metric on validation data, else val_loss)")
    p.add_argument("--direction", choices=("minimize", "maximize"),
                   help="default: maximize for accuracy-like metrics, minimize otherwise")
    p.add_argument("--seed", type=_natural, metavar="N", help="seed the sampler and every trial's training")
    p.add_argument("--storage", metavar="URL", help="the study's database URL (default sqlite:///DIR/study.db); "
                   "processes given the same URL share the study")
    p.add_argument("--no-prune", action="store_true", help="train every trial to the end (default: Optuna's "
                   "median pruner stops trials behind the others)")
    p.add_argument("--epochs", type=_positive, metavar="N", help="override fit epochs for every trial")
    p.add_argument("--batch-size", type=_positive, metavar="N", help="override fit batch_size for every trial")
    p.add_argument("--data", metavar="DATA", help="a data set name or a file (overrides the spec)")
    p.add_argument("--backend", metavar="NAME", help="keras-sequential, keras-functional, or a plugin's")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--quiet", action="store_true", help="no progress lines or summary")
    out.add_argument("--json", action="store_true", help="one JSON object per trial, then a summary object")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("evaluate", help="evaluate a trained run (or model.keras) on its test set or --data")
    p.add_argument("target", metavar="DIR|MODEL.keras")
    p.add_argument("--data", metavar="DATA", help="evaluate on this data instead of the run's test set")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="run a trained model on inputs from a .npy or .npz file")
    p.add_argument("target", metavar="DIR|MODEL.keras")
    p.add_argument("input", metavar="INPUT.npy|INPUT.npz", help="one array (single-input models) or an .npz "
                   "with one array per input name")
    p.add_argument("-o", "--output", metavar="OUT.npz|OUT.npy", help="write the predictions here (atomically): "
                   ".npz holds one array per output name; .npy the single output's")
    ranking = p.add_mutually_exclusive_group()
    ranking.add_argument("--classes", action="store_true", help="class ids (argmax) instead of probabilities")
    ranking.add_argument("--top", type=_positive, metavar="K", help="the K most probable class ids per sample "
                         "(and their probabilities, as NAME_probabilities in an .npz)")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("export", help="write a run's model as savedmodel, onnx, tflite or keras, verified "
                                      "against the run's model on its test rows")
    p.add_argument("run", metavar="RUN", help="a run directory (nndsl run's --out)")
    p.add_argument("--to", required=True, choices=("savedmodel", "onnx", "tflite", "keras"),
                   help="savedmodel (TensorFlow Serving), onnx (needs nndsl[onnx]), tflite (LiteRT), keras")
    p.add_argument("--out", metavar="PATH", help="where to write (default RUN/export/model.onnx, "
                   "RUN/export/savedmodel/, ...); the artifact appears there only once verified")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    p.add_argument("--rows", type=_positive, default=32, metavar="N",
                   help="test rows the verification runs (default 32)")
    p.add_argument("--tolerance", type=float, default=1e-4, metavar="T",
                   help="largest accepted |difference| from the Keras model (default 1e-4, times the "
                        "outputs' magnitude when above 1)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("curves", help="loss and metrics per epoch of one or more runs: text, or a "
                                      "PNG/SVG/PDF with --out (needs nndsl[plot])")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories (finished, interrupted or killed), "
                   "or a folder of them (runs/)")
    p.add_argument("-o", "--out", metavar="FILE.png|svg|pdf", help="draw the curves into this file "
                   "(atomically; matplotlib) instead of printing them")
    p.set_defaults(func=cmd_curves)

    p = sub.add_parser("plot", help="draw the curves of one or more runs on shared axes into a PNG/SVG/PDF "
                                    "(needs nndsl[plot]); nndsl curves prints them as text")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories, or a folder of them (runs/)")
    p.add_argument("-o", "--out", metavar="FILE.png|svg|pdf", help="where to draw (default curves.svg; atomically)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("runs", help="list the runs in a folder: model, when, epochs, params, test metrics, "
                                    "samples/s, wall time, device, state; sortable and filterable")
    p.add_argument("dir", nargs="?", default="runs", metavar="DIR", help="a folder of runs (default runs/), "
                   "a tune directory, or one run")
    p.add_argument("--sort", metavar="KEY", help="best first by test_accuracy, val_loss, wall_time, "
                   "samples_per_second, epochs, params, ...")
    p.add_argument("--where", action="append", metavar="COND", help="keep runs where COND holds: state=finished, "
                   "model=mlp, device=GPU, test_accuracy>=0.9, epochs>5 (repeatable: all must hold)")
    p.add_argument("--json", action="store_true", help="print the runs as JSON")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("compare", help="runs side by side: spec hash, params, state, epochs, time, final and "
                                       "best metrics, and what differs between their settings and specs")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories, or a folder of them (runs/)")
    p.add_argument("--sort", metavar="KEY", help="best first by a final metric (val_accuracy, loss), a test "
                   "metric (test_accuracy), wall_time, samples_per_second, epochs or params")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("import", help="write a spec for a Keras model (.keras or model.to_json() file), "
                                      "read as data: no code from the file runs")
    p.add_argument("model", metavar="MODEL.keras|MODEL.json")
    p.add_argument("-o", "--output", metavar="OUT.nn", help="write here (atomically) instead of stdout")
    p.add_argument("--partial", action="store_true",
                   help="write a '# TODO' line for what nndsl cannot express instead of failing")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("explain", help="explain a diagnostic code (E204) or a layer, optimizer, loss, ... (dense)")
    p.add_argument("name", metavar="CODE|NAME")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("plugins", help="list loaded plugins and what each provides")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("lsp", help="a language server over stdio for editors (docs/EDITORS.md)")
    p.set_defaults(func=cmd_lsp)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .diagnostics import NndslError, SpecError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(args.func(args))
    except SpecError as e:
        print(e.render(_color(sys.stderr)), file=sys.stderr)
        return e.exit_code  # SPEC_ERROR; RUN_ERROR for a model too large for the machine (E730)
    except NndslError as e:
        if args.traceback:
            raise
        print(f"nndsl: error: {e}", file=sys.stderr)
        return getattr(e, "exit_code", ExitCode.RUN_ERROR)
    except KeyboardInterrupt:
        print("nndsl: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
    except OSError as e:  # the machine, not nndsl: a full disk, a vanished directory, permissions
        if args.traceback:
            raise
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"nndsl: error: {e.strerror or e}{where}", file=sys.stderr)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            print("  = hint: free some disk space (or pass --out on another disk) and rerun; "
                  "files written before stay whole", file=sys.stderr)
        return ExitCode.RUN_ERROR
    except Exception as e:  # noqa: BLE001 - last resort: never a bare traceback for users
        from .plugins import PluginError

        if args.traceback:
            raise
        if isinstance(e, PluginError):
            print(f"nndsl: error: {e}", file=sys.stderr)
            return ExitCode.PLUGIN_ERROR
        print(f"nndsl: internal error: {type(e).__name__}: {e}\n"
              "  this is a bug in nndsl; rerun with --traceback and report it", file=sys.stderr)
        return ExitCode.INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
