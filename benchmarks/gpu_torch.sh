#!/usr/bin/env bash
# The torch backend on a GPU machine that has CUDA PyTorch but no TensorFlow and no internet.
#
#   bash benchmarks/gpu_torch.sh                 # from a checkout of this repository
#   WHEELS=/path/to/wheels bash benchmarks/gpu_torch.sh   # lark/pluggy/numpy wheels if missing there
#
# It makes a virtual environment that sees the machine's PyTorch (--system-site-packages),
# installs nndsl without its TensorFlow dependency (--no-deps) and the nndsl-torch plugin, then
# trains the seed spec (spec/examples/mnist_mlp.nn) and the convnet (mnist_convnet.nn) with
# `nndsl run --backend torch` on the bundled 5,000 digits (NNDSL_OFFLINE=1: no download), and
# prints the device, samples/s and test accuracy of each, and whether TensorFlow was imported
# (it must not be). What nndsl needs besides PyTorch: lark, pluggy and numpy (Keras is not used).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VENV:-/tmp/nndsl-gpu-torch}
WHEELS=${WHEELS:-$ROOT/wheels}
OUT=${OUT:-/tmp/nndsl-gpu-torch-runs}
PY=${PYTHON:-python3}

"$PY" -c "import torch" 2>/dev/null || { echo "PyTorch is not importable by $PY: install it first"; exit 2; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv --system-site-packages "$VENV"
VPY="$VENV/bin/python"
missing=$("$VPY" - <<'EOF'
import importlib.util
print(" ".join(m for m in ("lark", "pluggy", "numpy") if importlib.util.find_spec(m) is None))
EOF
)
if [ -n "$missing" ]; then
    echo "installing $missing (from $WHEELS when it exists, else the index)"
    if [ -d "$WHEELS" ]; then
        "$VPY" -m pip install --quiet --no-index --find-links "$WHEELS" $missing
    else
        "$VPY" -m pip install --quiet $missing
    fi
fi
# --no-deps: no tensorflow; --no-build-isolation: no download of setuptools (the venv's own is used).
# An old setuptools (< 77) cannot read pyproject.toml's license: then run from the checkout instead,
# with the plugin registered by hand below (the same registry the entry point would give).
if ! "$VPY" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT" -e "$ROOT/plugins/nndsl-torch" \
        >"$VENV/pip.log" 2>&1; then
    echo "pip could not install nndsl here (see $VENV/pip.log); running from the checkout"
    export PYTHONPATH="$ROOT:$ROOT/plugins/nndsl-torch${PYTHONPATH:+:$PYTHONPATH}"
fi

export NNDSL_OFFLINE=1
rm -rf "$OUT"
mkdir -p "$OUT"
"$VPY" - "$ROOT" "$OUT" <<'EOF'
import json
import os
import sys

import torch

from nndsl.plugins import build_registry, get_plugin_manager
from nndsl.run import RunOptions, run

root, out = sys.argv[1], sys.argv[2]
pm = get_plugin_manager()
if not pm.pm.has_plugin("torch"):  # not pip-installed: register the plugin module by hand
    from nndsl_torch import plugin

    pm.register(plugin, "torch", distribution="nndsl-torch")
registry = build_registry(pm)
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, available: {torch.cuda.is_available()}"
      + (f", {torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))
rows = []
for name in ("mnist_mlp", "mnist_convnet"):
    run_dir = os.path.join(out, name)
    run(os.path.join(root, "spec", "examples", f"{name}.nn"), RunOptions(backend="torch", seed=0, out=run_dir),
        registry)
    m = json.load(open(os.path.join(run_dir, "metrics.json")))
    rows.append((name, m["device"]["description"], m["samples_per_second"], m["test"].get("accuracy"),
                 m["epochs"], m["fit_time_s"]))
imported = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
print()
print(f"{'spec':<15} {'device':<40} {'samples/s':>10} {'test acc':>9} {'epochs':>6} {'fit s':>7}")
for name, device, sps, acc, epochs, fit in rows:
    print(f"{name:<15} {device[:40]:<40} {sps or 0:>10,.0f} {acc:>9.4f} {epochs:>6} {fit:>7.1f}")
print(f"TensorFlow/Keras imported: {imported or 'no'}")
sys.exit(1 if imported else 0)
EOF
