namespace Microscope.Engine.Torch;

/// <summary>A libtorch error, carrying libtorch's own message (shape mismatches, bad devices...).</summary>
public sealed class TorchException(string message) : Exception(message);
