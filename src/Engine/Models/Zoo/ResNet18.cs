using Microscope.Engine.Models.Custom;
using Microscope.Engine.Models.Onnx;

namespace Microscope.Engine.Models.Zoo;

/// <summary>resnet18: an ImageNet-trained ResNet-18, the first trained organism, imported from
/// the ONNX files of NuGet's Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 (CNTK 2.6 export,
/// opset 8; the build restores the package and copies the files beside the assemblies). Op
/// names are the ONNX node names; the sweep covers the stem and the nine block outputs.</summary>
public static class ResNet18
{
    public const string Name = "resnet18";
    public const string Package = "microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1";
    /// <summary>Overrides where the two .onnx files are looked for (a deployment's model folder).</summary>
    public const string DirectoryVariable = "MICROSCOPE_RESNET18_DIR";
    private const string ModelFile = "ResNet18.onnx";
    private const string PreprocessFile = "ResNetPreprocess.onnx";

    /// <summary>Stem, then the block outputs of the four stages (2, 2, 2, 3 blocks): each the
    /// ReLU after a residual Add (shared/docs/architecture.md, "Real trained material").</summary>
    public static readonly IReadOnlyList<string> SweptOps =
        ["ReLU253", "ReLU269", "ReLU283", "ReLU301", "ReLU315", "ReLU333", "ReLU347", "ReLU365", "ReLU379", "ReLU393"];

    public static OnnxSidecar Sidecar { get; } = new()
    {
        Name = Name,
        Dataset = "ImageNet",
        // The package's preprocessing graph takes RGB 0-255, swaps to BGR and subtracts a
        // 224x224 mean image.
        Preprocessing = new PreprocessingSpec { Description = "RGB x*255", Scale = 255 },
        PreprocessingGraph = PreprocessFile,
        Ops = SweptOps.Select(n => new OnnxOpChoice { Node = n }).ToList(),
    };

    /// <summary>Where the files are: $MICROSCOPE_RESNET18_DIR, else models/resnet18 beside the
    /// assemblies (copied by the build), else the NuGet packages folder.</summary>
    public static string Directory()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } configured) candidates.Add(configured);
        else
        {
            candidates.Add(Path.Combine(AppContext.BaseDirectory, "models", Name));
            var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            candidates.Add(Path.Combine(packages, Package, "tools", "DnnImageModels"));
        }
        foreach (var dir in candidates)
        {
            if (File.Exists(Path.Combine(dir, ModelFile))) return dir;
            // The package's own layout: ResNet18Onnx/ and ResNetPrepOnnx/.
            if (File.Exists(Path.Combine(dir, "ResNet18Onnx", ModelFile))) return dir;
        }
        throw new FileNotFoundException($"model '{Name}': {ModelFile} not found in {string.Join(", ", candidates)}; build the solution (it restores NuGet's Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1) or set {DirectoryVariable}");
    }

    public static OnnxModel Create()
    {
        var dir = Directory();
        var flat = File.Exists(Path.Combine(dir, ModelFile));
        var model = flat ? Path.Combine(dir, ModelFile) : Path.Combine(dir, "ResNet18Onnx", ModelFile);
        var prep = flat ? PreprocessFile : Path.Combine("..", "ResNetPrepOnnx", PreprocessFile);
        return new OnnxModel(new OnnxModelSource(Name, model, Sidecar: Sidecar with { PreprocessingGraph = prep }));
    }
}
