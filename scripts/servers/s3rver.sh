#!/usr/bin/env bash
# s3rver (an S3-compatible server in Node) on 127.0.0.1 for tests and local runs, in the
# foreground (the caller owns the process). Credentials: S3RVER / S3RVER.
#   s3rver.sh DIR PORT
# Installed by scripts/install-deps.sh into scripts/servers/s3rver/node_modules.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:?data folder}"; port="${2:?port}"
mkdir -p "$dir"
exec node "$here/s3rver/node_modules/s3rver/bin/s3rver.js" --directory "$dir" --address 127.0.0.1 --port "$port" --no-vhost-buckets --silent
