using System.CommandLine;
using Microscope.Engine.Render;

namespace Microscope.Cli.Commands;

/// <summary>`--precision fp32|bf16`, shared by the commands that render (and, as a list, the bench).</summary>
public static class PrecisionOption
{
    private const string Help = "convolution arithmetic: fp32 (default) or bf16 (about 1.4x faster on CPUs with AVX-512 BF16, same objective reached; docs/performance.md)";

    public static Option<string> Create()
    {
        var option = new Option<string>("--precision") { Description = Help, DefaultValueFactory = _ => Precision.Fp32.Name() };
        option.AcceptOnlyFromAmong(Precision.Fp32.Name(), Precision.Bf16.Name());
        return option;
    }

    public static Option<string[]> CreateList(string description)
    {
        var option = new Option<string[]>("--precision")
        {
            Description = description, DefaultValueFactory = _ => [Precision.Fp32.Name()], AllowMultipleArgumentsPerToken = true,
        };
        option.AcceptOnlyFromAmong(Precision.Fp32.Name(), Precision.Bf16.Name());
        return option;
    }

    public static Precision Value(this ParseResult r, Option<string> option) => PrecisionNames.Parse(r.GetValue(option)) ?? Precision.Fp32;

    public static Precision[] Values(this ParseResult r, Option<string[]> option) =>
        [.. (r.GetValue(option) ?? []).Select(t => PrecisionNames.Parse(t) ?? Precision.Fp32).Distinct()];
}
