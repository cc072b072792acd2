using Microscope.Coordinator.Data;
using Microscope.Viewer.Catalogue;
using Microscope.Viewer.Pages;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Microscope.Viewer.Tests;

/// <summary>A viewer without tokens: its sweeps page asks for no token it cannot use, and both
/// pages say how to switch writes on.</summary>
public sealed class WritesOffPagesTests
{
    private static SweepProgress Progress() => new(
        new SweepRow
        {
            Id = Guid.NewGuid(), Kind = "sweep", State = SweepStates.Active, Model = "demo", Version = "v",
            OpsJson = "[]", TechniquesJson = "[]", ParametersJson = "{}", ParamsHash = "h", Total = 2,
        },
        new Dictionary<string, IReadOnlyDictionary<string, int>> { ["conv1"] = new Dictionary<string, int> { [TupleStates.Queued] = 2 } },
        new Dictionary<string, int> { [TupleStates.Queued] = 2 }, 0, null, []);

    private static string Html(Microsoft.AspNetCore.Http.IResult result) => Assert.IsType<ContentHttpResult>(result).ResponseContent!;

    [Fact]
    public void The_sweeps_page_shows_a_token_box_only_where_control_is_on_and_says_how_to_switch_it_on()
    {
        var off = Html(SweepsPage.Render([Progress()], writesEnabled: false));
        Assert.DoesNotContain("id=\"token\"", off, StringComparison.Ordinal);
        Assert.DoesNotContain("data-sweep-action", off, StringComparison.Ordinal);
        Assert.Contains("MICROSCOPE_VIEWER__OPERATORTOKENS", off, StringComparison.Ordinal);
        Assert.Contains("microscope demo</code> makes one", off, StringComparison.Ordinal);

        var on = Html(SweepsPage.Render([Progress()], writesEnabled: true));
        Assert.Contains("id=\"token\"", on, StringComparison.Ordinal);
        Assert.DoesNotContain("MICROSCOPE_VIEWER__OPERATORTOKENS", on, StringComparison.Ordinal);
    }
}
