using System.Net;
using Minio;
using Minio.DataModel.Args;
using Minio.DataModel.Result;
using Minio.Exceptions;

namespace Microscope.Farm.Storage;

/// <summary>Any S3-compatible store (MinIO in production, s3rver in tests) through the
/// <c>Minio</c> .NET client: path-style requests, single-part signed uploads (objects are
/// far below the client's 5 MiB multipart threshold), transient failures retried. Listing
/// goes through <see cref="S3KeyListing"/>: the client's own listing cannot serve s3rver
/// or page v1 listings past 1,000 keys (docs/farm.md, "Object storage").</summary>
public sealed class S3ObjectStore : IObjectStore, IDisposable
{
    /// <summary>Attempts per request: the AWS SDK's MaxErrorRetry was 4 retries.</summary>
    private const int Attempts = 5;
    /// <summary>A request that has not finished by then failed (a stuck store must not hold a
    /// worker's packet for long; objects are a few KB to a few hundred MB of model file).</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(5);
    /// <summary>How long a presigned URL is valid: it is used at once.</summary>
    private const int PresignedSeconds = 300;

    private readonly IMinioClient _client;
    private readonly HttpClient _http;
    private readonly S3KeyListing _listing;
    private readonly string _bucket;
    private readonly string _endpoint;

    public S3ObjectStore(StorageOptions options)
    {
        _bucket = options.Bucket!;
        _endpoint = options.ServiceUrl!;
        var url = new Uri(options.ServiceUrl!);
        // One connection pool for the client, the reads and the listing.
        _http = new HttpClient();
        _client = new MinioClient()
            .WithEndpoint(url.Host, url.Port)
            .WithSSL(url.Scheme == Uri.UriSchemeHttps)
            .WithCredentials(options.AccessKey, options.SecretKey)
            // A fixed region: the client would otherwise ask the server for the bucket's.
            .WithRegion(options.Region)
            .WithHttpClient(_http)
            .WithRetryPolicy(RetryTransient)
            .WithTimeout((int)RequestTimeout.TotalMilliseconds)
            .Build();
        // After Build, which sets the shared client's timeout to 30 minutes.
        _http.Timeout = RequestTimeout;
        _listing = new S3KeyListing(_http, url, _bucket, options.Region, options.AccessKey!, options.SecretKey!);
    }

    public async Task EnsureReadyAsync(CancellationToken cancel = default)
    {
        var exists = new BucketExistsArgs().WithBucket(_bucket);
        if (await _client.BucketExistsAsync(exists, cancel)) return;
        try
        {
            await _client.MakeBucketAsync(new MakeBucketArgs().WithBucket(_bucket), cancel);
        }
        catch (MinioException)
        {
            // Two services starting together: the other one made it first.
            if (!await _client.BucketExistsAsync(exists, cancel)) throw;
        }
    }

    public async Task PutAsync(string key, byte[] data, string contentType, CancellationToken cancel = default)
    {
        ObjectKeyRules.Check(key);
        using var stream = new MemoryStream(data, writable: false);
        await _client.PutObjectAsync(new PutObjectArgs()
            .WithBucket(_bucket)
            .WithObject(key)
            .WithStreamData(stream)
            .WithObjectSize(data.Length)
            .WithContentType(contentType), cancel);
    }

    /// <summary>One GET of a URL the client presigns locally: the client's own GetObject
    /// first asks for the object's metadata (two requests) and was 100x slower here under
    /// concurrent reads (docs/farm.md, "Object storage").</summary>
    public async Task<byte[]?> GetAsync(string key, CancellationToken cancel = default)
    {
        ObjectKeyRules.Check(key);
        var url = await _client.PresignedGetObjectAsync(new PresignedGetObjectArgs()
            .WithBucket(_bucket)
            .WithObject(key)
            .WithExpiry(PresignedSeconds));
        return await Retry(async () =>
        {
            using var response = await _http.GetAsync(url, cancel);
            if (response.StatusCode == HttpStatusCode.NotFound) return null;
            if ((int)response.StatusCode >= 500) throw new HttpRequestException($"HTTP {(int)response.StatusCode}", null, response.StatusCode);
            if (!response.IsSuccessStatusCode)
                throw new IOException($"reading {_bucket}/{key} failed: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancel)}");
            return await response.Content.ReadAsByteArrayAsync(cancel);
        }, cancel);
    }

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel = default) =>
        _listing.ListAsync(prefix, cancel);

    public string Describe() => $"s3 {_endpoint} bucket {_bucket}";

    public void Dispose()
    {
        _client.Dispose();
        _http.Dispose();
    }

    /// <summary>Retries a request that failed on the way (connection refused or reset) or that
    /// the server answered with a 5xx (busy, restarting), with a short growing pause. The
    /// client builds a fresh request message for every call of <paramref name="send"/>.</summary>
    private static Task<ResponseResult> RetryTransient(Func<Task<ResponseResult>> send) => Retry(send, CancellationToken.None);

    internal static async Task<T> Retry<T>(Func<Task<T>> send, CancellationToken cancel)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await send();
            }
            catch (Exception e) when (attempt < Attempts && IsTransient(e) && !cancel.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt * attempt), cancel);
            }
        }
    }

    private static bool IsTransient(Exception e) => e switch
    {
        HttpRequestException or ConnectionException => true,
        MinioException { ServerResponse: { } r } => (int)r.StatusCode >= 500,
        _ => false,
    };
}
