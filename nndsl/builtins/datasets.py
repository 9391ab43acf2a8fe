"""Built-in data sets: ``data mnist``.

MNIST comes from Keras' own loader (``keras.datasets.mnist.load_data``: its cache first, then
a download). Where that cannot be had (no network, no cache, ``NNDSL_OFFLINE=1``) it falls
back to the 5,000-digit subset shipped in ``nndsl/data/mnist_5k.npz`` (see the README
there for its provenance), and says so in ``RawData.source``. Without a network it never
waits long: the cache file is looked for first, and a download is only tried once a
connection to the download host opened within a few seconds.

NumPy and Keras are imported inside the loader, so ``nndsl check`` stays light.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading

from ..hookspecs import hookimpl
from ..registry import DatasetDef

OFFLINE_ENV = "NNDSL_OFFLINE"
MNIST_HOST = "storage.googleapis.com"
CONNECT_TIMEOUT_S = 3.0
DOWNLOAD_SOCKET_TIMEOUT_S = 15.0
BUNDLED_MNIST = "mnist_5k.npz"


def offline() -> bool:
    """``NNDSL_OFFLINE`` set to anything but empty/0/false: never touch the network."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def keras_mnist_cache() -> str:
    """Where Keras keeps mnist.npz: ``$KERAS_HOME`` or ``~/.keras`` (``/tmp/.keras`` if home is read-only)."""
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return os.path.join(home, "datasets", "mnist.npz")


def _reachable(host: str, port: int, timeout: float) -> bool:
    """Can a TCP connection open within ``timeout`` seconds (name lookup included)?"""
    result: list[bool] = []

    def attempt() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=attempt, daemon=True)  # a hung DNS lookup is abandoned, not awaited
    worker.start()
    worker.join(timeout + 0.5)
    return bool(result and result[0])


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _stamp(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _from_keras():
    import keras  # lazily: only `run` with `data mnist` pays for it

    from ..datasets import RawData

    before = _stamp(keras_mnist_cache())
    with _socket_timeout(DOWNLOAD_SOCKET_TIMEOUT_S):
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    # Keras re-downloads a cached file whose hash is wrong: say which actually happened.
    how = "Keras cache" if before is not None and _stamp(keras_mnist_cache()) == before else "downloaded by Keras"
    return RawData(x_train, y_train, x_test, y_test,
                   f"MNIST ({how}, {len(x_train):,} + {len(x_test):,})")


def load_bundled_mnist(reason: str):
    """The 5,000-digit subset shipped with nndsl (sorted by class: shuffle before splitting)."""
    from importlib import resources

    from ..datasets import DataError, RawData, load_file

    ref = resources.files("nndsl") / "data" / BUNDLED_MNIST
    with resources.as_file(ref) as path:
        if not os.path.exists(path):
            raise DataError(f"MNIST is unavailable ({reason}) and the bundled subset {path} is missing",
                            "reinstall nndsl, or put mnist.npz into Keras' cache: " + keras_mnist_cache())
        raw = load_file(str(path), shown=f"nndsl/data/{BUNDLED_MNIST}")
    return RawData(raw.x_train, raw.y_train, None, None,
                   f"bundled MNIST subset ({len(raw.x_train):,} digits, offline fallback: {reason})")


def load_mnist():
    """Full MNIST through Keras when it can be had quickly, else the bundled subset."""
    if offline():
        return load_bundled_mnist(f"{OFFLINE_ENV} is set")
    cached = os.path.exists(keras_mnist_cache())
    if not cached and not _reachable(MNIST_HOST, 443, CONNECT_TIMEOUT_S):
        return load_bundled_mnist(f"not in Keras' cache ({keras_mnist_cache()}) and {MNIST_HOST} "
                                  "cannot be reached")
    try:
        return _from_keras()
    except Exception as exc:  # noqa: BLE001 - any failure of the download path means: fall back
        return load_bundled_mnist(f"Keras' loader failed: {type(exc).__name__}: {str(exc)[:200]}")


@hookimpl
def nndsl_datasets():
    return [DatasetDef("mnist", load_mnist,
                       doc="MNIST digits (Keras' loader; offline: the bundled 5,000-digit subset)")]
