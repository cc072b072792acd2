namespace Microscope.Coordinator.Data;

/// <summary>A researcher's note on one or more units (issue 12's claims): written through the
/// viewer, its author the id of the token that wrote it (<c>AccessTokens.IdOf</c>).</summary>
public sealed class ClaimRow
{
    public Guid Id { get; set; }
    public string Author { get; set; } = "";
    public string Text { get; set; } = "";
    public long CreatedAt { get; set; }
    public long UpdatedAt { get; set; }
}

/// <summary>A unit a claim names (by model, op and unit: a claim holds across model versions,
/// as the unit's link does).</summary>
public sealed class ClaimUnitRow
{
    public Guid ClaimId { get; set; }
    public string Model { get; set; } = "";
    public string Op { get; set; } = "";
    public int Unit { get; set; }
}
