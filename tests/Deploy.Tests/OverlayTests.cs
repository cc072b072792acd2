namespace Microscope.Deploy.Tests;

/// <summary>The invariants on both rendered overlays.</summary>
public sealed class OverlayTests
{
    public static TheoryData<string> Overlays => new(RepositoryPaths.OverlayNames);

    private static readonly Dictionary<string, RenderedOverlay> Rendered = RepositoryPaths.OverlayNames.ToDictionary(n => n, Kustomize.BuildOverlay);

    public static RenderedOverlay Overlay(string name) => Rendered[name].Copy();

    [Theory, MemberData(nameof(Overlays))]
    public void Every_setting_each_service_reads_is_provided_and_nothing_else(string overlay) =>
        Assert.Empty(ManifestChecks.Settings(Overlay(overlay)));

    [Theory, MemberData(nameof(Overlays))]
    public void Every_image_is_pinned(string overlay) => Assert.Empty(ManifestChecks.Images(Overlay(overlay)));

    [Theory, MemberData(nameof(Overlays))]
    public void Http_services_are_probed_on_the_health_endpoints_and_every_container_has_resources(string overlay) =>
        Assert.Empty(ManifestChecks.ProbesAndResources(Overlay(overlay)));

    [Fact]
    public void Prod_workers_are_gpu_workers() => Assert.Empty(ManifestChecks.Gpu(Overlay("prod"), expectGpu: true));

    [Fact]
    public void Dev_workers_are_cpu_workers() => Assert.Empty(ManifestChecks.Gpu(Overlay("dev"), expectGpu: false));

    [Theory, MemberData(nameof(Overlays))]
    public void Ports_service_names_and_addresses_agree(string overlay) => Assert.Empty(ManifestChecks.Networking(Overlay(overlay)));

    [Theory, MemberData(nameof(Overlays))]
    public void Only_the_viewer_may_call_the_coordinator_api_and_every_address_stays_reachable(string overlay) =>
        Assert.Empty(ManifestChecks.NetworkPolicies(Overlay(overlay)));

    [Theory, MemberData(nameof(Overlays))]
    public void Keda_scales_the_worker_on_the_queue_it_consumes_through_the_management_api(string overlay) =>
        Assert.Empty(ManifestChecks.Scaling(Overlay(overlay), FarmCode.ConsumedQueues, FarmCode.WorkQueue));

    [Theory, MemberData(nameof(Overlays))]
    public void Grace_periods_outlast_the_shutdown_timeouts_in_the_code(string overlay) =>
        Assert.Empty(ManifestChecks.Shutdown(Overlay(overlay), FarmCode.WorkerPacketWait, FarmCode.CoordinatorShutdown, ShutdownMargin));

    [Theory, MemberData(nameof(Overlays))]
    public void Long_running_services_have_disruption_budgets(string overlay) => Assert.Empty(ManifestChecks.DisruptionBudgets(Overlay(overlay)));

    [Theory, MemberData(nameof(Overlays))]
    public void The_migration_job_runs_migrate_with_the_coordinator_image(string overlay) => Assert.Empty(ManifestChecks.Migration(Overlay(overlay)));

    [Theory, MemberData(nameof(Overlays))]
    public void The_overlay_has_its_own_namespace(string overlay)
    {
        var rendered = Overlay(overlay);
        var namespaces = rendered.Objects.Where(o => o.Kind != "Namespace").Select(o => o.Namespace).Distinct().ToList();
        Assert.Single(namespaces);
        Assert.NotNull(rendered.Find("Namespace", namespaces[0]!));
    }

    /// <summary>Time for the host to stop its other services, close the connection and flush logs.</summary>
    public static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(15);
}
