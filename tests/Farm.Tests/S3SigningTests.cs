using Microscope.Farm.Storage;

namespace Microscope.Farm.Tests;

/// <summary>The S3 listing's own Signature V4 (the one request the Minio client cannot make
/// for the farm). s3rver does not check V4 signatures, so its tests cannot catch a wrong
/// one: this is a known answer from an independent signer, botocore 1.43 (S3SigV4Auth) on
/// the same request: GET http://127.0.0.1:9000/microscope?marker=many%2F00999.json&amp;max-keys=1000&amp;prefix=many%2F
/// at 2026-11-30 22:22:01 UTC with AWS's documentation example keys.</summary>
public sealed class S3SigningTests
{
    [Fact]
    public void TheListingSignatureMatchesAnIndependentSigner()
    {
        var query = $"marker={S3KeyListing.Encode("many/00999.json")}&max-keys=1000&prefix={S3KeyListing.Encode("many/")}";
        Assert.Equal("marker=many%2F00999.json&max-keys=1000&prefix=many%2F", query);
        var authorization = S3KeyListing.Authorization("127.0.0.1:9000", "/microscope", query, "20261130T222201Z", "us-east-1",
            "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261130/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=2e91e50247d91c25c43e9c9b3cce0e9873e8b92e6763d578923ef82416dfe83d", authorization);
    }

    [Fact]
    public void QueryValuesAreEncodedAsSignatureV4Requires()
    {
        // Unreserved characters stay; everything else (also '/', ' ', '+', UTF-8) is %XX.
        Assert.Equal("a-b_c.d~e%2Ff%20g%2Bh%C3%A9", S3KeyListing.Encode("a-b_c.d~e/f g+hé"));
    }
}
