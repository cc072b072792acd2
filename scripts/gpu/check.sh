#!/usr/bin/env bash
# The GPU check (issue 11): on a lent GPU machine (CUDA, cmake, python3 with PyTorch, NO .NET,
# no network), in under 8 minutes:
#   1. builds the libtorch shim against python3's torch (its CMake prefix);
#   2. runs the Engine tests that matter on the device (render, determinism, gradient checks,
#      a CUDA render and InceptionV1 activations against the CPU's);
#   3. prints the benchmark: InceptionV1 at conv2d2, mixed4a, mixed5b, batch 32, fp32, then TF32 and bf16.
# The .NET side comes prepared from a machine with the SDK: scripts/gpu/prepare.sh writes
# .gpu/bundle.tar.xz (the .NET runtime, the CLI, the Engine tests and xunit's console runner).
# `--device cpu` runs the same steps against this machine's CPU libtorch with a small bench:
# the dry run that tests the script where no GPU is (docs/performance.md, "GPU check").
# Every step has a time limit and fails with what is missing. Logs go to the work folder;
# where $OUT is set (the `run` tool brings back at most 8 files from it), the bench table and
# JSON and one archive of every log are copied there at the end.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
device=cuda
bundle="$root/.gpu/bundle.tar.xz"
work="${MICROSCOPE_GPU_WORK:-/tmp/microscope-gpu}"
budget=${MICROSCOPE_GPU_BUDGET_S:-450}   # the whole check; a larger one stretches every step's limit alike
steps=20
while (($#)); do
  case "$1" in
    --device) device="${2:?--device needs cpu or cuda}"; shift 2 ;;
    --bundle) bundle="${2:?--bundle needs a path}"; shift 2 ;;
    --steps) steps="${2:?--steps needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "gpu check: unknown argument '$1' (--device cpu|cuda, --bundle FILE, --steps N)" >&2; exit 2 ;;
  esac
done
[[ "$device" == cpu || "$device" == cuda ]] || { echo "gpu check: --device must be cpu or cuda, not '$device'" >&2; exit 2; }

logs="$work/logs"
rm -rf "$logs" && mkdir -p "$logs"
start=$SECONDS
failures=()
fail() { echo "gpu check: FAILED: $*" >&2; failures+=("$*"); }
die() { fail "$*"; summary; exit 1; }
left() { echo $((budget - (SECONDS - start))); }
# Runs a step under the time that is left (at most $2 seconds, scaled with the budget: a
# dry run on a loaded CPU gets more), output to the terminal and a log.
step() {
  local name="$1" limit=$(($2 * budget / 450)); shift 2
  local l; l=$(left)
  ((l < limit)) && limit=$l
  ((limit > 5)) || { fail "$name: no time left of the ${budget} s budget"; return 1; }
  echo "== $name (limit ${limit} s, $((SECONDS - start)) s in)"
  local t0=$SECONDS
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$logs/$name.log"
  local rc=${PIPESTATUS[0]}
  ((rc == 124 || rc == 137)) && echo "   $name ran past ${limit} s and was stopped" | tee -a "$logs/$name.log"
  echo "   $name: exit $rc after $((SECONDS - t0)) s"
  return "$rc"
}
summary() {
  echo "== summary ($device, $((SECONDS - start)) s)"
  if ((${#failures[@]} == 0)); then echo "gpu check: all steps passed"; else printf 'gpu check: failed: %s\n' "${failures[@]}"; fi
  if [[ -n "${OUT:-}" ]]; then
    cp "$logs"/bench-*.json "$logs"/bench-table.txt "$OUT/" 2>/dev/null
    tar -czf "$OUT/gpu-check-logs.tar.gz" -C "$work" logs && echo "logs: \$OUT/gpu-check-logs.tar.gz"
  fi
}

# ---- 0. what the machine must have -----------------------------------------------------
missing=()
for tool in cmake tar python3 timeout; do command -v "$tool" >/dev/null || missing+=("$tool"); done
command -v c++ >/dev/null || command -v g++ >/dev/null || missing+=("a C++ compiler (c++ or g++)")
[[ -f "$bundle" ]] || missing+=("the .NET bundle $bundle (run scripts/gpu/prepare.sh on a machine with the .NET SDK, then carry .gpu)")
((${#missing[@]} == 0)) || die "missing: ${missing[*]}"

if [[ "$device" == cuda ]]; then
  timeout 30 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || die "nvidia-smi finds no GPU"
  # python3's PyTorch carries libtorch's headers, libraries and CMake config.
  torch_info="$(timeout 120 python3 -c 'import torch; print(torch.__version__); print(torch.utils.cmake_prefix_path); print(torch.cuda.is_available())' 2>"$logs/torch.log")" \
    || die "python3 cannot import torch: $(tail -3 "$logs/torch.log")"
  torch_version="$(sed -n 1p <<<"$torch_info")"
  prefix="${MICROSCOPE_TORCH_PREFIX:-$(sed -n 2p <<<"$torch_info")}"
  [[ "$(sed -n 3p <<<"$torch_info")" == True ]] || die "python3's torch $torch_version sees no CUDA device"
  echo "torch $torch_version, CMake prefix $prefix"
else
  # The dry run: Debian's libtorch-dev (found by CMake without a prefix) unless one is given.
  prefix="${MICROSCOPE_TORCH_PREFIX:-}"
  torch_version="$(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo unknown)"
fi

# ---- 1. the .NET side, unpacked -----------------------------------------------------------
rm -rf "$work/bundle" && mkdir -p "$work/bundle"
if command -v xz >/dev/null; then unpack=(tar -xJf "$bundle" -C "$work/bundle")
else unpack=(python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$bundle" "$work/bundle"); fi  # no xz: Python's lzma
step unpack 120 "${unpack[@]}" || die "cannot unpack $bundle"
for need in dotnet/dotnet cli/microscope.dll tests/Microscope.Engine.Tests.dll xunit/xunit.console.dll; do
  [[ -e "$work/bundle/$need" ]] || die "the bundle lacks $need (rebuild it with scripts/gpu/prepare.sh)"
done
export DOTNET_ROOT="$work/bundle/dotnet" DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
# GPU images often lack ICU; the Engine formats numbers with the invariant culture anyway.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
dotnet="$DOTNET_ROOT/dotnet"
step dotnet-runtime 60 "$dotnet" --list-runtimes || die "the carried .NET runtime does not start here"

# ---- 2. the shim against this machine's libtorch ----------------------------------------------
cmake_args=(-S "$root/src/Engine/native" -B "$work/native" -DCMAKE_BUILD_TYPE=Release)
[[ -n "$prefix" ]] && cmake_args+=("-DCMAKE_PREFIX_PATH=$prefix")
command -v ninja >/dev/null && cmake_args+=(-G Ninja)
if [[ "$device" == cuda ]]; then
  # Torch's CMake config looks for the CUDA toolkit; point it at nvcc when PATH lacks it.
  nvcc="$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)"
  [[ -n "$nvcc" ]] && cmake_args+=("-DCMAKE_CUDA_COMPILER=$nvcc" "-DCUDAToolkit_ROOT=$(dirname "$(dirname "$nvcc")")")
  export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
  # PyTorch's headers need C++20 from 2.12 on.
  python3 -c 'import sys, torch; v = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]); sys.exit(0 if v >= (2, 12) else 1)' \
    && cmake_args+=(-DCMAKE_CXX_STANDARD=20)
fi
rm -rf "$work/native"
step shim-configure 180 cmake "${cmake_args[@]}" || die "CMake cannot configure the shim against libtorch at '${prefix:-the system}' (log: $logs/shim-configure.log)"
step shim-build 300 cmake --build "$work/native" -j "$(nproc)" || die "the shim does not compile against torch $torch_version (log: $logs/shim-build.log)"
shim="$work/native/libmicroscope_torch.so"
unresolved="$(ldd "$shim" | grep 'not found' || true)"
[[ -z "$unresolved" ]] || die "the shim's libraries are not found: $unresolved"
if [[ "$device" == cuda ]]; then
  ldd "$shim" | grep -q 'libtorch_cuda' || die "the shim is not linked to libtorch_cuda.so (the linker dropped it: CUDA would be invisible)"
fi
cp "$shim" "$work/bundle/cli/" && cp "$shim" "$work/bundle/tests/"

# ---- 3. the Engine tests on the device --------------------------------------------------------
# Render (quality, determinism, leaks), gradient checks of every op the renders use, and the
# device against the CPU (a render; InceptionV1 activations and input gradients).
export MICROSCOPE_TEST_DEVICE="$device"
tests_ok=1
step engine-tests 300 "$dotnet" "$work/bundle/xunit/xunit.console.dll" "$work/bundle/tests/Microscope.Engine.Tests.dll" \
  -class Microscope.Engine.Tests.RenderTests -class Microscope.Engine.Tests.DeviceParityTests \
  -class Microscope.Engine.Tests.TensorBindingTests -parallel none -noshadow -nocolor -verbose \
  -xml "$logs/engine-tests.xml" || { tests_ok=0; fail "engine tests on $device (log: $logs/engine-tests.log)"; }
unset MICROSCOPE_TEST_DEVICE

# ---- 4. the benchmark ---------------------------------------------------------------------------
# The catalogue's standard: InceptionV1 (random weights: speed does not depend on them) at
# batch 32 and its input size, fp32 (TF32 off: the shim's default), then TF32, then bf16 convolutions.
bench=(bench --model inceptionv1 --random-weights 0 --op conv2d2 --op mixed4a --op mixed5b --json)
if [[ "$device" == cuda ]]; then bench+=(--batch 32 --device cuda --steps "$steps")
else bench+=(--batch 2 --device cpu --steps 1 --size 96); fi   # the dry run: parsing, not speed
# The JSON (stdout) goes to its own file; progress (stderr) to the log.
bench_to() { local json="$1"; shift; "$@" > "$json"; }
export -f bench_to
cli=("$dotnet" "$work/bundle/cli/microscope.dll")
bench_ok=1
step bench-fp32 240 bash -c 'bench_to "$@"' _ "$logs/bench-fp32.json" env MICROSCOPE_TF32=0 "${cli[@]}" "${bench[@]}" \
  || { bench_ok=0; fail "bench fp32 (log: $logs/bench-fp32.log)"; }
jsons=("$logs/bench-fp32.json")
if [[ "$device" == cuda ]]; then
  step bench-tf32 180 bash -c 'bench_to "$@"' _ "$logs/bench-tf32.json" env MICROSCOPE_TF32=1 "${cli[@]}" "${bench[@]}" \
    && jsons+=("$logs/bench-tf32.json") || fail "bench tf32 (log: $logs/bench-tf32.log)"
  # bf16 convolutions (float32 everywhere else), the CPU's opt-in: whether cuDNN gains as much.
  step bench-bf16 150 bash -c 'bench_to "$@"' _ "$logs/bench-bf16.json" env MICROSCOPE_TF32=0 "${cli[@]}" "${bench[@]}" --precision bf16 \
    && jsons+=("$logs/bench-bf16.json") || fail "bench bf16 (log: $logs/bench-bf16.log)"
fi
if ((bench_ok)); then
  python3 "$root/scripts/gpu/bench_table.py" "${jsons[@]}" | tee "$logs/bench-table.txt"
  ((PIPESTATUS[0] == 0)) || fail "the bench output could not be read ($logs/bench-fp32.json)"
fi

summary
((${#failures[@]} == 0))
