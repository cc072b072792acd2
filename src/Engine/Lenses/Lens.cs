using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;

namespace Microscope.Engine.Lenses;

/// <summary>What a lens makes, which decides how the farm splits it into tuples and packets.
/// <list type="bullet">
/// <item><see cref="Unit"/>: optimised images per unit (one tuple per unit, units batched).</item>
/// <item><see cref="Op"/>: optimised images of the whole op (one tuple per op, unit -1).</item>
/// <item><see cref="ImageBased"/>: optimised images of the whole op made from input images (one tuple per op).</item>
/// <item><see cref="Analysis"/>: no optimisation; one pass over images serves every unit of the op
/// (one tuple per unit, all of an op's units in one packet).</item>
/// </list></summary>
public enum LensKind { Unit, Op, ImageBased, Analysis }

/// <summary>One file a result writes beside "{...}/{paramsHash}": its suffix and what the
/// viewer captions it.</summary>
public sealed record LensFile(string Suffix, string Caption);

/// <summary>A lens: one way of looking at an op (channel, neuron, diversity, ...). Each lens is
/// one descriptor in one file: its name (as used in sweeps, object keys and links), its kind,
/// its own typed parameters, how it renders or analyses, and the files it writes (which is all
/// the viewer needs to show it). Concrete lenses with a parameterless constructor in the Engine
/// (or in an assembly named by MICROSCOPE_LENS_ASSEMBLIES) are found by <see cref="LensRegistry"/>;
/// nothing else lists them.</summary>
public abstract class Lens
{
    public abstract string Name { get; }
    public abstract LensKind Kind { get; }
    /// <summary>One line for help texts, the API's list and the docs' table.</summary>
    public abstract string Description { get; }
    /// <summary>Where pages and lists place the lens (lower first; ties by name).</summary>
    public virtual int Order => 100;
    /// <summary>Whether a sweep that names no techniques renders this lens.</summary>
    public virtual bool InDefaultSweep => false;
    /// <summary>Whether sweeps and "everything" may include the lens; false for lenses that only
    /// render what one request names (an objective expression).</summary>
    public virtual bool Sweepable => true;
    /// <summary>Whether the lens feeds images to the model (caricature inputs, a data set,
    /// synthetic stimuli): such lenses cannot look at a generator, whose input is a latent.</summary>
    public virtual bool FeedsImages => Kind is LensKind.ImageBased or LensKind.Analysis;
    /// <summary>Whether the lens's results are pictures the pages show (lens bars, grids,
    /// coverage); false for a lens whose files another part reads itself (circuits' weight tables).</summary>
    public virtual bool Pictured => true;
    /// <summary>The lens's own parameters (part of the parameters hash when they differ from
    /// their defaults).</summary>
    public virtual IReadOnlyList<LensParameter> Parameters => [];

    /// <summary>The files of one result besides its ".json" record, the first being the one a
    /// grid cell shows.</summary>
    public abstract IReadOnlyList<LensFile> Files(LensArguments arguments);

    /// <summary>Renders or analyses <paramref name="run"/>'s units (none for op-level lenses);
    /// returns one result per unit (or one with unit null for op-level lenses).
    /// <see cref="LensRunner"/> has already checked the op, the units and the parameters.</summary>
    public abstract IReadOnlyList<LensResult> Run(LensRun run);

    /// <summary>The suffix of the file a grid cell shows: the first file under the default
    /// parameters (kept: the viewer asks for it once per cell).</summary>
    public string GridSuffix => _gridSuffix ??= Files(Arguments()).FirstOrDefault()?.Suffix ?? ".json";
    private string? _gridSuffix;

    /// <summary>Op-level lenses store one result per op (unit -1 in the farm, "op" in keys).</summary>
    public bool OpLevel => Kind is LensKind.Op or LensKind.ImageBased;
    /// <summary>Lenses that compute every unit of an op in one pass: a packet holds all of them.</summary>
    public bool OnePassPerOp => Kind == LensKind.Analysis;

    /// <summary>The given values checked against <see cref="Parameters"/> (unknown names and
    /// bad values throw, naming them), with defaults for the others.</summary>
    public LensArguments Arguments(IReadOnlyDictionary<string, string>? given = null) => LensArguments.Parse(this, given);

    public override string ToString() => Name;
}

/// <summary>Base of lenses that optimise images for an objective: they say how the objective
/// is built from the op, and how many images each unit gets; the single render path
/// (<see cref="LensRender"/>) does the rest, the same for every such lens.</summary>
public abstract class ObjectiveLens : Lens
{
    /// <summary>The objective over a batch: for unit lenses <paramref name="units"/> holds one
    /// entry per image (each unit repeated <see cref="ImagesPerUnit"/> times); op-level lenses
    /// get <paramref name="images"/> images and no units.</summary>
    public abstract Objective Objective(string op, IReadOnlyList<int> units, int images, LensArguments arguments);

    public virtual int ImagesPerUnit(LensArguments arguments) => 1;

    public override IReadOnlyList<LensFile> Files(LensArguments arguments)
    {
        var n = ImagesPerUnit(arguments);
        return n == 1 ? [new LensFile(".png", Name)] : Enumerable.Range(0, n).Select(i => new LensFile($"-{i}.png", $"{Name} image {i + 1}")).ToList();
    }

    public override IReadOnlyList<LensResult> Run(LensRun run) =>
        OpLevel
            ? [LensRender.OpImages(run, this, Objective(run.Op.Name, [], 1, run.Arguments), 1)]
            : LensRender.UnitImages(run, this, ImagesPerUnit(run.Arguments));
}
