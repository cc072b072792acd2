using Microscope.Engine.Circuits;
using Microscope.Engine.Models;
using Microscope.Viewer.Catalogue;
using Microscope.Viewer.Pages;

namespace Microscope.Viewer.Circuits;

/// <summary>One connected unit: its weight on (or from) the unit shown, its link, its feature
/// visualisation (null before it is rendered) and the spatial kernel, rows of columns.</summary>
public sealed record ConnectedUnit(string Op, int Unit, double Weight, string Link, string? Thumbnail, float[][] Kernel);

/// <summary>The strongest connections through one neighbouring op: inputs come from
/// <see cref="Op"/> into the unit; outputs go from the unit into <see cref="Op"/>.</summary>
public sealed record OpConnections(string Op, int KernelHeight, int KernelWidth, IReadOnlyList<ConnectedUnit> Positive, IReadOnlyList<ConnectedUnit> Negative);

/// <summary>What the API's connections endpoint returns and the unit page shows.</summary>
public sealed record UnitConnections(string Model, string Version, string Op, int Unit, string Link, string Circuit,
    IReadOnlyList<OpConnections> Inputs, IReadOnlyList<OpConnections> Outputs);

/// <summary>Builds <see cref="UnitConnections"/> from the weight tables and the catalogue's thumbnails.</summary>
public static class UnitConnectionsBuilder
{
    public const int DefaultTop = 5;

    public static string CircuitHref(string model, string op, int unit, string? pin) =>
        LinkResolver.Href(new Target(model, op, unit)) + "/circuit" + (pin is null ? "" : "?v=" + Uri.EscapeDataString(pin));

    public static string ApiHref(string model, string op, int unit) =>
        $"/api/models/{Uri.EscapeDataString(model)}/{string.Join('/', op.Split('/').Select(Uri.EscapeDataString))}/{unit}/connections";

    public static async Task<UnitConnections> BuildAsync(ModelVersion m, OpInfo op, int unit, int top, CircuitWeights circuits,
        CatalogueReader catalogue, CancellationToken cancel)
    {
        var pin = m.IsLatest ? null : m.Version;
        var inputs = new List<OpConnections>();
        foreach (var from in CircuitPairs.InputOps(m.Descriptor, op.Name))
        {
            var table = await circuits.TableAsync(m, op.Name, from, catalogue, cancel);
            var thumbs = await ThumbnailsAsync(m, from, catalogue, cancel);
            inputs.Add(Strongest(table.WeightsOn(unit), top, a => Connected(m, from, a, table.WeightsOn(unit)[a], table.Kernel(unit, a), table, thumbs, pin), from, table));
        }
        var outputs = new List<OpConnections>();
        foreach (var to in CircuitPairs.OutputOps(m.Descriptor, op.Name))
        {
            var table = await circuits.TableAsync(m, to, op.Name, catalogue, cancel);
            var thumbs = await ThumbnailsAsync(m, to, catalogue, cancel);
            var from = table.WeightsFrom(unit);
            outputs.Add(Strongest(from, top, u => Connected(m, to, u, from[u], table.Kernel(u, unit), table, thumbs, pin), to, table));
        }
        return new UnitConnections(m.Name, m.Version, op.Name, unit, LinkResolver.Href(new Target(m.Name, op.Name, unit), pin),
            CircuitHref(m.Name, op.Name, unit, pin), inputs, outputs);
    }

    private static OpConnections Strongest(double[] weights, int top, Func<int, ConnectedUnit> describe, string op, WeightTable table)
    {
        var order = Enumerable.Range(0, weights.Length).OrderByDescending(i => weights[i]).ThenBy(i => i).ToList();
        var positive = order.Where(i => weights[i] > 0).Take(top).Select(describe).ToList();
        var negative = order.AsEnumerable().Reverse().Where(i => weights[i] < 0).Take(top).Select(describe).ToList();
        return new OpConnections(op, table.KernelHeight, table.KernelWidth, positive, negative);
    }

    private static ConnectedUnit Connected(ModelVersion m, string op, int unit, double weight, ReadOnlySpan<float> kernel, WeightTable table,
        IReadOnlyDictionary<int, string> thumbs, string? pin)
    {
        var rows = new float[table.KernelHeight][];
        for (var y = 0; y < rows.Length; y++) rows[y] = kernel.Slice(y * table.KernelWidth, table.KernelWidth).ToArray();
        return new ConnectedUnit(op, unit, Math.Round(weight, 6), LinkResolver.Href(new Target(m.Name, op, unit), pin), thumbs.GetValueOrDefault(unit), rows);
    }

    /// <summary>Each rendered unit's image of the default technique (one query per op).</summary>
    public static async Task<IReadOnlyDictionary<int, string>> ThumbnailsAsync(ModelVersion m, string op, CatalogueReader catalogue, CancellationToken cancel)
    {
        var technique = TechniqueViews.Default;
        var grid = await catalogue.GridAsync(m.Name, m.Version, op, technique, cancel);
        return grid.Cells.ToDictionary(c => c.Key,
            c => Html.ObjectUrl(TechniqueViews.GridImageKey(m.Name, m.Version, op, c.Key, technique, c.Value.ParamsHash), c.Value.RenderedAt));
    }
}
