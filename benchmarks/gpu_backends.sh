#!/usr/bin/env bash
# Keras backends side by side on a GPU machine that has JAX and PyTorch with CUDA but no
# TensorFlow and no internet (issue 16). About 5 minutes; prints the table benchmarks/README.md
# records under "Keras backends", plus nndsl's device and plan lines on each backend.
#
#   bash benchmarks/gpu_backends.sh            # from the repository root
#
# Keras, lark and pluggy (and whatever of Keras' own dependencies the machine lacks) travel as
# wheels in .whl/ at the repository root; they are installed with
#   pip install --no-index --no-deps --target /tmp/site .whl/*.whl
# On a machine with internet and the GPU machine's Python version, fetch them with:
#   pip download --no-deps -d .whl keras lark pluggy namex absl-py rich markdown-it-py mdurl pygments optree typing-extensions h5py packaging
# GPU_BACKENDS=jax or =torch runs one; BENCH_QUICK=1 shrinks every size (to try the script on a CPU).
set -uo pipefail
cd "$(dirname "$0")/.."
export NNDSL_OFFLINE=1 NNDSL_DISABLE_PLUGIN_AUTOLOAD=1 TF_CPP_MIN_LOG_LEVEL=2
BACKENDS=${GPU_BACKENDS:-jax,torch}
SIZES="--epochs 3 --repeats 2"
[ -n "${BENCH_QUICK:-}" ] && SIZES="--epochs 1 --repeats 1 --rows 2000"

if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install --quiet --upgrade --no-index --no-deps --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"

python3 - "$BACKENDS" <<'EOF' || exit 1
import importlib, importlib.util, sys
need = ["numpy", "lark", "pluggy", "absl", "rich", "namex", "h5py", "optree", "ml_dtypes", "packaging"]
missing = []
for name in need + sys.argv[1].split(","):
    try:
        importlib.import_module(name)
    except ImportError as e:
        missing.append(f"{name} ({e})")
if missing:
    sys.exit("missing: " + "; ".join(missing) + "\nput their wheels in .whl/ (see the top of this script)")
print("tensorflow installed:", importlib.util.find_spec("tensorflow") is not None)
EOF

for b in ${BACKENDS//,/ }; do
  echo "=== $b: nndsl run (device and plan lines) ==="
  out="$(mktemp -d)/run"
  KERAS_BACKEND=$b timeout 120 python3 -m nndsl.cli run spec/examples/mnist_mlp.nn --epochs 3 \
      --out "$out" 2>&1 | grep -E "^(device|training|warning|test|[0-9]+ epochs)|rror"
  if ! grep -q '"kind": "GPU"' "$out/metrics.json" 2>/dev/null; then
    echo "warning: $b did not train on a GPU (see the device line above)"
  fi
done

echo "=== side by side (keras = a tutorial's fit; nndsl = nndsl's plan) ==="
timeout 360 python3 benchmarks/train.py --backends "$BACKENDS" --device-peak --models mlp,convnet,wide \
    $SIZES 2>&1 | grep -vE "^(I0000|WARNING: All log)"
echo "=== jax: steps_per_execution 16 and 64 on the seed model (nndsl's JAX default is 1) ==="
case ",$BACKENDS," in *,jax,*)
  for spe in 16 64; do
    KERAS_BACKEND=jax timeout 90 python3 benchmarks/train.py --models mlp $SIZES --device-peak \
        --plan steps_per_execution=$spe 2>&1 | grep -E "nndsl plan|^  (keras|nndsl) "
  done;;
esac
