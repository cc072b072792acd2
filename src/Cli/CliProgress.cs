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
            var result = work(new SyncProgress(done =>
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
                return work(new SyncProgress(done => task.Value = done));
            });
    }

    /// <summary>Reports on the caller's thread (System.Progress would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
