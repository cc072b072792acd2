namespace Microscope.Engine;

/// <summary>Puts back what a scoped setting replaced when disposed (a thread's profile
/// collector, say).</summary>
internal sealed class Restore(Action restore) : IDisposable
{
    public void Dispose() => restore();
}
