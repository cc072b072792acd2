namespace Microscope.Coordinator.Sweeps;

/// <summary>A request the farm refuses, answered as problem details (RFC 9457) with the
/// field-by-field reasons.</summary>
public sealed class ApiProblem(int status, string title, IReadOnlyDictionary<string, string[]> errors)
    : Exception(title + ": " + string.Join("; ", errors.SelectMany(e => e.Value.Select(v => $"{e.Key}: {v}"))))
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;

    public static ApiProblem Invalid(string field, string message) =>
        new(422, "invalid request", new Dictionary<string, string[]> { [field] = [message] });

    public static ApiProblem NotFound(string what) =>
        new(404, "not found", new Dictionary<string, string[]> { ["id"] = [what] });
}
