using static Microscope.Deploy.Tests.Yaml;

namespace Microscope.Deploy.Tests;

/// <summary>Each check catches the mistake it exists for: a rendered overlay is mutated in
/// memory and the check must report it.</summary>
public sealed class MutationTests
{
    private static RenderedOverlay Prod() => OverlayTests.Overlay("prod");

    private static Dictionary<object, object?> Container(RenderedOverlay overlay, string deployment) =>
        Kustomize.Containers(overlay.Get("Deployment", deployment)).First();

    private static Dictionary<object, object?> Data(RenderedOverlay overlay, string kind, string name) =>
        Map(At(overlay.Get(kind, name).Body, "data"))!;

    [Fact]
    public void A_setting_missing_from_a_configmap_is_caught()
    {
        var overlay = Prod();
        Data(overlay, "ConfigMap", "worker-settings").Remove("MICROSCOPE_WORKER__HEARTBEATSECONDS");
        Assert.Contains(ManifestChecks.Settings(overlay), p => p.Contains("MICROSCOPE_WORKER__HEARTBEATSECONDS", StringComparison.Ordinal) && p.Contains("worker", StringComparison.Ordinal));
    }

    [Fact]
    public void A_setting_no_service_reads_is_caught()
    {
        var overlay = Prod();
        Data(overlay, "ConfigMap", "coordinator-settings")["MICROSCOPE_COORDINATOR__PACKETSIZES"] = "32";
        Assert.Contains(ManifestChecks.Settings(overlay), p => p.Contains("PACKETSIZES", StringComparison.Ordinal) && p.Contains("does not read", StringComparison.Ordinal));
    }

    [Fact]
    public void A_credential_in_a_configmap_is_caught()
    {
        var overlay = Prod();
        var secret = Data(overlay, "Secret", "migrate-secrets");
        var value = secret["MICROSCOPE_DATABASE__CONNECTIONSTRING"];
        secret.Remove("MICROSCOPE_DATABASE__CONNECTIONSTRING");
        Data(overlay, "ConfigMap", "migrate-settings")["MICROSCOPE_DATABASE__CONNECTIONSTRING"] = value;
        Assert.Contains(ManifestChecks.Settings(overlay), p => p.Contains("is a credential", StringComparison.Ordinal));
    }

    [Fact]
    public void A_value_the_service_would_refuse_is_caught()
    {
        var overlay = Prod();
        Data(overlay, "ConfigMap", "worker-settings")["MICROSCOPE_WORKER__DEVICE"] = "tpu";
        Assert.Contains(ManifestChecks.Settings(overlay), p => p.Contains("would refuse to start", StringComparison.Ordinal));
    }

    [Fact]
    public void A_data_set_folder_off_the_mounted_volume_is_caught()
    {
        // On the volume it is checked in the cluster; anywhere else it cannot exist in the pod.
        var overlay = Prod();
        Data(overlay, "ConfigMap", "worker-settings")["MICROSCOPE_WORKER__DATASETFOLDER"] = "/data/imagenet-val";
        Assert.Contains(ManifestChecks.Settings(overlay), p => p.Contains("DatasetFolder '/data/imagenet-val' does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public void A_lease_shorter_than_a_few_heartbeats_is_caught()
    {
        var overlay = Prod();
        Data(overlay, "ConfigMap", "coordinator-settings")["MICROSCOPE_COORDINATOR__LEASESECONDS"] = "10";
        Assert.Contains(ManifestChecks.Settings(overlay), p => p.Contains("HeartbeatSeconds", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unpinned_image_is_caught()
    {
        var overlay = Prod();
        Container(overlay, "viewer")["image"] = "registry.example.com/microscope/viewer:latest";
        Container(overlay, "coordinator")["image"] = "registry.example.com:5000/microscope/coordinator";
        var problems = ManifestChecks.Images(overlay);
        Assert.Contains(problems, p => p.Contains("latest", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("no tag", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_probe_or_resource_limit_is_caught()
    {
        var overlay = Prod();
        Container(overlay, "coordinator").Remove("readinessProbe");
        Map(At(Container(overlay, "worker"), "resources", "limits"))!.Remove("memory");
        var problems = ManifestChecks.ProbesAndResources(overlay);
        Assert.Contains(problems, p => p.Contains("readinessProbe", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("limits.memory", StringComparison.Ordinal));
    }

    [Fact]
    public void A_gpu_worker_without_a_gpu_is_caught()
    {
        var overlay = Prod();
        Map(At(Container(overlay, "worker"), "resources", "limits"))!.Remove("nvidia.com/gpu");
        Assert.Contains(ManifestChecks.Gpu(overlay, expectGpu: true), p => p.Contains("nvidia.com/gpu", StringComparison.Ordinal));
    }

    [Fact]
    public void A_service_port_that_no_container_declares_is_caught()
    {
        var overlay = Prod();
        var port = Maps(At(overlay.Get("Service", "coordinator").Body, "spec", "ports")).First();
        port["targetPort"] = "api";
        Assert.Contains(ManifestChecks.Networking(overlay), p => p.Contains("targets port api", StringComparison.Ordinal));
    }

    [Fact]
    public void A_viewer_pointed_at_a_wrong_coordinator_port_is_caught()
    {
        var overlay = Prod();
        Data(overlay, "ConfigMap", "viewer-settings")["MICROSCOPE_VIEWER__COORDINATOR"] = "http://coordinator:8080";
        Assert.Contains(ManifestChecks.Networking(overlay), p => p.Contains("port 8080 of Service coordinator", StringComparison.Ordinal));
    }

    [Fact]
    public void A_keda_trigger_on_a_queue_the_worker_does_not_consume_is_caught()
    {
        var overlay = Prod();
        var trigger = Maps(At(overlay.Get("ScaledObject", "worker").Body, "spec", "triggers")).First();
        ((Dictionary<object, object?>)trigger["metadata"]!)["queueName"] = "render_work";
        var problems = ManifestChecks.Scaling(overlay, FarmCode.ConsumedQueues, FarmCode.WorkQueue);
        Assert.Contains(problems, p => p.Contains("'render_work', which the worker does not consume", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains($"no trigger on the work queue '{FarmCode.WorkQueue}'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_keda_management_url_on_the_amqp_port_is_caught()
    {
        var overlay = OverlayTests.Overlay("dev");
        Data(overlay, "Secret", "rabbitmq-management")["host"] = "http://microscope:pw@rabbitmq:5673/";
        Assert.Contains(ManifestChecks.Scaling(overlay, FarmCode.ConsumedQueues, FarmCode.WorkQueue), p => p.Contains("rabbitmq:5673", StringComparison.Ordinal));
    }

    [Fact]
    public void A_keda_trigger_counting_only_ready_messages_is_caught()
    {
        var overlay = Prod();
        var trigger = Maps(At(overlay.Get("ScaledObject", "worker").Body, "spec", "triggers")).First();
        ((Dictionary<object, object?>)trigger["metadata"]!)["protocol"] = "amqp";
        Assert.Contains(ManifestChecks.Scaling(overlay, FarmCode.ConsumedQueues, FarmCode.WorkQueue), p => p.Contains("protocol http", StringComparison.Ordinal));
    }

    [Fact]
    public void More_workers_than_packets_in_flight_is_caught()
    {
        var overlay = Prod();
        Map(At(overlay.Get("ScaledObject", "worker").Body, "spec"))!["maxReplicaCount"] = "100";
        Assert.Contains(ManifestChecks.Scaling(overlay, FarmCode.ConsumedQueues, FarmCode.WorkQueue), p => p.Contains("MaxInFlightPackets", StringComparison.Ordinal));
    }

    [Fact]
    public void A_grace_period_shorter_than_the_stop_timeout_is_caught()
    {
        var overlay = Prod();
        Kustomize.PodSpec(overlay.Get("Deployment", "worker"))!["terminationGracePeriodSeconds"] = "30";
        Assert.Contains(ManifestChecks.Shutdown(overlay, FarmCode.WorkerPacketWait, FarmCode.CoordinatorShutdown, OverlayTests.ShutdownMargin),
            p => p.Contains("worker's terminationGracePeriodSeconds 30", StringComparison.Ordinal));
    }

    [Fact]
    public void A_disruption_budget_that_selects_nothing_is_caught()
    {
        var overlay = Prod();
        var budget = overlay.Get("PodDisruptionBudget", "worker");
        ((Dictionary<object, object?>)At(budget.Body, "spec", "selector", "matchLabels")!)["app.kubernetes.io/name"] = "workers";
        Assert.Contains(ManifestChecks.DisruptionBudgets(overlay), p => p.Contains("worker's pods", StringComparison.Ordinal));
    }

    [Fact]
    public void A_dockerfile_on_latest_or_single_stage_is_caught()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mutated-{Guid.NewGuid():N}.Dockerfile");
        File.WriteAllText(path, "FROM nvidia/cuda:latest\nCOPY --from=mcr.microsoft.com/dotnet/sdk /usr/share/dotnet /usr/share/dotnet\nENTRYPOINT [\"/app/microscope\"]\n");
        try
        {
            var problems = ContainerFile.Problems(path);
            Assert.Contains(problems, p => p.Contains("not multi-stage", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.Contains("FROM image 'nvidia/cuda:latest' is pinned to latest", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.Contains("COPY --from image 'mcr.microsoft.com/dotnet/sdk' has no tag", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.Contains("runs as root", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_merge_replaces_scalars_and_merges_named_lists()
    {
        var target = new Dictionary<object, object?>
        {
            ["replicas"] = "2",
            ["containers"] = new List<object?> { new Dictionary<object, object?> { ["name"] = "a", ["image"] = "x:1" } },
        };
        Kustomize.MergeInto(target, new Dictionary<object, object?>
        {
            ["replicas"] = "1",
            ["containers"] = new List<object?>
            {
                new Dictionary<object, object?> { ["name"] = "a", ["args"] = new List<object?> { "run" } },
                new Dictionary<object, object?> { ["name"] = "b", ["image"] = "y:2" },
            },
        });
        Assert.Equal("1", target["replicas"]);
        var containers = Maps(target["containers"]).ToList();
        Assert.Equal(2, containers.Count);
        Assert.Equal("x:1", containers[0]["image"]);
        Assert.Equal(["run"], Seq(containers[0]["args"]));
    }

    [Fact]
    public void A_coordinator_api_open_to_every_pod_is_caught()
    {
        var overlay = Prod();
        // Both policies on the coordinator's pods (any one of them alone still restricts its ingress).
        overlay.Objects.RemoveAll(o => o.Kind == "NetworkPolicy" && o.Name is "coordinator-api" or "coordinator-metrics");
        Assert.Contains(ManifestChecks.NetworkPolicies(overlay), p => p.Contains("no NetworkPolicy limits who may call the coordinator", StringComparison.Ordinal));
    }

    [Fact]
    public void A_network_policy_that_shuts_out_the_viewer_is_caught()
    {
        var overlay = Prod();
        var from = Maps(At(overlay.Get("NetworkPolicy", "coordinator-api").Body, "spec", "ingress")).Single()["from"];
        Map(At(Maps(from).Single(), "podSelector", "matchLabels"))!["app.kubernetes.io/name"] = "worker";
        Assert.Contains(ManifestChecks.NetworkPolicies(overlay), p => p.Contains("viewer's MICROSCOPE_VIEWER__COORDINATOR calls coordinator:5080", StringComparison.Ordinal));
    }

    [Fact]
    public void A_network_policy_on_the_wrong_port_is_caught()
    {
        var overlay = Prod();
        var rule = Maps(At(overlay.Get("NetworkPolicy", "coordinator-api").Body, "spec", "ingress")).Single();
        Maps(rule["ports"]).Single()["port"] = "metrics";
        Assert.Contains(ManifestChecks.NetworkPolicies(overlay), p => p.Contains("do not admit the viewer's pods", StringComparison.Ordinal));
    }
}
