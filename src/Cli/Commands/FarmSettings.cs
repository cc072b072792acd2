using System.CommandLine;
using Microscope.Farm.Hosting;
using Microsoft.Extensions.Configuration;

namespace Microscope.Cli.Commands;

/// <summary>The farm commands' configuration: appsettings.json, MICROSCOPE_CONFIG,
/// MICROSCOPE_* environment variables, then `--set Section:Key=value` (docs/farm.md).</summary>
public sealed class FarmSettings
{
    public Option<string[]> Set { get; } = new("--set")
    {
        Description = "override a setting, e.g. --set Transport:Kind=RabbitMq (repeatable; see docs/farm.md)",
        AllowMultipleArgumentsPerToken = false,
    };

    public void AddTo(Command command) => command.Options.Add(Set);

    public IConfigurationRoot Build(ParseResult r, IReadOnlyDictionary<string, string?>? defaults = null)
    {
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in r.GetValue(Set) ?? [])
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new ArgumentException($"--set expects Section:Key=value, not '{item}'");
            overrides[item[..eq].Trim()] = item[(eq + 1)..];
        }
        if (defaults is null) return FarmConfiguration.Build(overrides);
        // Command defaults sit under everything the user gave (files, environment, --set).
        var merged = new Dictionary<string, string?>(defaults, StringComparer.OrdinalIgnoreCase);
        var user = FarmConfiguration.Build(overrides);
        foreach (var (k, v) in user.AsEnumerable()) if (v is not null) merged[k] = v;
        return new ConfigurationBuilder().AddInMemoryCollection(merged).Build();
    }
}

/// <summary>Runs a long-lived service command: configuration problems are one line on
/// stderr and exit code 2, like the other commands' usage errors.</summary>
public static class ServiceErrors
{
    public static int Run(Func<int> body)
    {
        FarmLogging.UseBootstrapLogger();
        try
        {
            return CommandErrors.Run(body);
        }
        catch (OptionsProblemException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return CommandErrors.UsageError;
        }
        catch (Exception e)
        {
            Serilog.Log.Fatal(e, "the service stopped");
            return 1;
        }
        finally
        {
            Serilog.Log.CloseAndFlush();
        }
    }
}
