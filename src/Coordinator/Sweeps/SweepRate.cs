namespace Microscope.Coordinator.Sweeps;

/// <summary>A sweep's rate and ETA, one definition for the API, the CLI and the viewer: units
/// rendered (reused ones excluded) per minute over the last ten minutes while it runs — or
/// since it started, when it is younger than that — and over its whole run once finished.</summary>
public static class SweepRate
{
    public const long WindowMs = 10 * 60_000;

    /// <summary>Where the span the rate is measured over starts.</summary>
    public static long WindowStart(long createdAt, long? finishedAt, long nowMs) =>
        finishedAt is null ? Math.Max(createdAt, nowMs - WindowMs) : createdAt;

    /// <summary>Units per minute from the units done in [<paramref name="windowStart"/>,
    /// <paramref name="windowEnd"/>], and the seconds the open ones still need at that rate
    /// (0 when nothing is open, null when nothing has been rendered yet).</summary>
    public static (double UnitsPerMinute, double? EtaSeconds) Of(int doneInWindow, long windowStart, long windowEnd, int open)
    {
        var minutes = Math.Max(1e-3, (windowEnd - windowStart) / 60_000.0);
        var rate = doneInWindow / minutes;
        double? eta = open == 0 ? 0 : rate > 0 ? open / rate * 60 : null;
        return (rate, eta);
    }
}
