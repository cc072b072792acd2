using Microscope.Farm.Hosting;

namespace Microscope.Viewer;

/// <summary>Section <c>Viewer</c>. Browsing needs no token; write actions (re-renders,
/// sweep control) need one configured here by ops, sent as <c>Authorization: Bearer</c>
/// or as the <c>X-Api-Key</c> header.</summary>
public sealed class ViewerOptions : IValidatedOptions
{
    public const string Section = "Viewer";
    public const string ApiKeyHeader = Microscope.Farm.Security.AccessTokens.ApiKeyHeader;

    /// <summary>Where the viewer listens (port 0: a free port).</summary>
    public string Urls { get; set; } = "http://127.0.0.1:5081";
    /// <summary>The coordinator's base URL: write actions are forwarded to its API.</summary>
    public string Coordinator { get; set; } = "http://127.0.0.1:5080";
    /// <summary>Comma-separated tokens of operators (sweep control and re-renders); the
    /// coordinator must hold the same ones (Coordinator:OperatorTokens): the viewer forwards
    /// the caller's token with each write.</summary>
    public string? OperatorTokens { get; set; }
    /// <summary>Comma-separated tokens of researchers (re-renders).</summary>
    public string? ResearcherTokens { get; set; }

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        foreach (var url in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries))
            if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
                problems.Add($"Urls: '{url}' is not an http URL (set {FarmConfiguration.EnvironmentName(Section, nameof(Urls))})");
        if (!Uri.TryCreate(Coordinator, UriKind.Absolute, out var c) || c.Scheme is not ("http" or "https"))
            problems.Add($"Coordinator: '{Coordinator}' is not an http URL (set {FarmConfiguration.EnvironmentName(Section, nameof(Coordinator))})");
        problems.AddRange(Microscope.Farm.Security.AccessTokens.Problems(OperatorTokens, ResearcherTokens));
        return problems.Distinct().ToList();
    }
}
