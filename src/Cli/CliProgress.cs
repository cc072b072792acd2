using Spectre.Console;

namespace Microscope.Cli;

/// <summary>A progress bar on stderr (stdout stays clean for --json). When stderr is not a
/// terminal (CI logs, pipes) it prints a plain line every 10% instead of redrawing.</summary>
public static class CliProgress
{
    private static readonly IAnsiConsole Err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    public static T Run<T>(string title, int total, Func<IProgress<int>, T> work)
    {
        if (Console.IsErrorRedirected)
        {
            var lastDecile = -1;
            var started = DateTime.UtcNow;
            var result = work(new SyncProgress<int>(done =>
            {
                var decile = total == 0 ? 10 : done * 10 / total;
                if (decile == lastDecile) return;
                lastDecile = decile;
                var elapsed = DateTime.UtcNow - started;
                var eta = done == 0 ? TimeSpan.Zero : elapsed * ((double)(total - done) / done);
                Console.Error.WriteLine($"{title}: {done}/{total} ({decile * 10}%), {elapsed.TotalSeconds:F0}s elapsed, ETA {eta.TotalSeconds:F0}s");
            }));
            return result;
        }
        return Err.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title, maxValue: Math.Max(1, total));
                return work(new SyncProgress<int>(done => task.Value = done));
            });
    }

    /// <summary>A bar whose total is learnt while working (e.g. once files are listed): the work
    /// reports (done, total) pairs.</summary>
    public static T Run<T>(string title, Func<IProgress<(int Done, int Total)>, T> work)
    {
        if (Console.IsErrorRedirected)
        {
            var lastDecile = -1;
            var started = DateTime.UtcNow;
            return work(new SyncProgress<(int Done, int Total)>(p =>
            {
                var decile = p.Total == 0 ? 10 : p.Done * 10 / p.Total;
                if (decile == lastDecile) return;
                lastDecile = decile;
                Console.Error.WriteLine($"{title}: {p.Done}/{p.Total} ({decile * 10}%), {(DateTime.UtcNow - started).TotalSeconds:F0}s elapsed");
            }));
        }
        return Err.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title, maxValue: 1);
                return work(new SyncProgress<(int Done, int Total)>(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                }));
            });
    }
}

/// <summary>Reports on the caller's thread, as it happens (System.Progress would post to the
/// thread pool): progress bars, and the bench's per-step clocks.</summary>
internal sealed class SyncProgress<TValue>(Action<TValue> report) : IProgress<TValue>
{
    public void Report(TValue value) => report(value);
}
