using Microscope.Engine.Models;

namespace Microscope.Engine.Circuits;

/// <summary>Which op pairs have a <see cref="WeightTable"/>: the viewer's connections (a unit's
/// inputs and outputs) and the farm's circuits lens, which precomputes the same tables, both
/// read them here.</summary>
public static class CircuitPairs
{
    /// <summary>The nearest swept ops feeding an op (not the image). Ops outside the sweep are
    /// looked through: resnet18's ops include every ONNX node, and ReLU315's direct input is
    /// the Add before it, whose linearised weights are the identity.</summary>
    public static IReadOnlyList<string> InputOps(ModelDescriptor d, string op)
    {
        var byName = d.Ops.ToDictionary(o => o.Name);
        var found = new List<string>();
        var seen = new HashSet<string>();
        var pending = new Stack<string>(byName[op].Inputs.Reverse());
        while (pending.Count > 0)
        {
            var name = pending.Pop();
            if (name == ModelGraph.Input || !seen.Add(name) || !byName.TryGetValue(name, out var o)) continue;
            if (o.InSweep) found.Add(name);
            else foreach (var i in o.Inputs.Reverse()) pending.Push(i);
        }
        return found;
    }

    /// <summary>The nearest swept ops an op feeds.</summary>
    public static IReadOnlyList<string> OutputOps(ModelDescriptor d, string op) =>
        d.Ops.Where(o => o.InSweep && InputOps(d, o.Name).Contains(op)).Select(o => o.Name).ToList();
}
