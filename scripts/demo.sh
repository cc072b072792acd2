#!/usr/bin/env bash
# The single-machine demo (README): installs what it needs (not the test-only servers and
# browser), then runs the whole farm in one process (`microscope demo`: coordinator, one
# worker, the viewer; in-memory transport, SQLite, a folder as the object store), sweeps
# every op, channel and neuron of the demo model, then renders a sample of a trained model
# (DEMO_SAMPLE, default resnet18: channels 0-7 of 5 ops, 256 steps at 128 px) so the viewer
# shows real ImageNet features. DEMO_STEPS / DEMO_SIZE change the demo sweep's steps (128)
# and image size (64 px), SAMPLE_STEPS / SAMPLE_SIZE the sample's; DEMO_SAMPLE= (empty)
# skips it. Other options pass through, e.g. `./scripts/demo.sh --exit` to stop when done.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v dotnet >/dev/null || { echo "the .NET 10 SDK is required (https://dot.net)" >&2; exit 1; }
./scripts/install-deps.sh demo
sample=("--sample" "${DEMO_SAMPLE-resnet18}")
[[ -n "${DEMO_SAMPLE-resnet18}" ]] || sample=()
exec ./microscope demo "${sample[@]}" "$@"
