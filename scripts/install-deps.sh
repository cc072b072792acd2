#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian 12 machine (idempotent).
# usage: scripts/install-deps.sh [demo|test]   (default: test, everything)
#   demo: what `scripts/demo.sh` needs (building the Engine's native shim and libtorch);
#   test: that plus the test-only parts (servers, browser, reference Python).
set -euo pipefail
set_name="${1:-test}"
case "$set_name" in demo|test) ;; *) echo "usage: $0 [demo|test]" >&2; exit 2 ;; esac
command -v dotnet >/dev/null || { echo "the .NET 10 SDK is required (https://dot.net)" >&2; exit 1; }
# libtorch (CPU) and OpenBLAS: without libopenblas0-openmp libtorch falls back to the
# reference BLAS and small convolutions run ~2x slower.
packages=(libtorch-dev libopenblas0-openmp cmake g++)
# python3-onnx: the build compiles its onnx/onnx.proto (the ONNX importer, src/Engine/Models/Onnx),
# and tools/export_onnx_zoo.py writes the importer's parity models with it and torch.onnx.
packages+=(python3-onnx)
# The real photo folder (scripts/photos.sh): photographs from opencv-doc and python3-skimage.
packages+=(opencv-doc python3-skimage)
if [[ "$set_name" == test ]]; then
  # python3-torch/python3-torchvision (1.13/0.14, for /usr/bin/python3): the zoo's parity
  # tests compare VGG19 and InceptionV3 against torchvision (tools/parity_reference.py), and
  # tools/tiny_onnx.py exports the small ONNX model the farm's tests add.
  packages+=(python3-torch python3-torchvision)
  # The farm's integration tests start real servers (scripts/servers/*.sh): RabbitMQ,
  # PostgreSQL 15, and s3rver (Node; npm package installed into scripts/servers/s3rver).
  packages+=(rabbitmq-server postgresql)
  # The viewer's browser tests drive Debian's chromium with Microsoft.Playwright (Playwright's
  # own browser download cannot work here); wrk measures the viewer (docs/performance.md).
  packages+=(chromium wrk)
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[[ "$set_name" == test ]] || exit 0
s3rver_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/servers/s3rver"
if [[ ! -f "$s3rver_dir/node_modules/s3rver/bin/s3rver.js" ]]; then
  echo "installing: s3rver (npm, into scripts/servers/s3rver)" >&2
  npm ci --prefix "$s3rver_dir" --no-audit --no-fund --loglevel=error >/dev/null
fi
