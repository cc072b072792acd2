#!/usr/bin/env bash
# Prepares, on a machine with the .NET SDK, what scripts/gpu/check.sh needs on a GPU machine
# that has no .NET and no network: one file, .gpu/bundle.tar.xz (ignored by git; the `run`
# tool carries it with `carry: [".gpu"]`), holding
#   dotnet/  the .NET runtime this SDK runs on (host, Microsoft.NETCore.App, Microsoft.AspNetCore.App),
#   cli/     the microscope CLI (framework-dependent Release build),
#   tests/   the Engine tests (Release build),
#   xunit/   xunit's console runner (NuGet xunit.runner.console 2.4.1, netcoreapp2.0 build,
#            rolled forward to this runtime): xunit v2 test projects are no executables.
# The libtorch shim inside is this machine's; check.sh replaces it with one built there.
# The bundle must stay small enough to travel with the working tree (64 MiB in all): this
# script fails above 56 MiB (measured: 41 MiB). Usage: scripts/gpu/prepare.sh   (docs/performance.md, "GPU check")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="$root/.gpu"
limit_mib=56
runner_version=2.4.1

command -v dotnet >/dev/null || { echo "prepare: no dotnet: this runs where the .NET SDK is" >&2; exit 1; }
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

echo "prepare: building (Release)"
dotnet build src/Cli/Cli.csproj -c Release -nologo -v quiet -o "$stage/cli"
dotnet build tests/Engine.Tests/Engine.Tests.csproj -c Release -nologo -v quiet

cp -r tests/Engine.Tests/bin/Release/net10.0 "$stage/tests"

# The runtime: the frameworks the CLI's runtimeconfig names, in the versions installed here.
mkdir -p "$stage/dotnet/shared" "$stage/dotnet/host"
cp "$dotnet_root/dotnet" "$stage/dotnet/"
cp -r "$dotnet_root/host/fxr" "$stage/dotnet/host/"
for framework in $(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["runtimeOptions"]; print(" ".join(f["name"] for f in c.get("frameworks", [c.get("framework")]) if f))' "$stage/cli/microscope.runtimeconfig.json") Microsoft.NETCore.App; do
  [[ -d "$stage/dotnet/shared/$framework" ]] && continue
  version="$(ls "$dotnet_root/shared/$framework" | sort -V | tail -1)"
  [[ -n "$version" ]] || { echo "prepare: framework $framework is not installed under $dotnet_root" >&2; exit 1; }
  mkdir -p "$stage/dotnet/shared/$framework"
  cp -r "$dotnet_root/shared/$framework/$version" "$stage/dotnet/shared/$framework/"
done

# xunit's console runner, restored through NuGet like every other package.
runner_project="$stage/restore-runner"
mkdir -p "$runner_project"
cat > "$runner_project/restore-runner.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
  <ItemGroup><PackageDownload Include="xunit.runner.console" Version="[$runner_version]" /></ItemGroup>
</Project>
XML
dotnet restore "$runner_project" -nologo -v quiet
packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
cp -r "$packages/xunit.runner.console/$runner_version/tools/netcoreapp2.0" "$stage/xunit"
rm -rf "$runner_project"
# Built for .NET Core 2.0: let it run on the carried runtime.
python3 - "$stage/xunit/xunit.console.runtimeconfig.json" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["runtimeOptions"]["rollForward"] = "LatestMajor"
json.dump(config, open(path, "w"), indent=2)
PY

# Not needed there: resnet18's ONNX files (45 MB), symbols, other platforms' native libraries,
# and ONNX Runtime (28 MB), the oracle of the ONNX parity tests, which check.sh does not run.
rm -rf "$stage"/cli/models "$stage"/tests/models "$stage"/tests/runtimes
find "$stage/cli" "$stage/tests" -name '*.pdb' -delete
[[ -d "$stage/cli/runtimes" ]] && find "$stage/cli/runtimes" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +

mkdir -p "$out"
rm -f "$out/bundle.tar.xz"
XZ_OPT="-6 -T0" tar -cJf "$out/bundle.tar.xz" -C "$stage" dotnet cli tests xunit
size=$(stat -c %s "$out/bundle.tar.xz")
tracked=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s}')
echo "prepare: $out/bundle.tar.xz $((size / 1048576)) MiB (unpacked $(du -sm "$stage" | cut -f1) MiB); tracked files $((tracked / 1048576)) MiB"
if ((size > limit_mib * 1048576)); then
  echo "prepare: the bundle is over ${limit_mib} MiB: it would not travel with the working tree (64 MiB in all)" >&2
  exit 1
fi
