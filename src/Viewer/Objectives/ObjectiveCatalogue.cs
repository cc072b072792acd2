using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Engine.Lenses;
using Microscope.Viewer.Catalogue;
using Microsoft.EntityFrameworkCore;

namespace Microscope.Viewer.Objectives;

/// <summary>A stored objective render: its result row and its canonical expression (from the
/// parameters behind its hash).</summary>
public sealed record ObjectiveResult(ResultRow Row, string Expression, RenderSettings? Parameters);

/// <summary>Reads the results of the "objective" lens: one per (model version, parameters
/// hash), since the expression is part of the hash.</summary>
public sealed class ObjectiveCatalogue(FarmDb db, CatalogueReader catalogue)
{
    /// <summary>Every objective render of a model version, newest first.</summary>
    public async Task<IReadOnlyList<ObjectiveResult>> ListAsync(string model, string version, CancellationToken cancel)
    {
        var rows = await db.Results.AsNoTracking()
            .Where(r => r.Model == model && r.Version == version && r.Technique == ObjectiveExpressionLens.LensName)
            .OrderByDescending(r => r.RenderedAt).ToListAsync(cancel);
        return await WithExpressions(rows, cancel);
    }

    /// <summary>The objective render with this parameters hash, or null.</summary>
    public async Task<ObjectiveResult?> FindAsync(string model, string version, string hash, CancellationToken cancel)
    {
        var rows = await db.Results.AsNoTracking()
            .Where(r => r.Model == model && r.Version == version && r.Technique == ObjectiveExpressionLens.LensName && r.ParamsHash == hash)
            .OrderByDescending(r => r.RenderedAt).Take(1).ToListAsync(cancel);
        return (await WithExpressions(rows, cancel)).FirstOrDefault();
    }

    private async Task<IReadOnlyList<ObjectiveResult>> WithExpressions(List<ResultRow> rows, CancellationToken cancel)
    {
        var parameters = await catalogue.ParametersAsync(rows.Select(r => r.ParamsHash), cancel);
        return rows.Select(r =>
        {
            var p = parameters.GetValueOrDefault(r.ParamsHash);
            var expression = p?.ParametersOf(ObjectiveExpressionLens.LensName).GetValueOrDefault(ObjectiveExpressionLens.ExpressionParameter) ?? "(expression not recorded)";
            return new ObjectiveResult(r, expression, p);
        }).ToList();
    }

    /// <summary>The list of a model's objective renders.</summary>
    public static string ListHref(string model, string? pinnedVersion = null) =>
        $"/models/{Uri.EscapeDataString(model)}/objectives" + (pinnedVersion is null ? "" : $"?v={Uri.EscapeDataString(pinnedVersion)}");

    /// <summary>The stable link of an objective render.</summary>
    public static string Href(string model, string hash, string? pinnedVersion = null) =>
        $"/models/{Uri.EscapeDataString(model)}/objectives/{Uri.EscapeDataString(hash)}" + (pinnedVersion is null ? "" : $"?v={Uri.EscapeDataString(pinnedVersion)}");
}
