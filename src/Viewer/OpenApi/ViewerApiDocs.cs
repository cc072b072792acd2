namespace Microscope.Viewer.OpenApi;

/// <summary>The viewer's routes as its OpenAPI document introduces them (docs/viewer.md has the
/// details). Most answer HTML pages (stable links a script can fetch too); the JSON ones are
/// the re-render and sweep actions and a render's status. A route without a line here is
/// still described, without a summary.</summary>
public static class ViewerApiDocs
{
    public const string Title = "Microscope viewer";

    public const string Description = "The catalogue's pages by stable links (`/models/{model}/{op}/{unit}`), search, objects, "
        + "and the token-protected actions it forwards to the coordinator (`Authorization: Bearer <token>`). Errors are problem details.";

    public static readonly IReadOnlyDictionary<string, string> Summaries = new Dictionary<string, string>
    {
        ["GET /"] = "Every model with its coverage (HTML)",
        ["GET /models/{model}"] = "A model: its op graph and what is rendered (HTML)",
        ["GET /models/{model}/{path}"] = "An op's units ({op}) or a unit's results ({op}/{unit}) (HTML; aliases redirect)",
        ["POST /models/{model}/{path}"] = "Re-render a unit ({op}/{unit}) with other parameters (researcher token; JSON: id and status URL)",
        ["GET /search"] = "Search by address text such as 4c:447 (HTML, or a redirect to the one match)",
        ["GET /sweeps"] = "Sweep progress and control (HTML)",
        ["POST /sweeps/{id}/{action}"] = "Pause, resume, cancel or retry-failed a sweep (operator token)",
        ["GET /renders/{id}"] = "A re-render's state and, when done, its image (JSON)",
        ["GET /objects/{key}"] = "A stored file (PNG, SVG, JSON), immutable and cached by ETag",
        ["GET /static/viewer.css"] = "The pages' stylesheet",
        ["GET /static/viewer.js"] = "The pages' script",
        ["GET /api/models/{model}/{op}/{unit}/connections"] = "A unit's strongest input and output units by expanded weight (JSON; ?top=, ?v=)",
        ["GET /models/{model}/{op}/{unit}/circuit"] = "A unit with its top inputs and their top inputs, two levels, as a picture (HTML/SVG)",
        ["POST /api/claims"] = "Attach a claim (a note with unit links) to units (researcher token; JSON)",
        ["GET /api/claims"] = "Claims, newest first, optionally searched by text or unit link (?q=; JSON)",
        ["GET /api/claims/{id}"] = "One claim (JSON)",
        ["PUT /api/claims/{id}"] = "Edit a claim (its author's token)",
        ["DELETE /api/claims/{id}"] = "Delete a claim (its author's token)",
        ["GET /claims/{id}"] = "One claim with the units it names (HTML)",
        ["GET /claims"] = "Claims, searchable (?q=; HTML)",
        ["GET /models/{model}/objectives"] = "Every objective render of the model, newest first (HTML)",
        ["GET /models/{model}/objectives/{hash}"] = "One objective render's stable page: its expression, image and linked terms (HTML; ?v=)",
    };
}
