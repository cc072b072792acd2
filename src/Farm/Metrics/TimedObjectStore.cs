using System.Diagnostics;
using Microscope.Farm.Storage;

namespace Microscope.Farm.Metrics;

/// <summary>Records the latency of every object store call (<see cref="FarmMetrics.StorageDuration"/>)
/// around the configured store.</summary>
public sealed class TimedObjectStore(IObjectStore inner, string kind) : IObjectStore
{
    public IObjectStore Inner => inner;

    public Task EnsureReadyAsync(CancellationToken cancel = default) => inner.EnsureReadyAsync(cancel);

    public Task PutAsync(string key, byte[] data, string contentType, CancellationToken cancel = default) =>
        Time("put", () => inner.PutAsync(key, data, contentType, cancel));

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancel = default)
    {
        byte[]? result = null;
        await Time("get", async () => result = await inner.GetAsync(key, cancel));
        return result;
    }

    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel = default)
    {
        IReadOnlyList<string> result = [];
        await Time("list", async () => result = await inner.ListAsync(prefix, cancel));
        return result;
    }

    public string Describe() => inner.Describe();

    private async Task Time(string operation, Func<Task> call)
    {
        var start = Stopwatch.GetTimestamp();
        var outcome = "ok";
        try
        {
            await call();
        }
        catch
        {
            outcome = "error";
            throw;
        }
        finally
        {
            FarmMetrics.StorageDuration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds,
                new("operation", operation), new("store", kind), new("outcome", outcome));
        }
    }
}
