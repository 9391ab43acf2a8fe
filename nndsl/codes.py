"""Diagnostic codes: stable names for every problem nndsl reports.

Codes are part of the language reference (spec/LANGUAGE.md lists each one; a test keeps the
two in step) so editors and CI scripts can match on them.
"""

from __future__ import annotations

# E0xx: the input itself
TOO_LARGE = "E001"
BINARY_INPUT = "E002"
NOT_UTF8 = "E003"
TOO_DEEP = "E004"
EMPTY = "E005"

# E1xx: syntax
SYNTAX = "E100"
UNEXPECTED_CHARACTER = "E101"
BAD_STRING = "E102"

# E2xx: names
UNKNOWN_LAYER = "E200"
UNKNOWN_OPTIMIZER = "E201"
UNKNOWN_LOSS = "E202"
UNKNOWN_METRIC = "E203"
UNKNOWN_ACTIVATION = "E204"
UNKNOWN_KEYWORD = "E205"
UNDEFINED_TENSOR = "E206"
DUPLICATE_NAME = "E207"
RESERVED_NAME = "E208"
UNKNOWN_DATASET = "E209"
UNKNOWN_CALLBACK = "E210"
UNDEFINED_NAME = "E211"
UNKNOWN_PARAM = "E212"

# E3xx: arguments
ARG_COUNT = "E300"
ARG_TYPE = "E301"
ARG_RANGE = "E302"
MISSING_ARG = "E303"
DUPLICATE_ARG = "E304"
ARG_ORDER = "E305"
BAD_INPUTS = "E306"

# E4xx: shapes and the graph
SHAPE = "E400"
NO_INPUT = "E401"
NO_OUTPUT = "E402"
NO_SOURCE = "E403"
BAD_OUTPUT = "E404"
TOO_MANY_INPUTS_SEQ = "E405"

# E6xx: blocks, includes and assertions (language v2)
BAD_BLOCK = "E600"
BLOCK_CYCLE = "E601"
BAD_INCLUDE = "E602"
INCLUDE_CYCLE = "E603"
ASSERTION_FAILED = "E604"
BAD_ASSERTION = "E605"
# E62x: the analysis itself (nndsl.semantic.analyze)
INTERNAL = "E620"
CANNOT_READ = "E621"
BAD_OVERRIDE = "E622"

# E606-E619: search spaces (nndsl tune)
SPACE_NOT_ALLOWED = "E606"
BAD_SPACE = "E607"
SPACE_BOUNDS = "E608"
SPACE_VALUE_INVALID = "E609"
SPACE_IN_INCLUDE = "E610"

# E74x: nndsl import (a Keras model config to a spec)
IMPORT_UNSUPPORTED_LAYER = "E740"
IMPORT_UNSUPPORTED_OPTION = "E741"
IMPORT_BAD_FILE = "E742"
IMPORT_UNSUPPORTED_GRAPH = "E743"

# E5xx: the training section
UNKNOWN_OUTPUT = "E500"
MISSING_LOSS = "E501"
DUPLICATE_STATEMENT = "E502"
BAD_TRAINING = "E503"
NO_VALIDATION = "E504"
MISSING_DATA_FILE = "E505"

# E72x: data sources (data "PATH")
DATA_OPTION = "E720"
UNKNOWN_DATA_FORMAT = "E721"
# E70x: the backend chosen with --backend (nndsl check --backend, run, emit, build)
NO_LOWERING = "E700"
UNSUPPORTED_OPTION = "E701"

# Wxxx: warnings
UNUSED_INPUT = "W001"
DEAD_BRANCH = "W002"
NO_LOSS = "W003"
SHADOWED = "W004"
SUSPICIOUS = "W005"
UPPER_CASE_VALUE = "W006"
UNKNOWN_MONITOR = "W007"
SPACE_VALUE_SOMETIMES_INVALID = "W014"
IMPORT_LEFT_OUT = "W013"

# E71x, W010: preprocessing layers and input dtypes
STRINGS_TO_NUMBERS = "E710"
NUMBERS_TO_STRINGS = "E711"
UNSCALED_INPUT = "W010"

# W011, E73x: the model against the machine (nndsl/memory.py)
TOO_LARGE_FOR_MEMORY = "W011"
RUN_TOO_LARGE_FOR_MEMORY = "E730"

DESCRIPTIONS: dict[str, str] = {
    TOO_LARGE: "the spec is larger than the maximum size",
    BINARY_INPUT: "the input is a binary file",
    NOT_UTF8: "the input is not valid UTF-8",
    TOO_DEEP: "parentheses nested too deeply",
    EMPTY: "the spec is empty",
    SYNTAX: "syntax error: an unexpected token",
    UNEXPECTED_CHARACTER: "a character that cannot start any token",
    BAD_STRING: "an unterminated string or a bad escape",
    UNKNOWN_LAYER: "unknown layer",
    UNKNOWN_OPTIMIZER: "unknown optimizer",
    UNKNOWN_LOSS: "unknown loss",
    UNKNOWN_METRIC: "unknown metric",
    UNKNOWN_ACTIVATION: "unknown activation",
    UNKNOWN_KEYWORD: "unknown keyword argument",
    UNDEFINED_TENSOR: "a tensor name used before it is defined",
    DUPLICATE_NAME: "a tensor or input name defined twice",
    RESERVED_NAME: "a name that is reserved or shadows a layer",
    UNKNOWN_DATASET: "unknown built-in data set",
    UNKNOWN_CALLBACK: "unknown callback",
    UNDEFINED_NAME: "a name used in an expression that is not defined",
    UNKNOWN_PARAM: "--set names a parameter the spec does not declare",
    ARG_COUNT: "too many positional arguments",
    ARG_TYPE: "an argument of the wrong type",
    ARG_RANGE: "an argument out of range",
    MISSING_ARG: "a required argument is missing",
    DUPLICATE_ARG: "an argument given twice",
    ARG_ORDER: "a positional argument after a keyword argument",
    BAD_INPUTS: "a layer given the wrong number or kind of input tensors",
    SHAPE: "a layer applied to a shape it cannot take",
    NO_INPUT: "the model has no input",
    NO_OUTPUT: "the model has no output",
    NO_SOURCE: "a layer with nothing to apply it to",
    BAD_OUTPUT: "an output that is not produced by a layer",
    TOO_MANY_INPUTS_SEQ: "several inputs but layers chained without a source",
    BAD_BLOCK: "a block defined or used wrongly",
    BLOCK_CYCLE: "blocks that call each other in a cycle",
    BAD_INCLUDE: "an include that cannot be read or holds model statements",
    INCLUDE_CYCLE: "files that include each other in a cycle",
    ASSERTION_FAILED: "an assertion that does not hold",
    BAD_ASSERTION: "an assertion that cannot be evaluated",
    INTERNAL: "an internal error in nndsl or a plugin (a bug, not a problem in the spec)",
    CANNOT_READ: "the spec file cannot be read",
    BAD_OVERRIDE: "a parameter override that is not a value",
    SPACE_NOT_ALLOWED: "a search space in a spec that builds one model (run, emit, build)",
    BAD_SPACE: "a search space written wrongly (arguments, options, nesting)",
    SPACE_BOUNDS: "a search space whose bounds, step or options cannot work",
    SPACE_VALUE_INVALID: "a value of a search space that makes every checked model invalid",
    SPACE_IN_INCLUDE: "a search space in an included file",
    IMPORT_UNSUPPORTED_LAYER: "a Keras layer class nndsl has no equivalent for (nndsl import)",
    IMPORT_UNSUPPORTED_OPTION: "a Keras layer option or value nndsl cannot express (nndsl import)",
    IMPORT_BAD_FILE: "a file that is not a Keras model config (nndsl import)",
    IMPORT_UNSUPPORTED_GRAPH: "a Keras graph a spec cannot write: a shared layer or a nested model (nndsl import)",
    UNKNOWN_OUTPUT: "a per-output loss or metric names an output that does not exist",
    MISSING_LOSS: "per-output losses leave an output without a loss",
    DUPLICATE_STATEMENT: "a training statement given twice",
    BAD_TRAINING: "a training setting that cannot work",
    NO_VALIDATION: "a callback watches a validation quantity but the fit has no validation data",
    MISSING_DATA_FILE: "the data file does not exist",
    DATA_OPTION: "a data option that does not apply to this kind of data file or folder",
    UNKNOWN_DATA_FORMAT: "a data path whose kind of file no registered data format reads",
    NO_LOWERING: "a construct the chosen backend has no lowering for",
    UNSUPPORTED_OPTION: "a value or option the chosen backend cannot honour",
    UNUSED_INPUT: "an input that no output depends on",
    DEAD_BRANCH: "layers that no output depends on",
    NO_LOSS: "no loss given (needed to train)",
    SHADOWED: "a tensor name that shadows a registered name",
    SUSPICIOUS: "a setting that is legal but probably a mistake",
    UPPER_CASE_VALUE: "an option value in upper case (padding=SAME), accepted as lower case",
    UNKNOWN_MONITOR: "a callback watches a quantity the spec does not log",
    STRINGS_TO_NUMBERS: "a string input fed to a layer that takes numbers",
    NUMBERS_TO_STRINGS: "numbers fed to a layer that takes strings",
    UNSCALED_INPUT: "nndsl run: an input far from unit scale that no layer rescales",
    TOO_LARGE_FOR_MEMORY: "the model's float32 weights and optimizer state exceed this machine's memory",
    RUN_TOO_LARGE_FOR_MEMORY: "nndsl run: a model whose weights and optimizer state exceed this machine's memory",
    SPACE_VALUE_SOMETIMES_INVALID: "a value of a search space that makes some checked models invalid",
    IMPORT_LEFT_OUT: "a Keras option that the imported spec leaves to the backend (nndsl import)",
}
