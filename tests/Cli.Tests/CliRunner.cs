using System.Diagnostics;

namespace Microscope.Cli.Tests;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs the real `microscope` CLI in a child process.</summary>
public static class CliRunner
{
    /// <summary>The operator token the CLI sends (MICROSCOPE_TOKEN) and test coordinators take.</summary>
    public const string Token = "cli-test-operator-token";

    public static CliResult Run(params string[] args) => RunWith(new Dictionary<string, string?> { ["MICROSCOPE_TOKEN"] = Token }, args);

    public static CliResult RunWith(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "microscope.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in environment)
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("microscope did not finish in 5 minutes"); }
        return new CliResult(p.ExitCode, stdout.Result, stderr.Result);
    }
}
