using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Microscope.Farm.Storage;

/// <summary>Any S3-compatible store through AWSSDK.S3. Path-style addressing (MinIO and
/// s3rver serve buckets as paths) and no chunked uploads: s3rver stores the chunk framing
/// as object bytes otherwise (architecture doc).</summary>
public sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly string _bucket;
    private readonly string _endpoint;

    public S3ObjectStore(StorageOptions options)
    {
        _bucket = options.Bucket!;
        _endpoint = options.ServiceUrl!;
        var config = new AmazonS3Config
        {
            ServiceURL = options.ServiceUrl,
            ForcePathStyle = true,
            AuthenticationRegion = options.Region,
            // Checksums only where S3 requires them: the SDK's default trailing checksums
            // need chunked encoding, which S3-compatible test servers do not store correctly.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 4,
        };
        _client = new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    public async Task EnsureReadyAsync(CancellationToken cancel = default)
    {
        try
        {
            await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, cancel);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
        }
    }

    public async Task PutAsync(string key, byte[] data, string contentType, CancellationToken cancel = default)
    {
        ObjectKeyRules.Check(key);
        using var stream = new MemoryStream(data, writable: false);
        await _client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket,
            Key = key,
            InputStream = stream,
            ContentType = contentType,
            UseChunkEncoding = false,
            AutoCloseStream = false,
        }, cancel);
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancel = default)
    {
        ObjectKeyRules.Check(key);
        try
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, cancel);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, cancel);
            return buffer.ToArray();
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Every key under the prefix, 1,000 a page. ListObjects (v1, paged by marker):
    /// s3rver answers ListObjectsV2 over more than 1,000 keys with InternalError; v1 works on
    /// S3, MinIO and s3rver alike.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel = default)
    {
        var keys = new List<string>();
        var request = new ListObjectsRequest { BucketName = _bucket, Prefix = prefix };
        while (true)
        {
            var page = await _client.ListObjectsAsync(request, cancel);
            if (page.S3Objects is { Count: > 0 } objects) keys.AddRange(objects.Select(o => o.Key));
            if (page.IsTruncated != true || page.S3Objects is not { Count: > 0 }) break;
            request.Marker = page.NextMarker ?? page.S3Objects[^1].Key;
        }
        return keys;
    }

    public string Describe() => $"s3 {_endpoint} bucket {_bucket}";

    public void Dispose() => _client.Dispose();
}
