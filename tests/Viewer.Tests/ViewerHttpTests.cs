using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microscope.Coordinator.Data;

namespace Microscope.Viewer.Tests;

/// <summary>Every route over HTTP: pages, links and aliases, search, 404s, objects and
/// their caching, and the write actions with and without tokens.</summary>
[Collection(ViewerCollection.Name)]
public sealed partial class ViewerHttpTests(ViewerFarm farm)
{
    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> Get(string path, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        configure?.Invoke(request);
        var response = await farm.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    private static int Count(string html, string pattern) => Regex.Matches(html, pattern).Count;

    [Fact]
    public async Task Ops_whose_names_hold_slashes_have_links_that_read_as_their_names()
    {
        // The model page links the op with its slashes as path separators...
        var (status, html, _) = await Get("/models/resnetv2_50");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("href=\"/models/resnetv2_50/block2/unit_3/add\"", html);
        // ...which open the op page and the unit page, whose image is served.
        (status, html, _) = await Get("/models/resnetv2_50/block2/unit_3/add");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("<h1>resnetv2_50 / block2/unit_3/add</h1>", html);
        Assert.Contains("href=\"/models/resnetv2_50/block2/unit_3/add/5\"", html);
        (status, html, _) = await Get("/models/resnetv2_50/block2/unit_3/add/5");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("<h1>resnetv2_50 / block2/unit_3/add / unit 5</h1>", html);
        var image = Regex.Match(html, "src=\"(/objects/resnetv2_50/[^\"]+/block2/unit_3/add/5/channel/0123456789ab\\.png\\?r=[0-9]+)\"").Groups[1].Value;
        Assert.NotEqual("", image);
        var (imageStatus, _, imageResponse) = await Get(image);
        Assert.Equal(HttpStatusCode.OK, imageStatus);
        Assert.Equal("image/png", imageResponse.Content.Headers.ContentType?.MediaType);
        // The underscore alias and escaped slashes reach the same unit.
        var (aliasStatus, _, alias) = await Get("/models/resnetv2_50/block2_unit_3_add/5");
        Assert.Equal(HttpStatusCode.Redirect, aliasStatus);
        Assert.Equal("/models/resnetv2_50/block2/unit_3/add/5", alias.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await Get("/models/resnetv2_50/block2%2Funit_3%2Fadd/5")).Status);
        // Missing parts are named whole.
        (status, html, _) = await Get("/models/resnetv2_50/block2/unit_3/addd");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("has no op &#39;block2/unit_3/addd&#39;.", html);
        Assert.Contains("href=\"/models/resnetv2_50/block2/unit_3/add\"", html);
        (status, html, _) = await Get("/models/resnetv2_50/block2/unit_3/add/512");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("Op &#39;block2/unit_3/add&#39; has no unit &#39;512&#39;.", html);
        // Search takes the name as written.
        var (searchStatus, _, search) = await Get("/search?q=" + Uri.EscapeDataString("resnetv2_50/block2/unit_3/add/5"));
        Assert.Equal(HttpStatusCode.Redirect, searchStatus);
        Assert.Equal("/models/resnetv2_50/block2/unit_3/add/5", search.Headers.Location?.OriginalString);
    }

    /// <summary>A GAN generator added to the farm: its page says it is one (the descriptor's
    /// latent, stored by the coordinator and read back by the viewer).</summary>
    [Fact]
    public async Task A_generators_model_page_says_it_is_one()
    {
        using var form = new MultipartFormDataContent { { new ByteArrayContent(File.ReadAllBytes(Microscope.Farm.Tests.TinyOnnxModel.Generator())), "file", "gen.onnx" } };
        using var added = await farm.Farm.PostAsync("/api/models", form);
        Assert.True(added.IsSuccessStatusCode, await added.Content.ReadAsStringAsync());
        var (status, html, _) = await Get("/models/gen");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("a generator: input latent [16, 1, 1], normal prior (weight 1), image &#39;net/net.10/Tanh&#39; in [-1, 1] (32 px), renders optimise the latent", html);
    }

    [Fact]
    public async Task Index_lists_models_with_versions_ops_units_and_progress()
    {
        var (status, html, _) = await Get("/");
        Assert.Equal(HttpStatusCode.OK, status);
        var demoRow = Regex.Match(html, "<tr data-model=\"demo\">.*?</tr>").Value;
        Assert.Contains(farm.DemoVersion, demoRow);
        Assert.Contains("<td class=\"num\">6</td><td class=\"num\">234</td>", demoRow);
        // conv2 (32) + conv3 (48) channels; two parameter sets of conv3 still count once.
        Assert.Contains("data-technique=\"channel\" data-done=\"80\" data-total=\"234\"", demoRow);
        Assert.Contains("data-technique=\"neuron\" data-done=\"48\" data-total=\"234\"", demoRow);
        Assert.Contains("<tr data-model=\"inceptionv1\">", html);
    }

    [Fact]
    public async Task Index_shows_each_models_strongest_channel_visualisation_linking_to_its_unit()
    {
        var (_, html, _) = await Get("/");
        var card = Regex.Match(html, "<li data-model=\"demo\">.*?</li>").Value;
        var link = Regex.Match(card, "<a href=\"/models/demo/([a-z0-9]+)/([0-9]+)\" class=\"picture\"><img loading=\"lazy\" src=\"([^\"]+)\"");
        Assert.True(link.Success, card);
        var (op, unit, src) = (link.Groups[1].Value, int.Parse(link.Groups[2].Value), link.Groups[3].Value);
        // It is the demo's channel result with the highest objective, and its image is served.
        var best = farm.Db(db => db.Results.Where(r => r.Model == "demo" && r.Version == farm.DemoVersion && r.Technique == "channel")
            .OrderByDescending(r => r.ObjectiveEnd).ThenBy(r => r.Op).ThenBy(r => r.Unit).First());
        Assert.Equal((best.Op, best.Unit), (op, unit));
        Assert.Equal("/objects/" + string.Join('/', best.ImageKey.Split('/').Select(Uri.EscapeDataString)), src);
        var (imageStatus, _, image) = await Get(src);
        Assert.Equal(HttpStatusCode.OK, imageStatus);
        Assert.Equal("image/png", image.Content.Headers.ContentType?.MediaType);
        // Coverage in words: 80 of demo's 234 units have a channel visualisation.
        Assert.Contains("80 of 234 units (34 %)", card);
    }

    [Fact]
    public async Task Model_page_draws_the_op_graph_and_coverage_per_technique()
    {
        var (status, html, _) = await Get("/models/demo");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(6, Count(html, "<a href=\"/models/demo/[a-z0-9]+\" class=\"node\""));
        Assert.Equal(5, Count(html, "<line "));
        var conv3 = Regex.Match(html, "<tr data-op=\"conv3\">.*?</tr>").Value;
        Assert.Contains("<td class=\"coverage\" data-technique=\"channel\">48/48</td>", conv3);
        Assert.Contains("<td class=\"coverage\" data-technique=\"neuron\">48/48</td>", conv3);
        var conv2 = Regex.Match(html, "<tr data-op=\"conv2\">.*?</tr>").Value;
        Assert.Contains("<td class=\"coverage\" data-technique=\"channel\">32/32</td>", conv2);
    }

    [Fact]
    public async Task Op_page_has_a_lazy_image_per_unit_for_each_technique_and_the_op_level_results()
    {
        var (status, html, _) = await Get("/models/demo/conv3");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(48, Count(html, "<li data-unit=\"\\d+\">"));
        Assert.Equal(48, Count(html, "<img loading=\"lazy\" decoding=\"async\""));
        Assert.Contains("alt=\"channel visualisation of demo conv3 unit 9\"", html);
        Assert.Contains("alt=\"deepdream visualisation of demo conv3\"", html);
        var neuron = (await Get("/models/demo/conv3?technique=neuron")).Body;
        Assert.Equal(48, Count(neuron, "alt=\"neuron visualisation of demo conv3 unit \\d+\""));
        // conv4 has no results: a grid of placeholders.
        var conv4 = (await Get("/models/demo/conv4")).Body;
        Assert.Equal(64, Count(conv4, "class=\"empty\" role=\"img\""));
        var (bad, badHtml, _) = await Get("/models/demo/conv3?technique=bogus");
        Assert.Equal(HttpStatusCode.NotFound, bad);
        Assert.Contains("has no technique &#39;bogus&#39;", badHtml);
    }

    [Fact]
    public async Task Unit_page_shows_every_technique_every_parameter_set_and_neighbours()
    {
        var (status, html, _) = await Get("/models/demo/conv3/9");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("<h1>demo / conv3 / unit 9</h1>", html);
        var sections = Regex.Matches(html, "<section class=\"technique\" data-technique=\"([a-z_]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["channel", "neuron", "diversity", "dataset_examples", "tuning_curves"], sections);
        Assert.Equal(4, Count(html, "alt=\"diversity visualisation of demo conv3 unit 9 \\(diversity image \\d\\)\""));
        Assert.Equal(4, Count(html, "\\.svg\\?r=[0-9]+\" alt=\"tuning curves visualisation of demo conv3 unit 9"));
        Assert.Contains("Every stored parameter set (2)", html);
        // Dataset examples: scores and crops from the record, in rank order.
        var examples = Regex.Match(html, "data-technique=\"dataset_examples\">.*?</section>", RegexOptions.Singleline).Value;
        Assert.Contains("<p class=\"dataset-source\">Searched in folder /weights/datasets/places365 (2048 images); 2047 images seen.</p>", examples);
        Assert.Contains("<tr><td class=\"num\">1</td><td>procedural/0017</td><td class=\"num\">3.25</td><td>whole image</td></tr>", examples);
        Assert.Contains("<tr><td class=\"num\">2</td><td>procedural/0420</td><td class=\"num\">2.5</td>", examples);
        Assert.Contains("<tr><td class=\"num\">1</td><td>procedural/0099</td><td class=\"num\">4.125</td><td>10, 12, 18, 18</td></tr>", examples);
        // The newest channel parameter set (6 steps, seed 1) is the one shown first.
        var channel = Regex.Match(html, "data-technique=\"channel\">.*?</section>", RegexOptions.Singleline).Value;
        Assert.Contains("<tr><th scope=\"row\">steps</th><td>6</td></tr>", channel);
        Assert.Contains("4 steps, 32 px, seed 0", channel);
        Assert.Contains("rel=\"prev\" href=\"/models/demo/conv3/8\"", html);
        Assert.Contains("rel=\"next\" href=\"/models/demo/conv3/10\"", html);
        Assert.Contains($"data-href=\"/models/demo/conv3/9?v={farm.DemoVersion}\"", html);
        // Op-level results stay on the op page.
        Assert.DoesNotContain("data-technique=\"deepdream\"", (await Get("/models/demo/conv3/0")).Body);
        var first = (await Get("/models/demo/conv3/0")).Body;
        Assert.DoesNotContain("rel=\"prev\"", first);
        Assert.DoesNotContain("rel=\"next\"", (await Get("/models/demo/conv3/47")).Body);
    }

    [Theory]
    [InlineData("/models/demo/conv3_0", "/models/demo/conv3")]
    [InlineData("/models/demo/conv3_0/9", "/models/demo/conv3/9")]
    [InlineData("/models/demo/CONV3/9", "/models/demo/conv3/9")]
    // The long names of Microscope's own links (they answered 404 while the engine knew them).
    [InlineData("/models/resnetv2_50/resnet_v2_50_block2_unit_3_bottleneck_v2_add_0/5", "/models/resnetv2_50/block2/unit_3/add/5")]
    [InlineData("/models/inceptionv1/mixed4c_0/447", "/models/inceptionv1/mixed4c/447")]
    public async Task Microscope_aliases_redirect_to_the_canonical_link(string path, string canonical)
    {
        var (status, _, response) = await Get(path);
        Assert.Equal(HttpStatusCode.Redirect, status);
        Assert.Equal(canonical, response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Version_pinning_shows_that_version_and_an_unknown_version_is_a_404()
    {
        var (status, html, _) = await Get($"/models/demo/conv3/9?v={farm.DemoVersion}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(farm.DemoVersion, html);
        var (missing, body, _) = await Get("/models/demo/conv3/9?v=000000000000");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Contains("Model &#39;demo&#39; has no version &#39;000000000000&#39;", body);
        Assert.Contains($"?v={farm.DemoVersion}", body);
    }

    [Theory]
    [InlineData("/models/dmeo", "model", "There is no model &#39;dmeo&#39;.", "/models/demo")]
    [InlineData("/models/demo/conv33", "op", "Model &#39;demo&#39; has no op &#39;conv33&#39;.", "/models/demo/conv3")]
    [InlineData("/models/demo/conv33/4", "op", "Model &#39;demo&#39; has no op &#39;conv33&#39;.", "/models/demo/conv3")]
    [InlineData("/models/demo/conv3/48", "unit", "Op &#39;conv3&#39; has no unit &#39;48&#39;.", "/models/demo/conv3/47")]
    [InlineData("/models/demo/conv3/-1", "unit", "Op &#39;conv3&#39; has no unit &#39;-1&#39;.", "/models/demo/conv3/0")]
    [InlineData("/models/demo/conv3/nine", "unit", "Op &#39;conv3&#39; has no unit &#39;nine&#39;.", "/models/demo/conv3/0")]
    public async Task Unknown_parts_are_404_pages_naming_the_part_with_near_matches(string path, string part, string message, string suggestion)
    {
        var (status, html, response) = await Get(path);
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains($"data-part=\"{part}\">{message}</p>", html);
        Assert.Contains($"<a href=\"{suggestion}\">", html);
    }

    [Theory]
    [InlineData("conv3:9", null, "/models/demo/conv3/9")]
    [InlineData("demo/conv3/9", null, "/models/demo/conv3/9")]
    [InlineData(" demo/conv3_0/9 ", null, "/models/demo/conv3/9")]
    [InlineData("demo/conv3:9", null, "/models/demo/conv3/9")]
    [InlineData("demo:conv3:9", null, "/models/demo/conv3/9")]
    [InlineData("/models/demo/conv3/9", null, "/models/demo/conv3/9")]
    [InlineData("demo", null, "/models/demo")]
    [InlineData("conv3", null, "/models/demo/conv3")]
    [InlineData("4c:447", null, "/models/inceptionv1/mixed4c/447")]
    [InlineData("mixed4c:447", null, "/models/inceptionv1/mixed4c/447")]
    [InlineData("mixed4c_0:447", null, "/models/inceptionv1/mixed4c/447")]
    [InlineData("inceptionv1/mixed4c/447", null, "/models/inceptionv1/mixed4c/447")]
    [InlineData("inceptionv1/mixed4c_0/447", null, "/models/inceptionv1/mixed4c/447")]
    [InlineData("conv3:9", "demo", "/models/demo/conv3/9")]
    [InlineData("", null, "/")]
    public async Task Search_shorthands_lead_to_the_same_page(string q, string? context, string expected)
    {
        var (status, _, response) = await Get($"/search?q={Uri.EscapeDataString(q)}" + (context is null ? "" : $"&m={context}"));
        Assert.Equal(HttpStatusCode.Redirect, status);
        Assert.Equal(expected, response.Headers.Location!.OriginalString);
    }

    [Theory]
    [InlineData("4c:9999", "unit", "Op &#39;mixed4c&#39; has no unit &#39;9999&#39;.")]
    [InlineData("nosuch/conv3/1", "model", "There is no model &#39;nosuch&#39;.")]
    [InlineData("conv9:1", "op", "has no op &#39;conv9&#39;.")]
    public async Task Search_for_something_missing_is_a_404_naming_it(string q, string part, string message)
    {
        var (status, html, _) = await Get($"/search?q={Uri.EscapeDataString(q)}");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains($"data-part=\"{part}\"", html);
        Assert.Contains(message, html);
    }

    [Fact]
    public async Task Sweeps_page_shows_progress_by_op_rate_eta_and_failure_reasons()
    {
        var (status, html, _) = await Get("/sweeps");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(Count(html, "<section class=\"sweep\"") >= 4);
        var conv = Regex.Match(html, $"<section class=\"sweep\" data-sweep=\"{farm.ConvSweep}\".*?</section>", RegexOptions.Singleline).Value;
        Assert.Contains("data-technique=\"done\" data-done=\"80\" data-total=\"80\"", conv);
        Assert.Contains("<tr data-op=\"conv2\">", conv);
        Assert.Contains("<td class=\"num\">48</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">48</td>", conv);
        Assert.Contains("ETA none (nothing open)", conv);
        // A finished sweep's rate is over its whole run: well above what 5 minutes would say.
        var rate = double.Parse(Regex.Match(conv, "rate ([0-9.]+) units/min").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(rate > 80 / 5.0, $"rate {rate}");
        var failed = Regex.Match(html, $"<section class=\"sweep\" data-sweep=\"{farm.FailedSweep}\".*?</section>", RegexOptions.Singleline).Value;
        Assert.Contains("exceeds this worker&#39;s limit of 64 px", failed);
        Assert.Contains("<td class=\"num\">16</td></tr>", failed); // 16 conv1 units failed, one reason
        Assert.Contains($"data-sweep-action=\"/sweeps/{farm.FailedSweep}/retry-failed\"", failed);
        // Only the controls that can change the sweep: none for a done one, retry for a failed one.
        Assert.DoesNotContain("data-sweep-action", conv);
        Assert.Equal(1, Count(failed, "data-sweep-action"));
    }

    [Theory]
    [InlineData("active", 5, 0, "pause cancel")]
    [InlineData("active", 5, 2, "pause cancel retry-failed")]
    [InlineData("paused", 5, 0, "resume cancel")]
    [InlineData("paused", 0, 0, "resume")]
    [InlineData("active", 0, 3, "retry-failed")]
    [InlineData("active", 0, 0, "")]
    [InlineData("cancelled", 5, 3, "")]
    public void Sweep_controls_follow_the_sweep_s_state(string state, int open, int failed, string expected) =>
        Assert.Equal(expected, string.Join(' ', Microscope.Viewer.Pages.SweepsPage.Actions(state, open, failed).Select(a => a.Action)));

    [Fact]
    public async Task Sweep_control_needs_an_operator_token()
    {
        var path = $"/sweeps/{farm.FailedSweep}/retry-failed";
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(path, null)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(path, "not-a-known-token")).Status);
        var researcher = await Post(path, ViewerFarm.ResearcherToken);
        Assert.Equal(HttpStatusCode.Forbidden, researcher.Status);
        Assert.Contains("needs an operator token", researcher.Body);
        Assert.Equal(HttpStatusCode.NotFound, (await Post($"/sweeps/{farm.FailedSweep}/explode", ViewerFarm.OperatorToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Post($"/sweeps/{Guid.NewGuid()}/pause", ViewerFarm.OperatorToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Post("/sweeps/not-a-guid/pause", ViewerFarm.OperatorToken)).Status);
        // The API key header works as well as a bearer token; the coordinator does the work.
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Add("X-Api-Key", ViewerFarm.OperatorToken);
        using var response = await farm.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var status = await farm.WaitAsync(farm.FailedSweep, TimeSpan.FromMinutes(2));
        Assert.Equal(16, status.Counts["failed"]);
    }

    [Fact]
    public async Task Malformed_writes_and_wrong_methods_are_problems()
    {
        const string unit = "/models/demo/conv2/3/renders";
        foreach (var body in new[] { """{"steps":"64"}""", """{"steps":4,"color":"red"}""", """{"force":null}""", "\uFEFF{}", "[1]", "null" })
        {
            var r = await Post(unit, ViewerFarm.ResearcherToken, body);
            Assert.True(r.Status == HttpStatusCode.BadRequest, $"{body}: {(int)r.Status} {r.Body}");
            Assert.Contains("\"status\":400", r.Body);
        }
        foreach (var (method, path) in new[] { (HttpMethod.Put, "/sweeps"), (HttpMethod.Delete, "/models/demo"), (HttpMethod.Post, "/search"), (HttpMethod.Patch, "/") })
        {
            using var response = await farm.Http.SendAsync(new HttpRequestMessage(method, path));
            Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        using var tooLong = await farm.Http.GetAsync("/search?q=" + new string('x', 10_000));
        Assert.Equal((HttpStatusCode.RequestUriTooLong, "application/problem+json"), (tooLong.StatusCode, tooLong.Content.Headers.ContentType?.MediaType));
    }

    private async Task<(HttpStatusCode Status, string Body)> Post(string path, string? token, string? json = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await farm.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Rerender_needs_a_token_checks_its_input_and_renders_with_the_worker()
    {
        const string path = "/models/demo/conv2/3/renders";
        var body = "{\"technique\":\"channel\",\"steps\":5,\"size\":24,\"seed\":3,\"learningRate\":0.05,\"transforms\":false,\"force\":true}";
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(path, null, body)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(path, "wrong-token-xyz", body)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(path, ViewerFarm.ResearcherToken, "{not json")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(path, ViewerFarm.ResearcherToken, "{\"steps\":\"many\"}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Post("/models/demo/conv2/99/renders", ViewerFarm.ResearcherToken, body)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Post("/models/nope/conv2/1/renders", ViewerFarm.ResearcherToken, body)).Status);
        // The coordinator's validation comes back as is.
        var invalid = await Post(path, ViewerFarm.ResearcherToken, "{\"technique\":\"nonsense\",\"steps\":0}");
        Assert.Equal((HttpStatusCode)422, invalid.Status);
        Assert.Contains("nonsense", invalid.Body);

        var accepted = await Post(path, ViewerFarm.OperatorToken, body);
        Assert.Equal(HttpStatusCode.Accepted, accepted.Status);
        var statusUrl = JsonDocument.Parse(accepted.Body).RootElement.GetProperty("statusUrl").GetString()!;
        JsonElement state = default;
        for (var i = 0; i < 600; i++)
        {
            state = JsonDocument.Parse((await Get(statusUrl)).Body).RootElement;
            if (state.GetProperty("state").GetString() is "done" or "failed") break;
            await Task.Delay(200);
        }
        Assert.Equal("done", state.GetProperty("state").GetString());
        var image = await farm.Http.GetByteArrayAsync(state.GetProperty("imageUrl").GetString());
        var (w, h) = PngSize(image);
        Assert.Equal((24, 24), (w, h));
        Assert.Equal(HttpStatusCode.NotFound, (await Get("/renders/not-a-guid")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Get($"/renders/{Guid.NewGuid()}")).Status);
        // The new parameter set is listed on the unit page beside the sweep's.
        var page = (await Get("/models/demo/conv2/3")).Body;
        Assert.Contains("Every stored parameter set (2)", page);
        Assert.Contains("5 steps, 24 px, seed 3, learning rate 0.05, transforms off", page);
        var firstUrl = state.GetProperty("imageUrl").GetString()!;
        Assert.Contains(firstUrl, page);

        // The same re-render again writes the same object key; objects are cached as immutable,
        // so the page must link the new render by a URL of its own.
        var again = await Post(path, ViewerFarm.OperatorToken, body);
        statusUrl = JsonDocument.Parse(again.Body).RootElement.GetProperty("statusUrl").GetString()!;
        for (var i = 0; i < 600; i++)
        {
            state = JsonDocument.Parse((await Get(statusUrl)).Body).RootElement;
            if (state.GetProperty("state").GetString() is "done" or "failed") break;
            await Task.Delay(200);
        }
        var secondUrl = state.GetProperty("imageUrl").GetString()!;
        Assert.Equal(firstUrl.Split('?')[0], secondUrl.Split('?')[0]);
        Assert.NotEqual(firstUrl, secondUrl);
        page = (await Get("/models/demo/conv2/3")).Body;
        Assert.Contains(secondUrl, page);
        Assert.DoesNotContain(firstUrl, page);
        Assert.Equal((24, 24), PngSize(await farm.Http.GetByteArrayAsync(secondUrl)));
    }

    internal static (int Width, int Height) PngSize(byte[] png)
    {
        Assert.Equal(0x89, png[0]);
        Assert.Equal((byte)'P', png[1]);
        static int BigEndian(byte[] b, int at) => (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
        return (BigEndian(png, 16), BigEndian(png, 20));
    }

    [Fact]
    public async Task Objects_are_immutable_with_an_etag_and_answer_304_when_unchanged()
    {
        var key = farm.Db(db => db.Results.First(r => r.Model == "demo" && r.Op == "conv3" && r.Unit == 9 && r.Technique == "channel").ImageKey);
        var (status, _, response) = await Get("/objects/" + key);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl!.ToString());
        var etag = response.Headers.ETag!;
        Assert.Equal((32, 32), PngSize(await response.Content.ReadAsByteArrayAsync()));
        var (again, _, second) = await Get("/objects/" + key, r => r.Headers.IfNoneMatch.Add(etag));
        Assert.Equal(HttpStatusCode.NotModified, again);
        Assert.Equal(etag, second.Headers.ETag);
        var (changed, _, _) = await Get("/objects/" + key, r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"other\"")));
        Assert.Equal(HttpStatusCode.OK, changed);
        var svgKey = farm.Db(db => db.Results.First(r => r.Technique == "tuning_curves").ImageKey);
        var (_, svg, svgResponse) = await Get("/objects/" + svgKey);
        Assert.Equal("image/svg+xml", svgResponse.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("<svg", svg);
        Assert.Contains("default-src 'none'", svgResponse.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal(HttpStatusCode.NotFound, (await Get("/objects/demo/nothing/here.png")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Get("/objects/demo/%2E%2E/%2E%2E/farm.db")).Status);
    }

    [Fact]
    public async Task Static_assets_health_and_unknown_paths()
    {
        var (css, cssBody, cssResponse) = await Get("/static/viewer.css");
        Assert.Equal(HttpStatusCode.OK, css);
        Assert.Equal("text/css", cssResponse.Content.Headers.ContentType!.MediaType);
        Assert.Contains(":focus-visible", cssBody);
        Assert.Contains("immutable", cssResponse.Headers.CacheControl!.ToString());
        var (js, jsBody, _) = await Get("/static/viewer.js");
        Assert.Equal(HttpStatusCode.OK, js);
        Assert.Contains("a[rel=\"", jsBody);
        Assert.Equal(HttpStatusCode.OK, (await Get("/health/live")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Get("/health/ready")).Status);
        var (missing, html, _) = await Get("/no/such/page");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Contains("<h1>Not found</h1>", html);
    }

    [Fact]
    public async Task Pages_have_one_h1_and_every_image_has_alt_text()
    {
        foreach (var path in new[] { "/", "/models/demo", "/models/demo/conv3", "/models/demo/conv3/9", "/sweeps", "/models/demo/conv99" })
        {
            var html = (await Get(path)).Body;
            Assert.Equal(1, Count(html, "<h1>"));
            Assert.Equal(Count(html, "<img "), Count(html, "<img [^>]*alt=\"[^\"]+\""));
            Assert.Contains("<html lang=\"en\">", html);
        }
    }
}
