using System.Reflection;
using MassTransit;
using Microscope.Coordinator;
using Microscope.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microscope.Deploy.Tests;

/// <summary>Facts the manifests must agree with, read from the farm's code rather than copied.</summary>
public static class FarmCode
{
    /// <summary>The queues the worker consumes: the endpoint names of its consumer definitions.</summary>
    public static IReadOnlyDictionary<Type, string> WorkerQueues { get; } = typeof(RenderWorkConsumerDefinition).Assembly.GetTypes()
        .Where(t => !t.IsAbstract && t.BaseType is { IsGenericType: true } b && b.GetGenericTypeDefinition() == typeof(ConsumerDefinition<>))
        .ToDictionary(t => t, t => ((IConsumerDefinition)Activator.CreateInstance(t, new WorkerOptions())!).GetEndpointName(DefaultEndpointNameFormatter.Instance));

    /// <summary>The sweep work queue (the non-priority lane).</summary>
    public static string WorkQueue => WorkerQueues[typeof(RenderWorkConsumerDefinition)];

    public static IReadOnlySet<string> ConsumedQueues => WorkerQueues.Values.ToHashSet();

    private static readonly Lazy<(TimeSpan BusStop, TimeSpan HostShutdown)> WorkerTimeouts = new(() =>
    {
        using var host = WorkerHost.Build(InMemoryConfiguration(new() { ["Storage:Folder"] = Path.GetTempPath() }));
        return (host.Services.GetRequiredService<IOptions<MassTransitHostOptions>>().Value.StopTimeout ?? TimeSpan.MaxValue,
            host.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
    });

    private static readonly Lazy<TimeSpan> CoordinatorTimeout = new(() =>
    {
        var app = CoordinatorHost.Build(InMemoryConfiguration(new() { ["Database:ConnectionString"] = "Data Source=:memory:", ["Storage:Folder"] = Path.GetTempPath() }));
        try
        {
            return app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
        }
        finally
        {
            ((IDisposable)app).Dispose();
        }
    });

    /// <summary>How long a stopping worker waits for the packet in hand before the bus closes
    /// and the packet goes back to the broker: the bus's stop timeout, or the host's shutdown
    /// timeout if that is shorter.</summary>
    public static TimeSpan WorkerPacketWait => WorkerTimeouts.Value.BusStop < WorkerTimeouts.Value.HostShutdown ? WorkerTimeouts.Value.BusStop : WorkerTimeouts.Value.HostShutdown;

    public static TimeSpan CoordinatorShutdown => CoordinatorTimeout.Value;

    private static IConfiguration InMemoryConfiguration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    /// <summary>Types bound with FarmConfiguration.Bind&lt;T&gt; in a source file (or a region of it).</summary>
    public static IReadOnlySet<string> BoundOptionTypes(string source) =>
        System.Text.RegularExpressions.Regex.Matches(source, @"FarmConfiguration\.Bind<(\w+)>").Select(m => m.Groups[1].Value).ToHashSet();

    public static string Source(params string[] relative) => File.ReadAllText(Path.Combine([RepositoryPaths.Root, .. relative]));

    public static IEnumerable<string> SourceFiles(string folder) =>
        Directory.Exists(Path.Combine(RepositoryPaths.Root, folder))
            ? Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, folder), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            : [];

    public static Assembly WorkerAssembly => typeof(WorkerOptions).Assembly;
}
