using Microscope.Farm.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Storage;

public enum StorageKind { Folder, S3 }

/// <summary>Section <c>Storage</c>: where images and records are written.</summary>
public sealed class StorageOptions : IValidatedOptions
{
    public const string Section = "Storage";

    public StorageKind Kind { get; set; } = StorageKind.Folder;
    /// <summary>Folder kind: the root folder.</summary>
    public string Folder { get; set; } = "out/farm/objects";
    /// <summary>S3 kind: the endpoint, e.g. http://127.0.0.1:9000 (MinIO) .</summary>
    public string? ServiceUrl { get; set; }
    public string Bucket { get; set; } = "microscope";
    public string? AccessKey { get; set; }
    public string? SecretKey { get; set; }
    public string Region { get; set; } = "us-east-1";

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Kind == StorageKind.Folder && string.IsNullOrWhiteSpace(Folder))
            problems.Add($"Folder is required when Kind is Folder (set {FarmConfiguration.EnvironmentName(Section, nameof(Folder))})");
        if (Kind == StorageKind.S3)
        {
            if (!Uri.TryCreate(ServiceUrl, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
                problems.Add($"ServiceUrl must be an http(s) URL when Kind is S3 (set {FarmConfiguration.EnvironmentName(Section, nameof(ServiceUrl))})");
            if (string.IsNullOrWhiteSpace(Bucket)) problems.Add($"Bucket is required (set {FarmConfiguration.EnvironmentName(Section, nameof(Bucket))})");
            if (string.IsNullOrWhiteSpace(AccessKey)) problems.Add($"AccessKey is required (set {FarmConfiguration.EnvironmentName(Section, nameof(AccessKey))})");
            if (string.IsNullOrWhiteSpace(SecretKey)) problems.Add($"SecretKey is required (set {FarmConfiguration.EnvironmentName(Section, nameof(SecretKey))})");
        }
        return problems;
    }

    public IObjectStore Create() => Kind == StorageKind.S3 ? new S3ObjectStore(this) : new FolderObjectStore(Folder);
}

public static class ObjectStoreRegistration
{
    public static IServiceCollection AddObjectStore(this IServiceCollection services, StorageOptions options)
    {
        services.AddSingleton(options);
        // Every call timed for the metrics (microscope_storage_duration_seconds).
        services.AddSingleton<IObjectStore>(_ => new Metrics.TimedObjectStore(options.Create(), options.Kind == StorageKind.S3 ? "s3" : "folder"));
        return services;
    }
}
