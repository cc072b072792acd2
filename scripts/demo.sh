#!/usr/bin/env bash
# The single-machine demo (README): installs what it needs, then runs the whole farm in one
# process (`microscope demo`: coordinator, one worker, status page; in-memory transport,
# SQLite, a folder as the object store) and sweeps every op, channel and neuron of the demo
# model. DEMO_STEPS / DEMO_SIZE change steps (128) and image size (64 px); other options
# pass through, e.g. `./scripts/demo.sh --exit` to stop when the sweep is done.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/install-deps.sh
exec ./microscope demo "$@"
