using Microsoft.Extensions.Configuration;

namespace Microscope.Cli.Tests;

/// <summary>The settings of a farm in this test process: in-memory transport, SQLite and a folder
/// under <paramref name="dir"/>, any free port, the CLI runner's operator token; more or other
/// settings in <paramref name="extra"/>.</summary>
public static class InMemoryFarmSettings
{
    public static IConfigurationRoot Build(string dir, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Transport:Kind"] = "InMemory",
            ["Database:Provider"] = "Sqlite",
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(dir, "farm.db")}",
            ["Storage:Kind"] = "Folder",
            ["Storage:Folder"] = Path.Combine(dir, "objects"),
            ["Coordinator:Urls"] = "http://127.0.0.1:0",
            ["Coordinator:OperatorTokens"] = CliRunner.Token,
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>()) settings[k] = v;
        return new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
    }
}
