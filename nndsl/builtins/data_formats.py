"""Built-in data formats: what ``data "PATH"`` reads, registered like a plugin's.

* ``arrays``: ``.npz`` archives and ``.npy`` pairs (:mod:`nndsl.datasets`).
* ``csv``: a header row and rows of numbers; ``label=`` names the label column.
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

CSV_PARAMS = (
    Param("label", Name(), default=None, doc="label column of a CSV file (default: the last column)"),
)


@hookimpl
def nndsl_data_formats():
    return [
        DataFormatDef("arrays", _arrays, suffixes=(".npz", ".npy"),
                      doc="NumPy arrays: x and y (x_train, y_test, x_NAME, ...) in an .npz, or an x/y .npy pair"),
        DataFormatDef("csv", _arrays, suffixes=(".csv",), params=CSV_PARAMS,
                      doc="a header row naming the columns, then rows of numbers"),
        DataFormatDef("folder", _folder, folder=True, params=FOLDER_PARAMS,
                      doc="one subfolder per class: images (.png .jpg .jpeg .gif .bmp), or .txt files for a "
                          "dtype=string input"),
    ]
