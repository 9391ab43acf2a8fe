"""In a checkout the example is not pip-installed: make its package importable."""

import os
import sys

try:
    import nndsl_numpy  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
