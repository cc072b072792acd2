using Microsoft.Extensions.Configuration;

namespace Microscope.Farm.Hosting;

/// <summary>Where every farm service reads its settings, lowest precedence first:
/// appsettings.json next to the executable, the file named by MICROSCOPE_CONFIG, environment
/// variables prefixed MICROSCOPE_ (<c>MICROSCOPE_DATABASE__CONNECTIONSTRING</c> is
/// <c>Database:ConnectionString</c>), then command-line overrides.</summary>
public static class FarmConfiguration
{
    public const string EnvironmentPrefix = "MICROSCOPE_";

    public static IConfigurationRoot Build(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true);
        var file = Environment.GetEnvironmentVariable(EnvironmentPrefix + "CONFIG");
        if (!string.IsNullOrEmpty(file)) builder.AddJsonFile(Path.GetFullPath(file), optional: false);
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        if (overrides is not null) builder.AddInMemoryCollection(overrides);
        return builder.Build();
    }

    /// <summary>Binds a section and validates it now: a missing or wrong setting stops the
    /// service at start with the setting's name and its environment variable.</summary>
    public static T Bind<T>(IConfiguration configuration, string section) where T : class, IValidatedOptions, new()
    {
        var options = configuration.GetSection(section).Get<T>() ?? new T();
        var problems = options.Validate();
        if (problems.Count > 0)
            throw new OptionsProblemException(section, problems);
        return options;
    }

    public static string EnvironmentName(string section, string key) =>
        $"{EnvironmentPrefix}{section.Replace(":", "__", StringComparison.Ordinal)}__{key}".ToUpperInvariant();
}

/// <summary>Options that can say what is wrong with themselves.</summary>
public interface IValidatedOptions
{
    IReadOnlyList<string> Validate();
}

public sealed class OptionsProblemException(string section, IReadOnlyList<string> problems)
    : InvalidOperationException($"configuration section '{section}': {string.Join("; ", problems)}")
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
