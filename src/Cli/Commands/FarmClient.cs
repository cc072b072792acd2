using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Contracts;

namespace Microscope.Cli.Commands;

/// <summary>The CLI's side of the coordinator API: start a sweep, follow it with a progress bar.</summary>
public static class FarmClient
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public sealed record Accepted(Guid Id, int Total, int Reused, string ParamsHash, string Version);

    public static async Task<Accepted> StartSweepAsync(HttpClient http, SweepRequest request) =>
        await ReadAsync<Accepted>(await http.PostAsJsonAsync("/api/sweeps", request, Web), "the sweep");

    /// <summary>A row of GET /api/sweeps. The stored state stays "active" once a sweep is
    /// done; a finish time tells.</summary>
    public static Option<string> CoordinatorOption() => new("--coordinator", "-c")
    {
        Description = "coordinator URL (MICROSCOPE_COORDINATOR)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MICROSCOPE_COORDINATOR") ?? "http://127.0.0.1:5080",
    };

    public const string TokenVariable = "MICROSCOPE_TOKEN";

    /// <summary>The client of a coordinator, sending the caller's token (<see cref="Token"/>)
    /// with every request: writes need one (operator for sweeps, researcher for renders).</summary>
    public static HttpClient Http(string coordinator, string? token = null)
    {
        if (!Uri.TryCreate(coordinator, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new ArgumentException($"--coordinator '{coordinator}' is not an http URL");
        var http = new HttpClient { BaseAddress = uri, Timeout = TimeSpan.FromMinutes(2) };
        if ((token ?? Token()) is { } t) http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", t);
        return http;
    }

    /// <summary>The CLI's token: MICROSCOPE_TOKEN, else the first line of the config file
    /// ~/.config/microscope/token ($XDG_CONFIG_HOME/microscope/token); null without either.</summary>
    public static string? Token()
    {
        if (Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } fromEnv) return fromEnv.Trim();
        var home = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        var file = Path.Combine(home, "microscope", "token");
        return File.Exists(file) && File.ReadLines(file).FirstOrDefault()?.Trim() is { Length: > 0 } fromFile ? fromFile : null;
    }

    public static async Task<IReadOnlyList<SweepSummary>> ListAsync(HttpClient http) =>
        await ReadAsync<List<SweepSummary>>(await http.GetAsync("/api/sweeps"), "to list the sweeps");

    public static async Task<SweepStatus> StatusAsync(HttpClient http, Guid id) =>
        await ReadAsync<SweepStatus>(await http.GetAsync($"/api/sweeps/{id}"), $"to show sweep {id}");

    /// <summary>POST /api/sweeps/{id}/{action}: pause, resume, cancel or retry-failed.</summary>
    public static async Task<SweepStatus> ActAsync(HttpClient http, Guid id, string action) =>
        await ReadAsync<SweepStatus>(await http.PostAsync($"/api/sweeps/{id}/{action}", null), $"to {action} sweep {id}");

    /// <summary>A model added by POST /api/models (Created false: the same files were there).</summary>
    public sealed record AddedModel(string Name, string Version, bool Created, string Format, int Ops, long Units, string FileKey, string? CompanionKey);

    /// <summary>POST /api/models: the model file, its ONNX sidecar or spec weights, and a name.</summary>
    public static async Task<AddedModel> AddModelAsync(HttpClient http, string file, string? name, string? sidecar, string? weights)
    {
        using var form = new MultipartFormDataContent();
        void Attach(string part, string path)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"'{path}' does not exist", path);
            form.Add(new StreamContent(File.OpenRead(path)), part, Path.GetFileName(path));
        }
        Attach("file", file);
        if (sidecar is not null) Attach("sidecar", sidecar);
        if (weights is not null) Attach("weights", weights);
        if (name is not null) form.Add(new StringContent(name), "name");
        return await ReadAsync<AddedModel>(await http.PostAsync("/api/models", form), $"the model '{Path.GetFileName(file)}'");
    }

    /// <summary>The body of a successful answer; a refusal (404, 409, 422, ...) becomes a user
    /// error, "the coordinator refused {what} (status): detail".</summary>
    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, string what)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
                throw new ArgumentException($"the coordinator refused {what} ({(int)response.StatusCode}): {Detail(body)}" +
                    ((int)response.StatusCode is 401 or 403 ? $" (set {TokenVariable} to your token)" : ""));
            return JsonSerializer.Deserialize<T>(body, Web)!;
        }
    }

    /// <summary>Polls until no tuple is pending, queued or running, or until <paramref name="stop"/>
    /// (Ctrl+C, SIGTERM) fires: then the last status, still open; shows a progress bar.</summary>
    public static SweepStatus Follow(HttpClient http, Guid id, string title, int total, CancellationToken stop = default)
    {
        SweepStatus status = null!;
        CliProgress.Run(title, total, progress =>
        {
            while (true)
            {
                status = StatusAsync(http, id).GetAwaiter().GetResult();
                var finished = status.Counts.GetValueOrDefault("done") + status.Counts.GetValueOrDefault("failed") + status.Counts.GetValueOrDefault("cancelled");
                progress.Report(finished);
                if (status.State is "done" or "failed" or "cancelled" || stop.WaitHandle.WaitOne(500)) return status;
            }
        });
        return status;
    }

    public static string Summary(SweepStatus s) =>
        $"sweep {s.Id}: {s.State}; {string.Join(", ", s.Counts.Where(c => c.Value > 0).Select(c => $"{c.Key} {c.Value}"))}" +
        $" of {s.Total} ({s.Reused} reused), {s.UnitsPerMinute:F1} units/min" +
        (s.FinishedAt is { } f ? $", {(f - s.CreatedAt).TotalSeconds:F0} s" : "") +
        string.Concat(s.Failures.Select(x => $"\n  failed x{x.Count}: {x.Reason} (e.g. {string.Join(", ", x.Examples)})"));

    private static string Detail(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("detail", out var d) ? d.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            return body;
        }
    }
}
