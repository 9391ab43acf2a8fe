"""The ``nndsl`` command: argument parsing, then library calls.

Diagnostics go to stderr, results (tables, JSON, generated code) to stdout. Every failure a
user can cause maps to a named exit code here, in one place; ``--traceback`` shows the Python
traceback for the curious. Nothing on the check/summary/emit/help paths imports TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from enum import IntEnum
from typing import Sequence


class ExitCode(IntEnum):
    """Exit codes, documented in README.md."""

    OK = 0
    SPEC_ERROR = 1      # the spec has errors (diagnostics printed)
    USAGE = 2           # bad command line, missing file, unknown backend
    DATA_ERROR = 3      # training data missing or unusable
    RUN_ERROR = 4       # training or building failed
    PLUGIN_ERROR = 5    # plugins conflict (two register one name)
    INTERNAL = 70       # a bug in nndsl: please report it
    INTERRUPTED = 130   # Ctrl-C


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


def _load(path: str, registry):
    from .check import check_source, read_source

    return check_source(read_source(path), registry)


def _print_warnings(result) -> None:
    from .diagnostics import render

    color = _color(sys.stderr)
    for w in result.warnings:
        print(render(w, result.source, color), file=sys.stderr)


# Commands ---------------------------------------------------------------------------------

def cmd_check(args) -> int:
    from .diagnostics import SpecError
    from . import ir

    registry = _registry()
    status = ExitCode.OK
    report = []
    for path in args.files:
        try:
            result = _load(path, registry)
        except SpecError as e:
            status = ExitCode.SPEC_ERROR
            if args.format == "json":
                report.append({"file": e.source.filename, "ok": False,
                               "diagnostics": [d.to_json(e.source.filename) for d in e.diagnostics]})
            else:
                print(e.render(_color(sys.stderr)), file=sys.stderr)
            continue
        model = result.model
        if args.ir:
            print(json.dumps(ir.to_json(model), indent=2))
        if args.format == "json":
            report.append({"file": result.source.filename, "ok": True, "layers": len(model.nodes),
                           "params": model.params.total,
                           "diagnostics": [d.to_json(result.source.filename) for d in result.warnings]})
        else:
            _print_warnings(result)
            if not args.ir:
                prefix = f"{result.source.filename}: " if len(args.files) > 1 else ""
                print(f"{prefix}ok: {len(model.nodes)} layers, {model.params.total:,} params")
    if args.format == "json":
        print(json.dumps(report if len(report) != 1 else report[0], indent=2))
    return status


def cmd_summary(args) -> int:
    from .summary import render_summary

    registry = _registry()
    result = _load(args.file, registry)
    _print_warnings(result)
    print(render_summary(result.model, registry))
    return ExitCode.OK


# Parser -----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="nndsl", description="Compile neural-network model specs (.nn files) to checked IR and Keras.",
        epilog="Exit codes: 0 ok, 1 spec errors, 2 usage, 3 data error, 4 run error, 5 plugin conflict, "
               "70 internal error, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"nndsl {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show Python tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("check", help="parse and check specs; print 'ok' or diagnostics")
    p.add_argument("files", nargs="+", metavar="FILE", help="spec files ('-' reads stdin)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="diagnostics format")
    p.add_argument("--ir", action="store_true", help="print the checked IR as JSON")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("summary", help="a table of layers, output shapes and parameter counts")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_summary)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


# Other modules add their commands here (emit, run, plugins, ...), keeping this file thin.
_EXTRA_COMMANDS: list = []


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
        return ExitCode.SPEC_ERROR
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
