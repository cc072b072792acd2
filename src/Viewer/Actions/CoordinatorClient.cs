using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Contracts;

namespace Microscope.Viewer.Actions;

/// <summary>Forwards write actions to the coordinator's API, which owns sweeps and renders:
/// the viewer checks the token, then forwards it (the coordinator checks it again, and a
/// researcher's render budget is counted against that token), and the coordinator
/// validates and queues.</summary>
public sealed class CoordinatorClient(HttpClient http)
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public async Task<(int Status, string Body)> RenderAsync(RenderRequest request, string token, CancellationToken cancel)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "/api/renders") { Content = JsonContent.Create(request, options: Web) };
        return await SendAsync(message, token, cancel);
    }

    public async Task<(int Status, string Body)> SweepActionAsync(Guid id, string action, string token, CancellationToken cancel)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"/api/sweeps/{id}/{action}");
        return await SendAsync(message, token, cancel);
    }

    /// <summary>Where a unit fires on an uploaded image: the bytes go to the coordinator as they
    /// came (it checks size and format and answers problem details).</summary>
    public async Task<(int Status, string Body)> FiresAsync(string model, string version, string op, int unit, Stream image, string? contentType, string token, CancellationToken cancel)
    {
        var content = new StreamContent(image);
        content.Headers.ContentType = MediaTypeHeaderValue.TryParse(contentType, out var type) ? type : new MediaTypeHeaderValue("application/octet-stream");
        using var message = new HttpRequestMessage(HttpMethod.Post,
            $"/api/models/{Uri.EscapeDataString(model)}/{Uri.EscapeDataString(op)}/{unit}/fires?version={Uri.EscapeDataString(version)}") { Content = content };
        return await SendAsync(message, token, cancel);
    }

    private async Task<(int Status, string Body)> SendAsync(HttpRequestMessage message, string token, CancellationToken cancel)
    {
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await http.SendAsync(message, cancel);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancel));
        }
        catch (HttpRequestException e)
        {
            // The coordinator is down or unreachable: the viewer answers 503, never an empty 500.
            return (503, JsonSerializer.Serialize(new { type = "https://tools.ietf.org/html/rfc9110#section-15.6.4", title = "coordinator unavailable", status = 503, detail = e.Message }));
        }
    }
}
