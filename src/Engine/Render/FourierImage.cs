using Microscope.Engine.Torch;

namespace Microscope.Engine.Render;

/// <summary>The Fourier image parameterisation with colour decorrelation (lucid/lucent,
/// "Feature Visualization", Distill 2017): a learnable spectrum per image, scaled by
/// 1/f^decay, inverse real FFT (orthonormal), divided by 4, decorrelated colours, sigmoid.</summary>
public sealed class FourierImage : IDisposable
{
    /// <summary>Square root of the ImageNet colour covariance (rows R, G, B), from lucid.</summary>
    private static readonly double[,] ColorCorrelationSqrt =
    {
        { 0.26, 0.09, 0.02 },
        { 0.27, 0.00, -0.05 },
        { 0.27, -0.09, 0.03 },
    };

    /// <summary>lucid's "magic" divisor that keeps the initial image's spread small.</summary>
    private const double Magic = 4.0;

    private readonly Tensor _scale;
    private readonly Tensor _colorMatrix;
    private readonly int _fftWidth;

    public int Batch { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>The learnable spectrum (B, 3, H, W/2+1 [+1 for odd W], 2): real and imaginary parts.</summary>
    public Tensor Spectrum { get; }

    public FourierImage(int batch, int height, int width, Random rng, Device device, double initStd = 0.01, double decay = 1.0)
        : this(batch, height, width, Enumerable.Repeat(rng, batch).ToList(), device, initStd, decay)
    {
    }

    /// <param name="rngs">One generator per image: image b's spectrum is drawn from rngs[b]
    /// alone, so it does not depend on the other images of the batch.</param>
    public FourierImage(int batch, int height, int width, IReadOnlyList<Random> rngs, Device device, double initStd = 0.01, double decay = 1.0)
    {
        if (rngs.Count != batch) throw new ArgumentException($"{rngs.Count} generators for a batch of {batch}");
        Batch = batch;
        Height = height;
        Width = width;
        // Odd widths keep one more frequency; the inverse FFT is then one pixel wider and cropped.
        var wf = width / 2 + 1 + (width % 2);
        _fftWidth = 2 * (wf - 1);
        var scale = new float[height * wf];
        var floor = 1.0 / Math.Max(height, width);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < wf; x++)
            {
                var f = Math.Sqrt(Square(FftFreq(x, width)) + Square(FftFreq(y, height)));
                // Magic divides here, before the inverse FFT: by a power of two, so the same bits as after it.
                scale[y * wf + x] = (float)(1.0 / Math.Pow(Math.Max(f, floor), decay) / Magic);
            }
        _scale = torch.tensor(scale, [1, 1, height, wf, 1], device);

        var m = Normalised(ColorCorrelationSqrt);
        var colors = new float[9];
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 3; c++) colors[r * 3 + c] = (float)m[r, c];
        _colorMatrix = torch.tensor(colors, [3, 3], device);

        using var scope = torch.NewDisposeScope();
        var perImage = rngs.Select(r => torch.randn([1, 3, height, wf, 2], r, initStd, device)).ToList();
        Spectrum = (batch == 1 ? perImage[0].clone() : torch.cat(perImage, 0)).requires_grad_();
        scope.MoveToOuter(Spectrum);
    }

    /// <summary>numpy.fft.fftfreq(n)[i].</summary>
    private static double FftFreq(int i, int n) => (i < (n + 1) / 2 ? i : i - n) / (double)n;
    private static double Square(double v) => v * v;

    private static double[,] Normalised(double[,] m)
    {
        var maxNorm = 0.0;
        for (var c = 0; c < 3; c++)
            maxNorm = Math.Max(maxNorm, Math.Sqrt(Square(m[0, c]) + Square(m[1, c]) + Square(m[2, c])));
        var result = new double[3, 3];
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 3; c++) result[r, c] = m[r, c] / maxNorm;
        return result;
    }

    /// <summary>The images (B, 3, H, W) in [0, 1], differentiable with respect to <see cref="Spectrum"/>.</summary>
    public Tensor Image()
    {
        using var scaled = Spectrum * _scale;
        using var full = torch.fft.irfft2(scaled, Height, _fftWidth);
        using var cropped = _fftWidth == Width ? null : full.narrow(3, 0, Width);
        // Each pixel p becomes M p: M times the images as (B, 3, H*W), which leaves them in plain
        // NCHW layout (a channels-last result sent the transforms after it down slower kernels).
        using var flat = (cropped ?? full).reshape(Batch, 3, Height * Width);
        using var decorrelated = _colorMatrix.matmul(flat);
        using var images = decorrelated.reshape(Batch, 3, Height, Width);
        return images.sigmoid();
    }

    public void Dispose()
    {
        Spectrum.Dispose();
        _scale.Dispose();
        _colorMatrix.Dispose();
    }
}
