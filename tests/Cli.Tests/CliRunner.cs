using System.Diagnostics;

namespace Microscope.Cli.Tests;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs the real `microscope` CLI in a child process.</summary>
public static class CliRunner
{
    public static CliResult Run(params string[] args) => Run(new Dictionary<string, string>(), args);

    /// <summary>With extra environment variables (e.g. MICROSCOPE_LENS_ASSEMBLIES).</summary>
    public static CliResult Run(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "microscope.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("microscope did not finish in 5 minutes"); }
        return new CliResult(p.ExitCode, stdout.Result, stderr.Result);
    }
}
