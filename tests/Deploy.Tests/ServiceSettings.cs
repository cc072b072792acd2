using System.Reflection;
using System.Text.RegularExpressions;
using Microscope.Coordinator;
using Microscope.Farm.Hosting;
using Microscope.Farm.Messaging;
using Microscope.Farm.Metrics;
using Microscope.Farm.Storage;
using Microscope.Worker;

namespace Microscope.Deploy.Tests;

/// <summary>One setting a service reads, as its environment variable. A prefix setting is a
/// dictionary (<c>Models:Weights:&lt;model&gt;</c>): any number of variables under it.</summary>
public sealed record Setting(string Section, string Key, string EnvironmentName, bool IsPrefix, bool IsSecret)
{
    public bool Matches(string variable) => IsPrefix
        ? variable.StartsWith(EnvironmentName, StringComparison.OrdinalIgnoreCase) && variable.Length > EnvironmentName.Length
        : variable.Equals(EnvironmentName, StringComparison.OrdinalIgnoreCase);
}

/// <summary>A farm service as deployed: the workload that runs it, and every setting it reads.</summary>
public sealed record FarmService(string Name, string WorkloadKind, string WorkloadName, string ContainerName, IReadOnlyList<Setting> Settings);

/// <summary>What each service reads, derived from the code: the options classes each host
/// binds (the lists below are cross-checked against the hosts' sources by
/// SettingsSourceTests), their public properties by reflection, and the few variables read
/// straight from the process environment.</summary>
public static class ServiceSettings
{
    /// <summary>Options classes bound by CoordinatorHost.Build (the coordinator service).</summary>
    public static readonly Type[] CoordinatorSections = [typeof(CoordinatorOptions), typeof(DatabaseOptions), typeof(TransportOptions), typeof(StorageOptions), typeof(ModelWeightsOptions), typeof(TelemetryOptions)];
    /// <summary>Options classes bound by WorkerHost.Build.</summary>
    public static readonly Type[] WorkerSections = [typeof(WorkerOptions), typeof(TransportOptions), typeof(StorageOptions), typeof(ModelWeightsOptions), typeof(TelemetryOptions)];
    /// <summary>Options classes bound by CoordinatorHost.MigrateAsync (`microscope migrate`).</summary>
    public static readonly Type[] MigrateSections = [typeof(DatabaseOptions)];
    /// <summary>The viewer (src/Viewer, not referenced by this project while it is being built):
    /// its own section is read from ViewerOptions.cs; the farm sections it binds by name.</summary>
    public static readonly string[] ViewerFarmSections = [nameof(DatabaseOptions), nameof(StorageOptions), nameof(ModelWeightsOptions)];

    /// <summary>Variables the services read from the process environment directly (not
    /// through IConfiguration), with the services that load the code reading them.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> ProcessVariables = new Dictionary<string, string[]>
    {
        // Engine's libtorch thread count (src/Engine/Torch/Native.cs): the coordinator loads
        // models to register them, the worker renders.
        ["MICROSCOPE_THREADS"] = ["coordinator", "worker"],
    };

    /// <summary>Process variables that are deliberately not set in the cluster, and why.</summary>
    public static readonly IReadOnlyDictionary<string, string> ProcessVariablesNotDeployed = new Dictionary<string, string>
    {
        ["MICROSCOPE_CONFIG"] = "a JSON settings file: the cluster sets every setting as a variable instead",
        ["MICROSCOPE_LENS_ASSEMBLIES"] = "extra lenses from your own dlls: the images deploy the built-in lenses only",
    };

    /// <summary>Settings that carry credentials: they must come from Secrets, never ConfigMaps.</summary>
    public static readonly IReadOnlySet<string> SecretSettings = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "Database:ConnectionString", "Transport:RabbitMqUrl", "Storage:AccessKey", "Storage:SecretKey",
        "Viewer:OperatorTokens", "Viewer:ResearcherTokens", "Coordinator:OperatorTokens", "Coordinator:ResearcherTokens",
    };

    /// <summary>Names that look like credentials; each such setting must be in SecretSettings.</summary>
    public static readonly Regex CredentialLike = new("(Password|Secret|Token|AccessKey|ConnectionString|RabbitMqUrl)", RegexOptions.IgnoreCase);

    public static IReadOnlyList<FarmService> All => Services.Value;

    // Lazy: static fields below (the viewer's keys) are initialised after this one.
    private static readonly Lazy<IReadOnlyList<FarmService>> Services = new(() =>
    [
        new("coordinator", "Deployment", "coordinator", "coordinator", [.. FromTypes(CoordinatorSections), .. Process("coordinator")]),
        new("worker", "Deployment", "worker", "worker", [.. FromTypes(WorkerSections), .. Process("worker")]),
        new("migrate", "Job", "migrate", "migrate", [.. FromTypes(MigrateSections), .. Process("migrate")]),
        new("viewer", "Deployment", "viewer", "viewer", [.. ViewerSettings(), .. Process("viewer")]),
    ]);

    public static FarmService Get(string name) => All.Single(s => s.Name == name);

    public static IEnumerable<Setting> FromTypes(IEnumerable<Type> types) => types.SelectMany(FromType);

    public static IEnumerable<Setting> FromType(Type type)
    {
        var section = (string)type.GetField("Section", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.SetMethod!.IsPublic))
        {
            var isDictionary = property.PropertyType.IsGenericType && property.PropertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>);
            yield return Make(section, property.Name, isDictionary);
        }
    }

    public static Setting Make(string section, string key, bool isPrefix)
    {
        var name = FarmConfiguration.EnvironmentName(section, key) + (isPrefix ? "__" : "");
        return new Setting(section, key, name, isPrefix, SecretSettings.Contains($"{section}:{key}"));
    }

    private static IEnumerable<Setting> Process(string service) =>
        ProcessVariables.Where(p => p.Value.Contains(service)).Select(p => new Setting("", p.Key, p.Key, false, false));

    public static string ViewerOptionsSource => Path.Combine(RepositoryPaths.Root, "src", "Viewer", "ViewerOptions.cs");

    /// <summary>ViewerOptions' section and settable properties. Kept here because the viewer
    /// project is not referenced by this one; CodeFactsTests compares it with the source.</summary>
    public const string ViewerSection = "Viewer";
    public static readonly string[] ViewerKeys = ["Urls", "Coordinator", "OperatorTokens", "ResearcherTokens"];

    public static IEnumerable<Setting> ViewerSettings()
    {
        foreach (var key in ViewerKeys) yield return Make(ViewerSection, key, isPrefix: false);
        var farmTypes = new[] { typeof(DatabaseOptions), typeof(StorageOptions), typeof(TransportOptions), typeof(ModelWeightsOptions) };
        foreach (var setting in FromTypes(farmTypes.Where(t => ViewerFarmSections.Contains(t.Name))))
            yield return setting;
    }

    /// <summary>ViewerOptions' section and settable public properties as its source declares them.</summary>
    public static (string Section, List<string> Keys) ViewerOptionsFromSource()
    {
        var source = File.ReadAllText(ViewerOptionsSource);
        var section = Regex.Match(source, "const string Section = \"(\\w+)\"").Groups[1].Value;
        var keys = Regex.Matches(source, @"public\s+(?<type>[\w<>?,\s]+?)\s+(?<name>\w+)\s*\{\s*get;\s*set;\s*\}").Select(m => m.Groups["name"].Value).ToList();
        return (section, keys);
    }
}
