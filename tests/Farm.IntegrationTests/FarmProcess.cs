using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Microscope.Farm.IntegrationTests;

/// <summary>A farm service (`microscope coordinator | worker | demo ...`) as a child process
/// of the test, its output kept for failure messages, killed with its tree on dispose.</summary>
public sealed partial class FarmProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    public string Name { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    private FarmProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public static FarmProcess Start(string name, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "microscope.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        psi.Environment["MICROSCOPE_THREADS"] = "1";
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var fp = new FarmProcess(name, process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) fp.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) fp.Add(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return fp;
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        while (_lines.Count > 400) _lines.TryDequeue(out _);
    }

    public string Output => $"--- {Name} (pid {_process.Id}{(_process.HasExited ? $", exited {_process.ExitCode}" : "")}) ---\n" + string.Join('\n', _lines);

    /// <summary>Waits for an output line matching the pattern; returns its first group.</summary>
    public async Task<string> WaitForLineAsync(Regex pattern, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var line in _lines)
            {
                var m = pattern.Match(line);
                if (m.Success) return m.Groups.Count > 1 ? m.Groups[1].Value : m.Value;
            }
            if (_process.HasExited) break;
            await Task.Delay(100);
        }
        throw new TimeoutException($"no line matching {pattern} from {Name} within {timeout}\n{Output}");
    }

    public static async Task<(FarmProcess Process, string Url)> StartCoordinatorAsync(IReadOnlyDictionary<string, string> environment)
    {
        var p = Start("coordinator", environment, "coordinator");
        var url = await p.WaitForLineAsync(Listening(), TimeSpan.FromSeconds(90));
        return (p, url);
    }

    public static async Task<FarmProcess> StartWorkerAsync(string name, IReadOnlyDictionary<string, string> environment)
    {
        var p = Start(name, environment, "worker", "--set", $"Worker:Id={name}", "--device", "cpu");
        await p.WaitForLineAsync(new Regex("^worker started"), TimeSpan.FromSeconds(90));
        return p;
    }

    public void Kill()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.WaitForExit(10_000);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    [GeneratedRegex(@"coordinator listening on (http://\S+)")]
    private static partial Regex Listening();
}
