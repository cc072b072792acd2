using System.Diagnostics;
using System.Security.Cryptography;

namespace Microscope.Farm.Tests;

/// <summary>A tiny seeded CNN as ONNX (conv 3→4, ReLU, conv 4→6 stride 2, ReLU, pool, linear;
/// 32 px), exported by Debian's python3-torch through tools/tiny_onnx.py once per seed and
/// script version into a cache folder. Shared with Farm.IntegrationTests (linked file).</summary>
public static class TinyOnnxModel
{
    private static readonly Lock Gate = new();

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Microscope.Farm.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    /// <summary>The .onnx file of this seed (exported on first use); <paramref name="broken"/>:
    /// "unsupported-op" or "no-image-input", a file the farm must refuse.</summary>
    public static string FileFor(int seed, string? broken = null)
    {
        var script = Path.Combine(RepoRoot, "tools", "tiny_onnx.py");
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(script)))[..12];
        var path = Path.Combine(Path.GetTempPath(), "microscope-tiny-onnx", hash, $"tiny-{seed}{(broken is null ? "" : "-" + broken)}.onnx");
        lock (Gate)
        {
            if (File.Exists(path)) return path;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var partial = path + ".partial.onnx";
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { script, partial, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
            if (broken is not null) { psi.ArgumentList.Add("--break"); psi.ArgumentList.Add(broken); }
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"tools/tiny_onnx.py failed ({p.ExitCode}): {err.Result} (scripts/install-deps.sh installs python3-torch)");
            File.Move(partial, path, overwrite: true);
            return path;
        }
    }

    public static byte[] Bytes(int seed, string? broken = null) => File.ReadAllBytes(FileFor(seed, broken));

    /// <summary>A seeded DCGAN generator (latent [N, 16, 1, 1] to a 32 px image) from
    /// tools/export_generators.py, exported on first use (the Engine tests' cache folder).</summary>
    public static string Generator()
    {
        var script = Path.Combine(RepoRoot, "tools", "export_generators.py");
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(script)))[..12];
        var folder = Path.Combine(Path.GetTempPath(), "microscope-onnx-zoo", hash);
        var path = Path.Combine(folder, "dcgan.onnx");
        lock (Gate)
        {
            if (File.Exists(path)) return path;
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-B", script, folder, "dcgan" }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0 || !File.Exists(path)) throw new InvalidOperationException($"tools/export_generators.py failed ({p.ExitCode}): {err.Result} (scripts/install-deps.sh installs python3-torch and python3-onnx)");
            return path;
        }
    }
}
