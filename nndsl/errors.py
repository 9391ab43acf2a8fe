"""Every error nndsl raises, and the exit code each one means, in one place.

:class:`NndslError` is the one root of the errors users see: the CLI prints its message (or a
spec error's diagnostics), never a traceback, and exits with its :class:`ExitCode`. The
other classes here are signals between stages that become diagnostics before a user sees
them (:class:`ShapeError`, :class:`ArgError`, :class:`RegistryError`). README.md's exit-code
table is checked against :class:`ExitCode` by a test.

This module imports nothing from nndsl, so every other module can import it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Sequence


class ExitCode(IntEnum):
    """Exit codes of the ``nndsl`` command (README.md lists them)."""

    OK = 0
    SPEC_ERROR = 1      # the spec has errors (diagnostics printed)
    USAGE = 2           # bad command line, missing file, unknown backend
    DATA_ERROR = 3      # training data missing or unusable
    RUN_ERROR = 4       # training or building failed
    PLUGIN_ERROR = 5    # plugins conflict, or a plugin's code failed
    INTERNAL = 70       # a bug in nndsl: please report it
    INTERRUPTED = 130   # Ctrl-C


class NndslError(Exception):
    """Base of every error nndsl raises on purpose; the CLI never shows a traceback for it."""

    exit_code = ExitCode.SPEC_ERROR


class SpecError(NndslError):
    """A spec failed to parse or check; carries every diagnostic found, not just the first."""

    exit_code = ExitCode.SPEC_ERROR

    def __init__(self, diagnostics: Sequence[Any], source: Any, sources: dict[str, Any] | None = None):
        self.diagnostics = tuple(diagnostics)
        self.source = source
        # Included files, by the name diagnostics carry in their origin.
        self.sources = dict(sources or {})
        errors = [d for d in self.diagnostics if d.is_error]
        first = errors[0] if errors else self.diagnostics[0]
        super().__init__(first.render(source, sources=self.sources).splitlines()[0])

    def render(self, color: bool = False) -> str:
        return self.diagnostics[0].render_all(self.diagnostics, self.source, color=color, sources=self.sources)


class TooLargeError(SpecError):
    """A spec that checks, but whose model this machine cannot hold (E730): a diagnostic at the
    largest layer, and the exit code of a run that failed, not of a wrong spec."""

    exit_code = ExitCode.RUN_ERROR


class UsageError(NndslError):
    """Bad command-line use (missing file, unknown option value, ...)."""

    exit_code = ExitCode.USAGE


class BackendError(NndslError):
    """The chosen backend cannot take this model; the message says why and what to use."""

    exit_code = ExitCode.USAGE


class RunDirError(NndslError):
    """The run directory cannot be used: unwritable, locked by another run, or not a run."""

    exit_code = ExitCode.USAGE


class DataError(NndslError):
    """Training data is missing or unusable: says what was found and what was expected."""

    exit_code = ExitCode.DATA_ERROR

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message + (f"\n  = hint: {hint}" if hint else ""))


class RunError(NndslError):
    """Building or training failed for a reason the user can act on."""

    exit_code = ExitCode.RUN_ERROR


class PluginError(NndslError):
    """A plugin conflict that cannot be skipped safely (two plugins claim one name)."""

    exit_code = ExitCode.PLUGIN_ERROR


class PluginCodeError(NndslError):
    """Code a plugin contributed (a lowering, a rule) failed while nndsl ran it."""

    exit_code = ExitCode.PLUGIN_ERROR


class EmitError(NndslError, ValueError):
    """A value or name that cannot be rendered safely as source (never expected from a checked model)."""

    exit_code = ExitCode.INTERNAL


# Signals between stages: each becomes a diagnostic, so users never see these directly. -----

class ShapeError(Exception):
    """A layer cannot take the shape(s) it was given; message in the user's terms."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class ArgError(Exception):
    """A value does not fit its parameter; message says what was received and expected."""

    def __init__(self, message: str, hint: str | None = None, code: str | None = None,
                 span: Any = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code
        self.span = span


class RegistryError(Exception):
    """Two plugins registered the same name, or a plugin returned something malformed."""
