using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Contracts;

namespace Microscope.Viewer.Actions;

/// <summary>Forwards write actions to the coordinator's API, which owns sweeps and renders:
/// the viewer checks the token, the coordinator validates and queues.</summary>
public sealed class CoordinatorClient(HttpClient http)
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public async Task<(int Status, string Body)> RenderAsync(RenderRequest request, CancellationToken cancel)
    {
        using var response = await http.PostAsJsonAsync("/api/renders", request, Web, cancel);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancel));
    }

    public async Task<(int Status, string Body)> SweepActionAsync(Guid id, string action, CancellationToken cancel)
    {
        using var response = await http.PostAsync($"/api/sweeps/{id}/{action}", null, cancel);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancel));
    }
}
