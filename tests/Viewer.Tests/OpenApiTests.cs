using System.Text.Json;
using Microscope.Farm.OpenApi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Microscope.Viewer.Tests;

/// <summary>The OpenAPI documents of the coordinator and the viewer: valid OpenAPI 3, covering
/// every route each app maps (read from its endpoint data sources, so a route added later
/// without a description fails here), and the reference page working in Chromium with no
/// request leaving the machine.</summary>
[Collection(ViewerCollection.Name)]
public sealed class OpenApiTests(ViewerFarm farm, ChromiumBrowser chromium)
{
    public static TheoryData<string> Apps => new("coordinator", "viewer");

    private WebApplication App(string name) => name == "coordinator" ? farm.Coordinator : farm.Viewer;

    private static string Url(WebApplication app) => ((Microsoft.AspNetCore.Hosting.Server.IServer)app.Services.GetService(typeof(Microsoft.AspNetCore.Hosting.Server.IServer))!)
        .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();

    /// <summary>(METHOD, /route) of every route the app maps, but the documents, health, metrics and the fallback.</summary>
    public static HashSet<string> MappedRoutes(WebApplication app)
    {
        string[] notApi = ["/openapi", FarmOpenApi.ReferencePath, "/health", "/metrics"];
        return ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>() is not null)
            .Select(e => (Route: FarmOpenApi.RouteKey(e.RoutePattern.RawText ?? ""), e))
            .Where(x => !notApi.Any(p => x.Route.StartsWith(p, StringComparison.Ordinal)) && !x.Route.Contains("{path:nonfile}", StringComparison.Ordinal) && x.e.Order != int.MaxValue)
            .SelectMany(x => x.e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()!.HttpMethods.Where(m => m != "HEAD").Select(m => $"{m} {x.Route}"))
            .ToHashSet();
    }

    [Theory, MemberData(nameof(Apps))]
    public async Task The_document_is_valid_openapi_3_and_covers_every_route_the_app_maps(string name)
    {
        var app = App(name);
        using var http = new HttpClient { BaseAddress = new Uri(Url(app)) };
        using var response = await http.GetAsync(FarmOpenApi.DocumentPath);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("application/json", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();

        var json = JsonDocument.Parse(text).RootElement;
        Assert.StartsWith("3.", json.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var read = OpenApiDocument.Parse(text, "json", new OpenApiReaderSettings());
        Assert.True(read.Diagnostic is null || read.Diagnostic.Errors.Count == 0, string.Join("\n", read.Diagnostic?.Errors.Select(e => e.ToString()) ?? []));
        var document = read.Document!;
        Assert.Equal(name == "coordinator" ? "Microscope Farm coordinator" : "Microscope viewer", document.Info.Title);

        var documented = document.Paths.SelectMany(p => p.Value.Operations!.Keys.Select(m => $"{m.Method.ToUpperInvariant()} {p.Key}")).ToHashSet();
        var mapped = MappedRoutes(app);
        Assert.True(mapped.Count >= (name == "coordinator" ? 18 : 10), string.Join(", ", mapped));
        var missing = mapped.Where(r => !documented.Contains(r)).Order().ToList();
        Assert.True(missing.Count == 0, $"{name}: routes not in its OpenAPI document: {string.Join(", ", missing)}");
        var extra = documented.Where(r => !mapped.Contains(r)).Order().ToList();
        Assert.True(extra.Count == 0, $"{name}: the document describes routes the app does not map: {string.Join(", ", extra)}");
        // Every route says what it does.
        var bare = document.Paths.SelectMany(p => p.Value.Operations!.Where(o => string.IsNullOrEmpty(o.Value.Summary)).Select(o => $"{o.Key.Method} {p.Key}")).ToList();
        Assert.True(bare.Count == 0, "without a summary: " + string.Join(", ", bare));
    }

    [Fact]
    public async Task The_reference_page_lists_the_coordinators_operations_from_files_served_here()
    {
        var page = await chromium.NewPageAsync(Url(farm.Coordinator));
        var outside = new List<string>();
        page.Request += (_, r) => { if (!r.Url.StartsWith("http://127.0.0.1", StringComparison.Ordinal) && !r.Url.StartsWith("data:", StringComparison.Ordinal)) outside.Add(r.Url); };
        await page.GotoAsync(FarmOpenApi.ReferencePath + "/");
        await Expect(page.GetByText("Start a sweep").First).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Expect(page.GetByText("Microscope Farm coordinator").First).ToBeVisibleAsync();
        await ChromiumBrowser.ScreenshotAsync(page, "20-api-reference-coordinator");
        Assert.Empty(outside);
    }
}
