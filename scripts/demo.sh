#!/usr/bin/env bash
# The single-machine demo (README): installs what it needs, then renders every channel of
# every convolutional op of the demo model, one contact sheet per op, into out/demo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/install-deps.sh
out="${1:-$root/out/demo}"
steps="${DEMO_STEPS:-128}"
size="${DEMO_SIZE:-64}"
./microscope models
for op in conv1 conv2 conv3 conv4 conv5; do
  ./microscope render --model demo --op "$op" --all-units --technique channel --steps "$steps" --size "$size" --out "$out/$op" --sheet | tail -1
done
echo "contact sheets: $out/*/demo_*_channel_sheet.png"
