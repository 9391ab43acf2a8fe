"""Built-in data formats: what ``data "PATH"`` reads, registered like a plugin's.

* ``arrays``: ``.npz`` archives and ``.npy`` pairs (:mod:`nndsl.datasets`).
* ``csv`` and ``parquet``: tables whose columns feed inputs by name (:mod:`nndsl.data.tables`).
* ``folder``: class-per-subfolder images, or ``.txt`` files for a ``dtype=string`` input
  (:mod:`nndsl.data.folders`), read from disk while training.

The loaders are imported when ``run`` calls them, so ``nndsl check`` stays light.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..params import Choice, IntTuple, Name, Optional, Param
from ..registry import DataFormatDef


def _arrays(*args, **kwargs):
    from ..data import prepare_arrays

    return prepare_arrays(*args, **kwargs)


def _table(*args, **kwargs):
    from ..data.tables import prepare_table

    return prepare_table(*args, **kwargs)


def _folder(*args, **kwargs):
    from ..data.folders import prepare_folder

    return prepare_folder(*args, **kwargs)


FOLDER_PARAMS = (
    Param("image_size", Optional(IntTuple(2, min=1)), default=None,
          doc="(height, width) the images are resized to (default: the input's)"),
    Param("color_mode", Optional(Choice(("grayscale", "rgb", "rgba"))), default=None,
          doc="channels to decode to (default: from the input's last dimension, 1/3/4)"),
    Param("bad_files", Choice(("stop", "skip")), default="stop",
          doc="an unreadable or non-image file stops the run (stop) or is left out with a warning (skip)"),
)

TABLE_PARAMS = (
    Param("label", Name(), default=None,
          doc="the label column (default: the last column); with several outputs, the columns named like them"),
    Param("missing", Optional(Choice(("stop", "drop", "fill"))), default=None,
          doc="missing values stop the run with counts per column (stop, the default), leave their rows out "
              "(drop), or are filled: the training rows' mean, an empty string for words (fill)"),
    Param("stream", Optional(Choice(("auto", "true", "false"))), default=None,
          doc="read the table from disk while training (true), load it into memory (false), or stream tables "
              "over 256 MiB (auto, the default)"),
)


@hookimpl
def nndsl_data_formats():
    return [
        DataFormatDef("arrays", _arrays, suffixes=(".npz", ".npy"),
                      doc="NumPy arrays: x and y (x_train, y_test, x_NAME, ...) in an .npz, or an x/y .npy pair"),
        DataFormatDef("csv", _table, suffixes=(".csv",), params=TABLE_PARAMS,
                      doc="a header row naming the columns, then rows; each input is fed by the column of its name "
                          "(numbers, or words for a dtype=string input), or one input by every column but the label"),
        DataFormatDef("parquet", _table, suffixes=(".parquet", ".pq"), params=TABLE_PARAMS,
                      doc="a Parquet table, read like a CSV file (needs pip install nndsl[parquet])"),
        DataFormatDef("folder", _folder, folder=True, params=FOLDER_PARAMS,
                      doc="one subfolder per class: images (.png .jpg .jpeg .gif .bmp), or .txt files for a "
                          "dtype=string input"),
    ]
