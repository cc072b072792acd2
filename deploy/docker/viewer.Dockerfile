# The viewer (`microscope viewer`): the same CLI; it reads the catalogue (PostgreSQL) and the
# object store and forwards write actions to the coordinator. Build from the repository root:
#   docker build -f deploy/docker/viewer.Dockerfile -t microscope/viewer:0.1.0 .

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
EXPOSE 5081
ENTRYPOINT ["/app/microscope"]
CMD ["viewer"]
