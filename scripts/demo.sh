#!/usr/bin/env bash
# The single-machine demo (README): installs what it needs (not the test-only servers and
# browser), then runs the whole farm in one process (`microscope demo`: coordinator, one
# worker, the viewer; in-memory transport, SQLite, a folder as the object store), sweeps
# every op, channel and neuron of the demo model, then renders a sample of a trained model
# (DEMO_SAMPLE, default resnet18: channels 0-7 of the last block of each of its 4 stages,
# ReLU283/315/347/393, 256 steps at 128 px) so the viewer shows real ImageNet features. DEMO_STEPS / DEMO_SIZE change the demo sweep's steps (128)
# and image size (64 px), SAMPLE_STEPS / SAMPLE_SIZE the sample's; DEMO_SAMPLE= (empty)
# skips it. Other options pass through, e.g. `./scripts/demo.sh --exit` to stop when done.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v dotnet >/dev/null || { echo "the .NET 10 SDK is required (https://dot.net)" >&2; exit 1; }
./scripts/install-deps.sh demo
sample_model="${DEMO_SAMPLE-resnet18}"
sample=()
if [[ "$sample_model" == resnet18 ]]; then
  sample=(--sample resnet18 --sample-op ReLU283 --sample-op ReLU315 --sample-op ReLU347 --sample-op ReLU393)
elif [[ -n "$sample_model" ]]; then
  sample=(--sample "$sample_model")
fi
exec ./microscope demo "${sample[@]}" "$@"
