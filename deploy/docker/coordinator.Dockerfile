# The coordinator (and `microscope migrate`): the microscope CLI with Ubuntu's CPU libtorch.
# The coordinator loads models to register them (descriptor, content hash), so it carries
# libtorch like the worker. Build from the repository root:
#   docker build -f deploy/docker/coordinator.Dockerfile -t microscope/coordinator:0.1.0 .
# The dev overlay runs its CPU workers on this image too (`microscope worker --device cpu`).

FROM mcr.microsoft.com/dotnet/sdk:10.0.100-noble AS build
# python3-onnx: the build compiles its onnx/onnx.proto (the ONNX importer, src/Engine/Engine.csproj).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libtorch-dev libopenblas0-openmp cmake g++ python3-onnx \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN dotnet publish src/Cli/Cli.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0.0-noble AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libtorch-dev libopenblas0-openmp \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app /app
USER 10001
EXPOSE 5080
# The same image runs CPU workers (the dev overlay): their Prometheus metrics port.
EXPOSE 9464
ENTRYPOINT ["/app/microscope"]
CMD ["coordinator"]
