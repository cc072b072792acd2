namespace Microscope.Engine.Torch;

public enum DeviceType { CPU = 0, CUDA = 1 }

/// <summary>Where tensors live. Parsed from configuration ("cpu", "cuda", "cuda:1");
/// nothing else in the Engine assumes CPU.</summary>
public readonly record struct Device(DeviceType Type, int Index = 0)
{
    public static readonly Device CPU = new(DeviceType.CPU);
    public static Device CUDA(int index = 0) => new(DeviceType.CUDA, index);

    public static Device Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return CPU;
        if (t == "cuda") return CUDA();
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), out var i) && i >= 0) return CUDA(i);
        throw new ArgumentException($"unknown device '{text}': expected cpu, cuda or cuda:N");
    }

    /// <summary>"auto": CUDA when libtorch has it, otherwise CPU.</summary>
    public static Device Resolve(string? text) =>
        string.IsNullOrWhiteSpace(text) || text.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? (torch.cuda.is_available() ? CUDA() : CPU)
            : Parse(text);

    public override string ToString() => Type == DeviceType.CPU ? "cpu" : $"cuda:{Index}";
}

public enum ScalarType { Float32 = 0, Float64 = 1, Int64 = 2, UInt8 = 3, Int32 = 4, Bool = 5 }
