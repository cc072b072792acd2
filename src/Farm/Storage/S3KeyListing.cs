using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;

namespace Microscope.Farm.Storage;

/// <summary>Every key under a prefix, by ListObjects v1 (GET /bucket?prefix=..&amp;marker=..),
/// paged by marker, signed with AWS Signature V4. The one request the Minio client (7.0.0)
/// cannot make for us: its v2 listing fails on s3rver past 1,000 keys (s3rver's continuation
/// tokens need DES, which Node's OpenSSL 3 lacks), its v1 listing stops after the first page
/// (it only follows v2 continuation tokens), and it reads results only in S3's XML namespace,
/// which s3rver does not use. v1 by marker is served alike by S3, MinIO and s3rver.</summary>
public sealed class S3KeyListing(HttpClient http, Uri endpoint, string bucket, string region, string accessKey, string secretKey)
{
    private static readonly string EmptyPayloadHash = Hex(SHA256.HashData([]));

    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel = default)
    {
        var keys = new List<string>();
        var marker = "";
        while (true)
        {
            var from = marker;
            var page = await S3ObjectStore.Retry(() => PageAsync(prefix, from, cancel), cancel);
            keys.AddRange(page.Keys);
            if (!page.Truncated || page.Keys.Count == 0) return keys;
            marker = page.NextMarker ?? page.Keys[^1];
        }
    }

    private sealed record Page(IReadOnlyList<string> Keys, bool Truncated, string? NextMarker);

    private async Task<Page> PageAsync(string prefix, string marker, CancellationToken cancel)
    {
        var query = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["max-keys"] = "1000", ["prefix"] = prefix };
        if (marker.Length > 0) query["marker"] = marker;
        var queryString = string.Join('&', query.Select(p => $"{Encode(p.Key)}={Encode(p.Value)}"));
        var path = "/" + Encode(bucket);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(endpoint, path + "?" + queryString));
        Sign(request, path, queryString, DateTime.UtcNow);
        using var response = await http.SendAsync(request, cancel);
        var body = await response.Content.ReadAsStringAsync(cancel);
        if ((int)response.StatusCode >= 500) throw new HttpRequestException($"HTTP {(int)response.StatusCode}", null, response.StatusCode);
        if (!response.IsSuccessStatusCode)
            throw new IOException($"listing {bucket}/{prefix} failed: HTTP {(int)response.StatusCode} {Truncate(body)}");
        // By local name: S3 and MinIO answer in S3's namespace, s3rver in another.
        var root = XDocument.Parse(body).Root!;
        string? Child(XElement e, string name) => e.Elements().FirstOrDefault(x => x.Name.LocalName == name)?.Value;
        var keys = root.Elements().Where(e => e.Name.LocalName == "Contents").Select(e => Child(e, "Key")!).ToList();
        var truncated = string.Equals(Child(root, "IsTruncated"), "true", StringComparison.OrdinalIgnoreCase);
        return new Page(keys, truncated, Child(root, "NextMarker") is { Length: > 0 } next ? next : null);
    }

    private void Sign(HttpRequestMessage request, string path, string queryString, DateTime now)
    {
        var host = endpoint.IsDefaultPort ? endpoint.Host : $"{endpoint.Host}:{endpoint.Port}";
        var amzDate = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        request.Headers.Host = host;
        request.Headers.Add("x-amz-date", amzDate);
        request.Headers.Add("x-amz-content-sha256", EmptyPayloadHash);
        request.Headers.TryAddWithoutValidation("Authorization", Authorization(host, path, queryString, amzDate, region, accessKey, secretKey));
    }

    /// <summary>The Authorization header of AWS Signature V4 for a GET without a body, signing
    /// host, x-amz-content-sha256 (the empty body's hash) and x-amz-date (<paramref name="amzDate"/>,
    /// yyyyMMddTHHmmssZ); <paramref name="queryString"/> already canonical (sorted, encoded).</summary>
    public static string Authorization(string host, string path, string queryString, string amzDate, string region, string accessKey, string secretKey)
    {
        const string signedHeaders = "host;x-amz-content-sha256;x-amz-date";
        var date = amzDate[..8];
        var canonical = $"GET\n{path}\n{queryString}\nhost:{host}\nx-amz-content-sha256:{EmptyPayloadHash}\nx-amz-date:{amzDate}\n\n{signedHeaders}\n{EmptyPayloadHash}";
        var scope = $"{date}/{region}/s3/aws4_request";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        var key = Encoding.UTF8.GetBytes("AWS4" + secretKey);
        foreach (var part in new[] { date, region, "s3", "aws4_request" }) key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        var signature = Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        return $"AWS4-HMAC-SHA256 Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
    }

    /// <summary>RFC 3986 percent-encoding of everything but the unreserved characters, as
    /// Signature V4 requires for query names and values.</summary>
    public static string Encode(string s)
    {
        var b = new StringBuilder();
        foreach (var c in Encoding.UTF8.GetBytes(s))
        {
            if (c is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
                b.Append((char)c);
            else
                b.Append('%').Append(c.ToString("X2", CultureInfo.InvariantCulture));
        }
        return b.ToString();
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static string Truncate(string s) => s.Length <= 300 ? s : s[..300];
}
