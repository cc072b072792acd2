using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Circuits;

/// <summary>The linearised forward of the Circuits papers' "expanded weights" ("Visualizing
/// Weights", Voss et al. 2021): inside <see cref="Enter"/> on this thread, the models'
/// nonlinearities are replaced by the linear maps closest to them, so the path between two
/// ops becomes one linear map whose gradient is the same at every input:
/// ReLU (and leaky ReLU, PReLU, clip) is the identity; max pooling is average pooling over the
/// same windows; local response normalisation is the identity (with InceptionV1's bias 1 and
/// alpha 1e-4 it is x / (1 + small)^beta, about x). Convolutions, inference batch norm,
/// average pools, concatenations and residual sums are already linear (affine: their biases
/// shift the output but not its gradient) and run unchanged. Other nonlinearities (sigmoid,
/// tanh, softmax) also run unchanged: their gradient is then taken where the pass puts them.
/// Every model's layers call these instead of the tensor operations directly.</summary>
public static class LinearPath
{
    [ThreadStatic] private static int _depth;

    public static bool Active => _depth > 0;

    public static IDisposable Enter()
    {
        _depth++;
        return new Exit();
    }

    private sealed class Exit : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _depth--;
        }
    }

    public static Tensor Relu(Tensor x) => Active ? x.clone() : x.relu();

    public static Tensor LeakyRelu(Tensor x, double slope) => Active ? x.clone() : x.leaky_relu(slope);

    public static Tensor PRelu(Tensor x, Tensor slope) => Active ? x.clone() : x.prelu(slope);

    public static Tensor Clamp(Tensor x, double min, double max) => Active ? x.clone() : x.clamp(min, max);

    /// <summary>Max pooling, or average pooling over the same windows (padding counts as zero,
    /// so a window's weights sum to one in the middle of the map).</summary>
    public static Tensor MaxPool2d(Tensor x, (long, long) kernel, (long, long) stride, (long, long) padding, bool ceil) =>
        Active ? F.avg_pool2d(x, kernel, stride, padding, ceil, true) : F.max_pool2d(x, kernel, stride, padding, ceil);

    public static Tensor LocalResponseNorm(Tensor x, long size, double alpha, double beta, double k) =>
        Active ? x.clone() : F.local_response_norm(x, size, alpha, beta, k);
}
