using System.Text.RegularExpressions;
using Microscope.Coordinator.Data;
using Microscope.Viewer.Catalogue;
using Microsoft.EntityFrameworkCore;

namespace Microscope.Viewer.Claims;

/// <summary>A unit a claim names.</summary>
public sealed record ClaimedUnit(string Model, string Op, int Unit)
{
    public string Link => LinkResolver.Href(new Target(Model, Op, Unit));
}

/// <summary>A claim as the API returns it.</summary>
public sealed record Claim(Guid Id, string Author, string Text, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<ClaimedUnit> Units)
{
    public string Link => $"/claims/{Id}";
}

/// <summary>The body of POST /api/claims and PUT /api/claims/{id}: the text, whose unit links
/// (<c>/models/demo/conv3/9</c>) count as named units, and optionally more units
/// (<c>demo/conv3/9</c>, <c>/models/demo/conv3/9</c>).</summary>
public sealed record ClaimForm(string Text, IReadOnlyList<string>? Units = null);

/// <summary>Bad claim input: the message names the field and the problem.</summary>
public sealed class BadClaimException(string message) : Exception(message);

/// <summary>Claims in the catalogue database: validation (every named unit exists), writes by
/// their author only, reads by unit and by search.</summary>
public sealed partial class ClaimStore(FarmDb db, CatalogueReader catalogue, TimeProvider clock)
{
    public const int MaxText = 4000, MaxUnits = 64;

    /// <summary>Unit links in a claim's text: /models/{model}/{op...}/{unit}.</summary>
    [GeneratedRegex(@"/models/[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-/]+?/\d+(?![\w/])")]
    public static partial Regex UnitLink();

    public async Task<Claim> CreateAsync(string author, ClaimForm form, CancellationToken cancel)
    {
        var units = await ValidateAsync(form, cancel);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var row = new ClaimRow { Id = Guid.NewGuid(), Author = author, Text = form.Text.Trim(), CreatedAt = now, UpdatedAt = now };
        db.Claims.Add(row);
        db.ClaimUnits.AddRange(units.Select(u => new ClaimUnitRow { ClaimId = row.Id, Model = u.Model, Op = u.Op, Unit = u.Unit }));
        await db.SaveChangesAsync(cancel);
        return ToClaim(row, units);
    }

    /// <summary>Replaces a claim's text and units; null when there is no such claim.</summary>
    public async Task<Claim?> UpdateAsync(Guid id, ClaimForm form, CancellationToken cancel)
    {
        var row = await db.Claims.FirstOrDefaultAsync(c => c.Id == id, cancel);
        if (row is null) return null;
        var units = await ValidateAsync(form, cancel);
        row.Text = form.Text.Trim();
        row.UpdatedAt = clock.GetUtcNow().ToUnixTimeMilliseconds();
        db.ClaimUnits.RemoveRange(await db.ClaimUnits.Where(u => u.ClaimId == id).ToListAsync(cancel));
        db.ClaimUnits.AddRange(units.Select(u => new ClaimUnitRow { ClaimId = id, Model = u.Model, Op = u.Op, Unit = u.Unit }));
        await db.SaveChangesAsync(cancel);
        return ToClaim(row, units);
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken cancel)
    {
        var row = await db.Claims.FirstOrDefaultAsync(c => c.Id == id, cancel);
        if (row is null) return false;
        db.ClaimUnits.RemoveRange(await db.ClaimUnits.Where(u => u.ClaimId == id).ToListAsync(cancel));
        db.Claims.Remove(row);
        await db.SaveChangesAsync(cancel);
        return true;
    }

    public async Task<Claim?> FindAsync(Guid id, CancellationToken cancel)
    {
        var row = await db.Claims.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, cancel);
        return row is null ? null : (await WithUnitsAsync([row], cancel)).Single();
    }

    /// <summary>The claims naming a unit, newest first.</summary>
    public async Task<IReadOnlyList<Claim>> OfUnitAsync(string model, string op, int unit, CancellationToken cancel)
    {
        var ids = db.ClaimUnits.Where(u => u.Model == model && u.Op == op && u.Unit == unit).Select(u => u.ClaimId);
        return await WithUnitsAsync(await db.Claims.AsNoTracking().Where(c => ids.Contains(c.Id)).OrderByDescending(c => c.CreatedAt).ToListAsync(cancel), cancel);
    }

    /// <summary>Claims whose text contains the query (any case), or that name the unit it
    /// links (<c>demo/conv3/9</c>, <c>/models/demo/conv3/9</c>), newest first; all without a query.</summary>
    public async Task<IReadOnlyList<Claim>> SearchAsync(string? query, int take, CancellationToken cancel)
    {
        var claims = db.Claims.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(query))
        {
            var q = query.Trim().ToLowerInvariant();
            var (model, op, unitText) = LinkResolver.Parse(query);
            IQueryable<Guid> naming = db.ClaimUnits.Where(u => false).Select(u => u.ClaimId);
            if (model is not null && op is not null && unitText is not null && LinkResolver.TryUnit(unitText, out var unit))
                naming = db.ClaimUnits.Where(u => u.Model == model && u.Op == op && u.Unit == unit).Select(u => u.ClaimId);
            claims = claims.Where(c => c.Text.ToLower().Contains(q) || naming.Contains(c.Id));
        }
        return await WithUnitsAsync(await claims.OrderByDescending(c => c.CreatedAt).Take(take).ToListAsync(cancel), cancel);
    }

    /// <summary>The author of a claim, or null when there is none.</summary>
    public async Task<string?> AuthorOfAsync(Guid id, CancellationToken cancel) =>
        await db.Claims.AsNoTracking().Where(c => c.Id == id).Select(c => c.Author).FirstOrDefaultAsync(cancel);

    private async Task<IReadOnlyList<ClaimedUnit>> ValidateAsync(ClaimForm form, CancellationToken cancel)
    {
        if (string.IsNullOrWhiteSpace(form.Text)) throw new BadClaimException("text: a claim needs text");
        if (form.Text.Length > MaxText) throw new BadClaimException($"text: {form.Text.Length} characters; at most {MaxText}");
        var named = UnitLink().Matches(form.Text).Select(m => ("text", m.Value)).Concat((form.Units ?? []).Select(u => ("units", u))).ToList();
        if (named.Count == 0) throw new BadClaimException("units: a claim names at least one unit (in units, or as a link /models/{model}/{op}/{unit} in its text)");
        var units = new List<ClaimedUnit>();
        foreach (var (field, link) in named)
        {
            var (model, op, unitText) = LinkResolver.Parse(link ?? "");
            if (model is null || op is null || unitText is null || !LinkResolver.TryUnit(unitText, out var unit))
                throw new BadClaimException($"{field}: '{link}' is not a unit link such as demo/conv3/9");
            var m = await catalogue.FindModelAsync(model, null, cancel) ?? throw new BadClaimException($"{field}: '{link}': no model '{model}'");
            var o = LinkResolver.FindOp(m.Descriptor, op) ?? throw new BadClaimException($"{field}: '{link}': model '{model}' has no op '{op}'");
            if (unit >= o.Channels) throw new BadClaimException($"{field}: '{link}': op '{o.Name}' has {o.Channels} units");
            var claimed = new ClaimedUnit(m.Name, o.Name, unit);
            if (!units.Contains(claimed)) units.Add(claimed);
        }
        if (units.Count > MaxUnits) throw new BadClaimException($"units: {units.Count} units; at most {MaxUnits}");
        return Ordered(units);
    }

    private static List<ClaimedUnit> Ordered(IEnumerable<ClaimedUnit> units) =>
        units.OrderBy(u => u.Model, StringComparer.Ordinal).ThenBy(u => u.Op, StringComparer.Ordinal).ThenBy(u => u.Unit).ToList();

    private async Task<IReadOnlyList<Claim>> WithUnitsAsync(IReadOnlyList<ClaimRow> rows, CancellationToken cancel)
    {
        var ids = rows.Select(r => r.Id).ToList();
        var units = (await db.ClaimUnits.AsNoTracking().Where(u => ids.Contains(u.ClaimId)).ToListAsync(cancel)).ToLookup(u => u.ClaimId);
        return rows.Select(r => ToClaim(r, Ordered(units[r.Id].Select(u => new ClaimedUnit(u.Model, u.Op, u.Unit))))).ToList();
    }

    private static Claim ToClaim(ClaimRow r, IReadOnlyList<ClaimedUnit> units) =>
        new(r.Id, r.Author, r.Text, DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAt), DateTimeOffset.FromUnixTimeMilliseconds(r.UpdatedAt), units);
}
