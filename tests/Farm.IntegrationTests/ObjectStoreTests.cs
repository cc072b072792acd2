using System.Diagnostics;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microscope.Engine.Imaging;
using Microscope.Farm.Storage;
using Xunit.Abstractions;

namespace Microscope.Farm.IntegrationTests;

/// <summary>The S3 store (on the Minio client) against s3rver, checked by an independent
/// client (AWSSDK.S3, the farm's previous client): what one writes the other reads, byte for
/// byte and with its content type, so buckets filled before the switch stay readable. Prints
/// both clients' upload and download times for the same small PNGs (docs/farm.md).</summary>
[Collection(S3ServerCollection.Name)]
public sealed class ObjectStoreTests(S3Server s3rver, ITestOutputHelper output)
{
    /// <summary>Rendered thumbnails are a few KB: 500 of them, as a packet's worth of work.</summary>
    private const int Count = 500;

    private StorageOptions Options(string bucket) => new()
    {
        Kind = StorageKind.S3, ServiceUrl = s3rver.Url, Bucket = bucket, AccessKey = "S3RVER", SecretKey = "S3RVER",
    };

    private AmazonS3Client Reference() => new(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
    {
        ServiceURL = s3rver.Url, ForcePathStyle = true,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    private static byte[] Png(int i)
    {
        const int size = 32;
        var rgb = new byte[size * size * 3];
        var random = new Random(i);
        random.NextBytes(rgb);
        return PngEncoder.Encode(rgb, size, size);
    }

    /// <summary>s3rver answers ListObjectsV2 past 1,000 keys with InternalError.</summary>
    [Fact]
    public async Task TheStoreListsMoreThanAThousandKeys()
    {
        using var store = new S3ObjectStore(Options("listing" + Guid.NewGuid().ToString("N")[..6]));
        await store.EnsureReadyAsync();
        await Parallel.ForEachAsync(Enumerable.Range(0, 1005), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, cancel) => await store.PutAsync($"many/{i:D5}.json", "{}"u8.ToArray(), "application/json", cancel));
        await store.PutAsync("other/x.json", "{}"u8.ToArray(), "application/json");
        var keys = await store.ListAsync("many/");
        Assert.Equal(Enumerable.Range(0, 1005).Select(i => $"many/{i:D5}.json"), keys.Order(StringComparer.Ordinal));
        Assert.Equal(1006, (await store.ListAsync("")).Count);
    }

    [Fact]
    public async Task TheStoreAndAnIndependentClientReadEachOthersObjects()
    {
        var bucket = "compat" + Guid.NewGuid().ToString("N")[..6];
        using var store = new S3ObjectStore(Options(bucket));
        using var s3 = Reference();
        await store.EnsureReadyAsync();
        await store.EnsureReadyAsync(); // a second start finds the bucket
        var pngs = Enumerable.Range(0, Count).Select(Png).ToArray();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 8 };

        // Written by the store, read by the reference client (and the store lists them).
        var minioPut = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Count), parallel,
            async (i, c) => await store.PutAsync($"new/{i:D4}.png", pngs[i], ObjectKeyRules.ContentType(".png"), c));
        minioPut.Stop();
        foreach (var i in new[] { 0, Count / 2, Count - 1 })
        {
            using var r = await s3.GetObjectAsync(bucket, $"new/{i:D4}.png");
            using var buffer = new MemoryStream();
            await r.ResponseStream.CopyToAsync(buffer);
            Assert.Equal(pngs[i], buffer.ToArray());
            Assert.Equal("image/png", r.Headers.ContentType);
        }
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"new/{i:D4}.png"), await store.ListAsync("new/"));

        // Written by the reference client (as the farm did before), read by the store.
        var awsPut = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Count), parallel, async (i, c) =>
        {
            using var stream = new MemoryStream(pngs[i]);
            await s3.PutObjectAsync(new PutObjectRequest
            {
                BucketName = bucket, Key = $"old/{i:D4}.png", InputStream = stream, ContentType = "image/png",
                UseChunkEncoding = false, AutoCloseStream = false,
            }, c);
        });
        awsPut.Stop();
        var minioGet = Stopwatch.StartNew();
        var read = new byte[Count][];
        await Parallel.ForEachAsync(Enumerable.Range(0, Count), parallel, async (i, c) => read[i] = (await store.GetAsync($"old/{i:D4}.png", c))!);
        minioGet.Stop();
        Assert.All(Enumerable.Range(0, Count), i => Assert.Equal(pngs[i], read[i]));

        var awsGet = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Count), parallel, async (i, c) =>
        {
            using var r = await s3.GetObjectAsync(bucket, $"new/{i:D4}.png", c);
            using var buffer = new MemoryStream();
            await r.ResponseStream.CopyToAsync(buffer, c);
            read[i] = buffer.ToArray();
        });
        awsGet.Stop();
        Assert.All(Enumerable.Range(0, Count), i => Assert.Equal(pngs[i], read[i]));

        Assert.Null(await store.GetAsync("new/missing.png"));
        var kb = pngs.Sum(p => (long)p.Length) / 1024;
        output.WriteLine($"{Count} PNGs ({kb} KB), 8 at a time, s3rver on loopback:");
        output.WriteLine($"  upload    Minio {minioPut.ElapsedMilliseconds,6} ms   AWSSDK.S3 {awsPut.ElapsedMilliseconds,6} ms");
        output.WriteLine($"  download  Minio {minioGet.ElapsedMilliseconds,6} ms   AWSSDK.S3 {awsGet.ElapsedMilliseconds,6} ms");
    }

    /// <summary>Model files (POST /api/models) are tens of MB: past 5 MiB the client uploads in parts.</summary>
    [Fact]
    public async Task ALargeObjectGoesUpInPartsAndComesBackWhole()
    {
        var bucket = "large" + Guid.NewGuid().ToString("N")[..6];
        using var store = new S3ObjectStore(Options(bucket));
        await store.EnsureReadyAsync();
        var data = new byte[12 * 1024 * 1024 + 123];
        new Random(7).NextBytes(data);
        await store.PutAsync("_models/big/model.onnx", data, "application/octet-stream");
        Assert.Equal(data, await store.GetAsync("_models/big/model.onnx"));
        using var s3 = Reference();
        using var r = await s3.GetObjectAsync(bucket, "_models/big/model.onnx");
        Assert.Equal(data.Length, r.ContentLength);
        Assert.Equal(["_models/big/model.onnx"], await store.ListAsync("_models/"));
    }

    [Fact]
    public async Task AMissingBucketReadsAsNoObjectAndServicesStartingTogetherShareOne()
    {
        var bucket = "race" + Guid.NewGuid().ToString("N")[..6];
        using var store = new S3ObjectStore(Options(bucket));
        Assert.Null(await store.GetAsync("a/b.json"));
        // Coordinator, viewer and workers all make sure of the bucket when they start.
        var stores = Enumerable.Range(0, 4).Select(_ => new S3ObjectStore(Options(bucket))).ToList();
        await Task.WhenAll(stores.Select(s => s.EnsureReadyAsync()));
        stores.ForEach(s => s.Dispose());
        await store.PutAsync("a/b.json", "{\"x\":1}"u8.ToArray(), "application/json");
        Assert.Equal("{\"x\":1}"u8.ToArray(), await store.GetAsync("a/b.json"));
        using var s3 = Reference();
        var head = await s3.GetObjectMetadataAsync(bucket, "a/b.json");
        Assert.Equal(HttpStatusCode.OK, head.HttpStatusCode);
        Assert.Equal("application/json", head.Headers.ContentType);
    }

    [Fact]
    public async Task AnUnknownAccessKeyFails()
    {
        // (s3rver checks the access key, not V4 signatures: S3SigningTests checks those.)
        var options = Options("creds" + Guid.NewGuid().ToString("N")[..6]);
        options.AccessKey = "NOT-A-KEY";
        using var store = new S3ObjectStore(options);
        await Assert.ThrowsAnyAsync<Exception>(() => store.EnsureReadyAsync());
        var e = await Assert.ThrowsAsync<IOException>(() => store.ListAsync(""));
        Assert.Contains("InvalidAccessKeyId", e.Message);
    }
}
