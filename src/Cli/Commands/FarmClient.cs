using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Contracts;

namespace Microscope.Cli.Commands;

/// <summary>The CLI's side of the coordinator API: start a sweep, follow it with a progress bar.</summary>
public static class FarmClient
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public sealed record Accepted(Guid Id, int Total, int Reused, string ParamsHash, string Version);

    public static async Task<Accepted> StartSweepAsync(HttpClient http, SweepRequest request)
    {
        using var response = await http.PostAsJsonAsync("/api/sweeps", request, Web);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new ArgumentException($"the coordinator refused the sweep ({(int)response.StatusCode}): {Detail(body)}");
        return JsonSerializer.Deserialize<Accepted>(body, Web)!;
    }

    public static async Task<SweepStatus> StatusAsync(HttpClient http, Guid id) =>
        (await http.GetFromJsonAsync<SweepStatus>($"/api/sweeps/{id}", Web))!;

    /// <summary>Polls until no tuple is pending, queued or running; shows a progress bar.</summary>
    public static SweepStatus Follow(HttpClient http, Guid id, string title, int total)
    {
        SweepStatus status = null!;
        CliProgress.Run(title, total, progress =>
        {
            while (true)
            {
                status = StatusAsync(http, id).GetAwaiter().GetResult();
                var finished = status.Counts.GetValueOrDefault("done") + status.Counts.GetValueOrDefault("failed") + status.Counts.GetValueOrDefault("cancelled");
                progress.Report(finished);
                if (status.State is "done" or "failed" or "cancelled") return status;
                Thread.Sleep(500);
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
