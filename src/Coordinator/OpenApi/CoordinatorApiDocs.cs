namespace Microscope.Coordinator.OpenApi;

/// <summary>The coordinator's API as its OpenAPI document introduces it (docs/farm.md, "HTTP
/// API", has the details). A route without a line here is still described, without a summary.</summary>
public static class CoordinatorApiDocs
{
    public const string Title = "Microscope Farm coordinator";

    public const string Description = "Sweeps, renders, models and the catalogue of the render farm. Reads are open; writes need "
        + "`Authorization: Bearer <token>` (an operator's for sweeps and models, a researcher's or operator's for renders). "
        + "Errors are problem details. Lists are paged: `?limit=` (bounded) and `?after=` (the cursor from the `Link: <...>; rel=\"next\"` header).";

    public static readonly IReadOnlyDictionary<string, string> Summaries = new Dictionary<string, string>
    {
        ["POST /api/sweeps"] = "Start a sweep: every (op, unit, technique) of a model, packed and sent to the workers (operator)",
        ["GET /api/sweeps"] = "Sweeps and renders, newest first (paged)",
        ["GET /api/sweeps/{id}"] = "A sweep's state, counts by tuple state, rate, ETA and failures",
        ["GET /api/sweeps/{id}/packets"] = "A sweep's work packets (paged)",
        ["GET /api/sweeps/{id}/tuples"] = "A sweep's tuples, optionally of one state (paged)",
        ["POST /api/sweeps/{id}/pause"] = "Send no more packets of the sweep (operator)",
        ["POST /api/sweeps/{id}/resume"] = "Send the sweep's packets again (operator)",
        ["POST /api/sweeps/{id}/cancel"] = "Cancel the sweep's unsent tuples (operator)",
        ["POST /api/sweeps/{id}/retry-failed"] = "Pack and send the sweep's failed tuples again (operator)",
        ["GET /api/techniques"] = "The lens registry: techniques, their parameters and files",
        ["POST /api/renders"] = "Render one unit on the priority lane (researcher or operator)",
        ["POST /api/models/{model}/{op}/{unit}/fires"] = "Where a unit fires on an uploaded PNG or JPEG: its activation map, mean, peak and an overlay PNG (researcher token; 413/415/422 for bad images)",
        ["GET /api/renders/{id}"] = "A render's state and, when done, its image and record",
        ["POST /api/models"] = "Add a model (ONNX or .model.json) to the running farm (operator, multipart form)",
        ["GET /api/models"] = "Registered models and versions, and every model the farm can sweep",
        ["GET /api/models/{model}"] = "A model's descriptor: ops with units, spatial sizes, edges",
        ["GET /api/models/{model}/{op}"] = "An op and its result counts per technique and parameters",
        ["GET /api/models/{model}/{op}/{unit}"] = "Every result of a unit: technique, parameters hash, objective, image and record",
        ["GET /api/results"] = "A model version's catalogue: every stored result, in (op, unit, technique, parameters) order (paged; what `microscope export` reads)",
        ["GET /objects/{key}"] = "A stored file (PNG, SVG, JSON) by its object key",
        ["GET /"] = "The status page (HTML)",
    };
}
