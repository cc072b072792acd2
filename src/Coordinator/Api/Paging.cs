using System.Text;
using System.Text.Json;
using Microscope.Coordinator.Sweeps;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Microscope.Coordinator.Api;

/// <summary>How every list of the API pages: <c>?limit=</c> (1..max, a bounded default) and
/// <c>?after=</c>, an opaque cursor naming the last row of the previous page. The body stays a
/// JSON array (clients of one page are unchanged); a fuller list says so with a
/// <c>Link: &lt;...&gt;; rel="next"</c> header (RFC 8288) whose URL asks for the next page.
/// Keyset paging: a page costs the same wherever it is, and rows added meanwhile are not
/// skipped or repeated.</summary>
public sealed record Page(int Limit, string[]? After)
{
    /// <summary>Reads limit and after from the query; a bad value is a 400 naming it.</summary>
    public static Page Read(HttpRequest request, int defaultLimit, int maxLimit, int cursorFields)
    {
        var limit = defaultLimit;
        var text = request.Query["limit"].ToString();
        if (text.Length > 0 && (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > maxLimit))
            throw Bad("limit", $"limit must be a whole number from 1 to {maxLimit}; got '{Cut(text)}'");
        var after = request.Query["after"].ToString();
        if (after.Length == 0) return new Page(limit, null);
        string[]? fields;
        try { fields = JsonSerializer.Deserialize<string[]>(WebEncoders.Base64UrlDecode(after)); }
        catch (Exception e) when (e is FormatException or JsonException) { fields = null; }
        if (fields is null || fields.Length != cursorFields || fields.Any(f => f is null))
            throw Bad("after", $"'{Cut(after)}' is not a cursor of this list: pass the 'after' of the Link header's next URL unchanged");
        return new Page(limit, fields);
    }

    public static string Cursor(params string[] fields) => WebEncoders.Base64UrlEncode(JsonSerializer.SerializeToUtf8Bytes(fields));

    /// <summary>Answers one page from up to Limit + 1 rows (the extra one only says there is more).</summary>
    public IResult Answer<T>(HttpContext http, IReadOnlyList<T> rows, Func<T, string[]> cursorOf)
    {
        if (rows.Count > Limit)
        {
            var next = Cursor(cursorOf(rows[Limit - 1]));
            var query = http.Request.Query.Where(q => q.Key is not ("after" or "limit"))
                .Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value.ToString())}")
                .Append($"limit={Limit}").Append($"after={next}");
            http.Response.Headers.Append("Link", $"<{http.Request.PathBase}{http.Request.Path}?{string.Join("&", query)}>; rel=\"next\"");
            return Results.Ok(rows.Take(Limit));
        }
        return Results.Ok(rows);
    }

    private static ApiProblem Bad(string field, string message) =>
        new(400, "malformed request", new Dictionary<string, string[]> { [field] = [message] });

    private static string Cut(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
