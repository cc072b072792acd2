using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Microscope.Farm.Hosting;

/// <summary>Request bodies of the farm's HTTP APIs, read strictly: JSON content type, no
/// byte-order mark, no unknown or duplicate fields, numbers as numbers (<c>"steps":"64"</c>
/// is refused), no null where a value is required (nor inside a list), at most one object.</summary>
public static class JsonBody
{
    public static readonly JsonSerializerOptions Strict = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        AllowDuplicateProperties = false,
        Converters = { new JsonStringEnumConverter(allowIntegerValues: false) },
    };

    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    /// <summary>The body as a <typeparamref name="T"/>; throws <see cref="BadBodyException"/>
    /// (400, 413 or 415) naming the problem.</summary>
    public static async Task<T> ReadAsync<T>(HttpRequest request, CancellationToken cancel) where T : class
    {
        if (!request.HasJsonContentType())
            throw new BadBodyException(415, "content-type", $"the body must be application/json, not '{Shorten(request.ContentType ?? "none", 80)}'");
        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, cancel);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new BadBodyException(413, "body", e.Message);
        }
        if (body.AsSpan().StartsWith(Bom)) throw new BadBodyException(400, "body", "the body starts with a byte-order mark: send UTF-8 JSON without one");
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(body, Strict);
        }
        catch (JsonException e)
        {
            throw new BadBodyException(400, string.IsNullOrEmpty(e.Path) ? "body" : e.Path, Shorten(e.Message, 300));
        }
        if (value is null) throw new BadBodyException(400, "body", "a JSON object is required");
        if (NullInList(value) is { } field) throw new BadBodyException(400, field, $"{field} must not hold null");
        return value;
    }

    /// <summary>The first list property of <paramref name="value"/> that holds a null (the
    /// serializer's nullable annotations cover properties, not list elements).</summary>
    private static string? NullInList(object value)
    {
        foreach (var p in value.GetType().GetProperties())
            if (p.PropertyType != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(p.PropertyType)
                && p.GetValue(value) is System.Collections.IEnumerable list && list.Cast<object?>().Any(x => x is null))
                return JsonNamingPolicy.CamelCase.ConvertName(p.Name);
        return null;
    }

    /// <summary>Text shown back to a client, cut to <paramref name="max"/> characters.</summary>
    public static string Shorten(string text, int max) => text.Length <= max ? text : text[..max] + $"... ({text.Length} characters)";
}

/// <summary>A request body the API refuses before reading it as a request.</summary>
public sealed class BadBodyException(int status, string field, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Field { get; } = field;
}
