using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microscope.Farm.Security;
using Microscope.Viewer.Claims;
using static Microsoft.Playwright.Assertions;

namespace Microscope.Viewer.Tests;

/// <summary>Claims: written with a token, round-tripped with their unit links, shown on the
/// units they name, searchable; only their author edits or deletes them.</summary>
[Collection(ViewerCollection.Name)]
public sealed class ClaimsTests(ViewerFarm farm, ChromiumBrowser chromium)
{
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, string? token)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await farm.Http.SendAsync(request);
    }

    private async Task<Claim> CreateAsync(string text, string[]? units = null, string token = ViewerFarm.ResearcherToken)
    {
        var response = await SendAsync(HttpMethod.Post, "/api/claims", new { text, units }, token);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Claim>(ViewerFarm.Web))!;
    }

    [Fact]
    public async Task A_claim_round_trips_with_its_links_and_shows_on_every_unit_it_names()
    {
        var text = $"conv3:9 is built from /models/demo/conv2/19 (texture) and /models/demo/conv2/17; marker {Guid.NewGuid():N}";
        var created = await CreateAsync(text, ["demo/conv3/9"]);
        Assert.Equal(AccessTokens.IdOf(ViewerFarm.ResearcherToken), created.Author);
        Assert.Equal(
            [new ClaimedUnit("demo", "conv2", 17), new ClaimedUnit("demo", "conv2", 19), new ClaimedUnit("demo", "conv3", 9)],
            created.Units.OrderBy(u => u.Op).ThenBy(u => u.Unit));

        var read = (await farm.Http.GetFromJsonAsync<Claim>($"/api/claims/{created.Id}", ViewerFarm.Web))!;
        Assert.Equal(text, read.Text);
        Assert.Equal(created.Units, read.Units);
        Assert.Equal(created.CreatedAt, read.CreatedAt);

        // The claim page links the units of its text; each named unit's page shows the claim.
        var page = await farm.Http.GetStringAsync($"/claims/{created.Id}");
        Assert.Contains("<a href=\"/models/demo/conv2/19\">/models/demo/conv2/19</a>", page);
        foreach (var unit in new[] { "/models/demo/conv3/9", "/models/demo/conv2/17", "/models/demo/conv2/19" })
            Assert.Contains($"data-claim=\"{created.Id}\"", await farm.Http.GetStringAsync(unit));
        Assert.DoesNotContain($"data-claim=\"{created.Id}\"", await farm.Http.GetStringAsync("/models/demo/conv2/18"));

        // Search by a word of the text and by a unit it names.
        var marker = text[^32..];
        Assert.Contains($"data-claim=\"{created.Id}\"", await farm.Http.GetStringAsync($"/claims?q={marker.ToUpperInvariant()}"));
        var byUnit = (await farm.Http.GetFromJsonAsync<Claim[]>("/api/claims?q=demo/conv2/17", ViewerFarm.Web))!;
        Assert.Contains(byUnit, c => c.Id == created.Id);
        Assert.DoesNotContain((await farm.Http.GetFromJsonAsync<Claim[]>("/api/claims?q=demo/conv2/16", ViewerFarm.Web))!, c => c.Id == created.Id);
    }

    [Fact]
    public async Task Writing_a_claim_without_a_token_is_refused()
    {
        var response = await SendAsync(HttpMethod.Post, "/api/claims", new { text = "/models/demo/conv3/1 is a curve detector" }, null);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Post, "/api/claims", new { text = "/models/demo/conv3/1 x" }, "not-a-known-token")).StatusCode);
    }

    [Fact]
    public async Task Only_the_author_edits_or_deletes_a_claim()
    {
        var claim = await CreateAsync("/models/demo/conv3/2 responds to red");
        var other = await SendAsync(HttpMethod.Put, $"/api/claims/{claim.Id}", new { text = "/models/demo/conv3/2 responds to blue" }, ViewerFarm.OperatorToken);
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Contains("author", await other.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Delete, $"/api/claims/{claim.Id}", null, ViewerFarm.OperatorToken)).StatusCode);
        Assert.Equal("/models/demo/conv3/2 responds to red", (await farm.Http.GetFromJsonAsync<Claim>($"/api/claims/{claim.Id}", ViewerFarm.Web))!.Text);

        var edited = await SendAsync(HttpMethod.Put, $"/api/claims/{claim.Id}", new { text = "/models/demo/conv3/3 responds to red" }, ViewerFarm.ResearcherToken);
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        var read = (await farm.Http.GetFromJsonAsync<Claim>($"/api/claims/{claim.Id}", ViewerFarm.Web))!;
        Assert.Equal([new ClaimedUnit("demo", "conv3", 3)], read.Units);
        Assert.True(read.UpdatedAt >= read.CreatedAt);

        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(HttpMethod.Delete, $"/api/claims/{claim.Id}", null, ViewerFarm.ResearcherToken)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await farm.Http.GetAsync($"/api/claims/{claim.Id}")).StatusCode);
    }

    [Theory]
    [InlineData("{\"text\":\"\"}", "text: a claim needs text")]
    [InlineData("{\"text\":\"no unit named here\"}", "units: a claim names at least one unit")]
    [InlineData("{\"text\":\"/models/demo/conv3/48 is odd\"}", "op 'conv3' has 48 units")]
    [InlineData("{\"text\":\"/models/nomodel/conv3/1 is odd\"}", "no model 'nomodel'")]
    [InlineData("{\"text\":\"x\",\"units\":[\"demo/conv9/1\"]}", "units: 'demo/conv9/1': model 'demo' has no op 'conv9'")]
    [InlineData("{\"text\":\"x\",\"units\":[\"conv3\"]}", "units: 'conv3' is not a unit link")]
    [InlineData("{\"txt\":\"x\"}", "")]
    public async Task Bad_claims_are_problems_that_name_the_field(string body, string detail)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/claims") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ViewerFarm.ResearcherToken);
        var response = await farm.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.Contains(detail, problem);
    }

    [Fact]
    public async Task Unit_page_in_a_browser_links_a_claim_to_its_page()
    {
        var claim = await CreateAsync("/models/demo/conv3/5 and /models/demo/conv3/6 fire on the same edges");
        var page = await chromium.NewPageAsync(farm.ViewerUrl);
        await page.GotoAsync("/models/demo/conv3/6");
        var item = page.Locator($"section.claims li[data-claim='{claim.Id}']");
        await Expect(item.Locator("a.claimed-unit")).ToHaveCountAsync(2);
        await item.Locator("a", new() { HasText = "link" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/claims/{claim.Id}$"));
        await page.Locator("a.claimed-unit", new() { HasText = "demo/conv3/5" }).ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("demo / conv3 / unit 5");
        await page.Context.CloseAsync();
    }
}
