# The GPU worker: the shim built against a CUDA build of libtorch (docs/engine.md, "CUDA
# builds": MICROSCOPE_TORCH_PREFIX is passed to CMake as CMAKE_PREFIX_PATH), the CLI
# published self-contained, on a CUDA runtime base. Build from the repository root:
#   docker build -f deploy/docker/worker-cuda.Dockerfile -t microscope/worker-cuda:0.1.0 .
# CUDA 12.8 needs an NVIDIA driver >= 570 on the GPU nodes.

ARG LIBTORCH_VERSION=2.8.0
ARG LIBTORCH_CUDA=cu128

FROM mcr.microsoft.com/dotnet/sdk:10.0.100-noble AS dotnet

FROM nvidia/cuda:12.8.1-cudnn-devel-ubuntu24.04 AS build
ARG LIBTORCH_VERSION
ARG LIBTORCH_CUDA
# python3-onnx: the build compiles its onnx/onnx.proto (the ONNX importer, src/Engine/Engine.csproj).
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake g++ curl unzip ca-certificates python3-onnx \
 && rm -rf /var/lib/apt/lists/*
RUN curl -fsSL -o /tmp/libtorch.zip \
      "https://download.pytorch.org/libtorch/${LIBTORCH_CUDA}/libtorch-cxx11-abi-shared-with-deps-${LIBTORCH_VERSION}%2B${LIBTORCH_CUDA}.zip" \
 && unzip -q /tmp/libtorch.zip -d /opt \
 && rm /tmp/libtorch.zip
COPY --from=dotnet /usr/share/dotnet /usr/share/dotnet
ENV PATH="/usr/share/dotnet:${PATH}" \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    MICROSCOPE_TORCH_PREFIX=/opt/libtorch
WORKDIR /src
COPY . .
RUN dotnet publish src/Cli/Cli.csproj -c Release -r linux-x64 --self-contained -o /app

FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS runtime
# The shim's RPATH names libtorch's library folder as it was at build time: same path here.
COPY --from=build /opt/libtorch/lib /opt/libtorch/lib
COPY --from=build /app /app
ENV MICROSCOPE_WORKER__DEVICE=cuda
USER 10001
# Prometheus metrics (Telemetry:WorkerMetricsUrl).
EXPOSE 9464
ENTRYPOINT ["/app/microscope"]
CMD ["worker"]
