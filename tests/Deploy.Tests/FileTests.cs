using System.Globalization;
using System.Text.RegularExpressions;

namespace Microscope.Deploy.Tests;

/// <summary>The kustomizations and container files as files.</summary>
public sealed class FileTests
{
    public static TheoryData<string> Overlays => new(RepositoryPaths.OverlayNames);

    [Theory, MemberData(nameof(Overlays))]
    public void Every_file_a_kustomization_names_exists(string overlay)
    {
        foreach (var (kustomization, path) in Kustomize.ReferencedFiles(RepositoryPaths.Overlay(overlay)))
            Assert.True(Kustomize.ExistingOrExample(path) is not null, $"{kustomization} names {path}, which does not exist");
    }

    [Fact]
    public void Every_base_manifest_is_in_the_base_kustomization()
    {
        var listed = Kustomize.ReferencedFiles(RepositoryPaths.Base).Select(r => Path.GetFileName(r.Path)).ToHashSet();
        foreach (var file in Directory.EnumerateFiles(RepositoryPaths.Base, "*.yaml").Select(f => Path.GetFileName(f)).Where(f => f != "kustomization.yaml"))
            Assert.Contains(file, listed);
    }

    [Fact]
    public void Only_examples_of_prod_credentials_are_committed()
    {
        var secrets = Path.Combine(RepositoryPaths.Overlay("prod"), "secrets");
        var ignore = File.ReadAllText(Path.Combine(RepositoryPaths.Overlay("prod"), ".gitignore"));
        Assert.Contains("secrets/*.secret.env", ignore, StringComparison.Ordinal);
        foreach (var example in Directory.EnumerateFiles(secrets, "*.example"))
            Assert.All(Kustomize.ReadEnvFile(example).Values, v => Assert.Contains("CHANGE-ME", v, StringComparison.Ordinal));
    }

    public static TheoryData<string> ContainerFiles => new(Directory.EnumerateFiles(RepositoryPaths.Docker, "*.Dockerfile").Select(Path.GetFileName)!);

    [Theory, MemberData(nameof(ContainerFiles))]
    public void Container_files_are_multi_stage_and_pin_their_base_images(string file)
    {
        var problems = ContainerFile.Problems(Path.Combine(RepositoryPaths.Docker, file));
        Assert.Empty(problems);
    }

    [Theory, MemberData(nameof(ContainerFiles))]
    public void Host_build_outputs_stay_out_of_the_build_context(string file)
    {
        // COPY . . from the repository root would otherwise carry obj/ (the host's shim) along.
        var ignore = Path.Combine(RepositoryPaths.Docker, file + ".dockerignore");
        Assert.True(File.Exists(ignore), $"{file} has no {file}.dockerignore beside it");
        var patterns = File.ReadAllLines(ignore).Select(l => l.Trim()).ToHashSet();
        Assert.Contains("**/obj/", patterns);
        Assert.Contains("**/bin/", patterns);
        Assert.Contains("artifacts/", patterns);
    }

    [Theory, MemberData(nameof(Overlays))]
    public void Every_farm_image_has_a_container_file_that_exposes_its_port(string overlay)
    {
        var rendered = OverlayTests.Overlay(overlay);
        foreach (var service in new[] { "coordinator", "viewer", "worker" })
        {
            var container = Kustomize.Containers(rendered.Get("Deployment", service)).First();
            var (name, _) = ImageReference.Split(Yaml.Str(container["image"])!);
            var file = Path.Combine(RepositoryPaths.Docker, name.Split('/')[^1] + ".Dockerfile");
            Assert.True(File.Exists(file), $"{overlay}: {service} runs {name}, built by no {file}");
            var exposed = Regex.Matches(File.ReadAllText(file), @"(?m)^EXPOSE\s+(\d+)").Select(m => m.Groups[1].Value).ToHashSet();
            foreach (var port in Yaml.Maps(container.GetValueOrDefault("ports")).Select(p => Yaml.StrAt(p, "containerPort")!))
                Assert.Contains(port, exposed);
        }
    }

    [Fact]
    public void The_worker_image_builds_the_shim_against_a_cuda_libtorch_on_a_cuda_base()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryPaths.Docker, "worker-cuda.Dockerfile"));
        var stages = ContainerFile.Stages(text);
        Assert.StartsWith("nvidia/cuda:", stages[^1].Image, StringComparison.Ordinal);
        Assert.Contains(stages, s => s.Image.StartsWith("nvidia/cuda:", StringComparison.Ordinal) && s.Image.Contains("devel", StringComparison.Ordinal));
        Assert.Matches(@"MICROSCOPE_TORCH_PREFIX=/opt/libtorch", text);
        Assert.Matches(@"libtorch/\$\{LIBTORCH_CUDA\}/", text);
        Assert.Matches(@"ARG LIBTORCH_CUDA=cu\d+", text);
        // libtorch's CUDA build and the base image's CUDA agree (cu128 <-> 12.8).
        var cuda = Regex.Match(stages[^1].Image, @"nvidia/cuda:(\d+)\.(\d+)").Groups;
        Assert.Contains($"ARG LIBTORCH_CUDA=cu{cuda[1].Value}{cuda[2].Value}", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Dev_rabbitmq_acknowledgement_timeout_outlasts_a_cpu_packet()
    {
        var conf = File.ReadAllText(Path.Combine(RepositoryPaths.Overlay("dev"), "infra", "rabbitmq.conf"));
        var match = Regex.Match(conf, @"(?m)^consumer_timeout\s*=\s*(\d+)");
        Assert.True(match.Success, "dev rabbitmq.conf sets no consumer_timeout");
        var timeout = TimeSpan.FromMilliseconds(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
        var settings = Kustomize.ReadEnvFile(Path.Combine(RepositoryPaths.Overlay("dev"), "settings", "coordinator.env"));
        var packetSize = int.Parse(settings["MICROSCOPE_COORDINATOR__PACKETSIZE"], CultureInfo.InvariantCulture);
        // docs/operations.md: a CPU packet at the catalogue's 4096 steps, at the architecture
        // doc's measured ~25 ms per unit-step (200 ms at batch 8, 2 threads) and a 4x margin
        // for larger ops and images.
        var cpuPacket = TimeSpan.FromMilliseconds(4096 * packetSize * 25.0 * 4);
        Assert.True(timeout > cpuPacket, $"consumer_timeout {timeout} is shorter than a CPU packet's {cpuPacket}");
    }
}

public sealed class BrokerTimeoutTests
{
    [Fact]
    public void Operator_managed_rabbitmq_acknowledgement_timeout_outlasts_a_pessimistic_gpu_packet()
    {
        var cluster = Yaml.LoadSingle(Path.Combine(RepositoryPaths.K8s, "components", "rabbitmq-operator", "rabbitmq-cluster.yaml"));
        var config = Yaml.StrAt(cluster, "spec", "rabbitmq", "additionalConfig") ?? "";
        var match = Regex.Match(config, @"(?m)^consumer_timeout\s*=\s*(\d+)");
        Assert.True(match.Success, "the RabbitmqCluster sets no consumer_timeout");
        var timeout = TimeSpan.FromMilliseconds(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
        var settings = Kustomize.ReadEnvFile(Path.Combine(RepositoryPaths.Overlay("prod"), "settings", "coordinator.env"));
        var packetSize = int.Parse(settings["MICROSCOPE_COORDINATOR__PACKETSIZE"], CultureInfo.InvariantCulture);
        // docs/operations.md: pessimistic 3 ms per unit-step, the heaviest ops at 4x the
        // average, and a 4x margin on top.
        var heavyPacket = TimeSpan.FromMilliseconds(4096 * packetSize * 3.0 * 4);
        Assert.True(timeout >= heavyPacket * 4, $"consumer_timeout {timeout} is under 4x a heavy GPU packet ({heavyPacket})");
        Assert.True(Kustomize.ExistingOrExample(Path.Combine(RepositoryPaths.K8s, "components", "rabbitmq-operator", "kustomization.yaml")) is not null);
    }
}

/// <summary>A Dockerfile's stages and what is wrong with them.</summary>
public static class ContainerFile
{
    public sealed record Stage(string Image, string? Alias);

    public static List<Stage> Stages(string text) =>
        Regex.Matches(text, @"(?mi)^FROM\s+(?:--platform=\S+\s+)?(?<image>\S+)(?:\s+AS\s+(?<alias>\S+))?").Select(m =>
            new Stage(m.Groups["image"].Value, m.Groups["alias"].Success ? m.Groups["alias"].Value : null)).ToList();

    public static List<string> Problems(string path)
    {
        var text = File.ReadAllText(path);
        var name = Path.GetFileName(path);
        var problems = new List<string>();
        var stages = Stages(text);
        if (stages.Count < 2) problems.Add($"{name}: not multi-stage");
        var aliases = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var stage in stages)
        {
            if (!aliases.Contains(stage.Image) && ImageReference.NotPinned(stage.Image) is { } why) problems.Add($"{name}: FROM {why}");
            if (stage.Alias is not null) aliases.Add(stage.Alias);
        }
        foreach (Match copy in Regex.Matches(text, @"(?m)^COPY\s+--from=(\S+)"))
        {
            var source = copy.Groups[1].Value;
            if (!aliases.Contains(source) && ImageReference.NotPinned(source) is { } why) problems.Add($"{name}: COPY --from {why}");
        }
        if (!Regex.IsMatch(text, @"(?m)^ENTRYPOINT\s+\[""/app/microscope""\]")) problems.Add($"{name}: the entry point is not the microscope CLI");
        if (!Regex.IsMatch(text, @"(?m)^USER\s+\d+")) problems.Add($"{name}: runs as root");
        return problems;
    }
}
