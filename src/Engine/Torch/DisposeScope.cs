namespace Microscope.Engine.Torch;

/// <summary>Frees every tensor created on this thread while it is the innermost scope
/// (the temporaries of one optimisation step, say) when it is disposed. A tensor that
/// must outlive the scope is handed out with <see cref="MoveToOuter"/>.</summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? _current;
    private readonly DisposeScope? _outer;
    private readonly List<Tensor> _owned = [];
    private bool _disposed;

    internal DisposeScope()
    {
        _outer = _current;
        _current = this;
    }

    internal static DisposeScope? Current => _current;

    internal void Register(Tensor t)
    {
        t.Owner = this;
        _owned.Add(t);
    }

    /// <summary>Moves a tensor to the enclosing scope (or to no scope: the caller owns it).</summary>
    public Tensor MoveToOuter(Tensor t)
    {
        if (t.Owner != this) throw new InvalidOperationException("tensor is not owned by this scope");
        if (_outer is null) t.Owner = null; else _outer.Register(t);
        return t;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _owned)
            if (t.Owner == this) t.Dispose();
        _owned.Clear();
        // Scopes nest strictly; restoring the outer one keeps later tensors out of a dead scope.
        _current = _outer;
    }
}
