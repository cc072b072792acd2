using Microscope.Engine.Render.Objectives;

namespace Microscope.Engine.Lenses;

/// <summary>objective: one image for an objective expression (<see cref="ObjectiveExpression"/>:
/// sums, weights, negation of channels and directions). An op-level result stored under the
/// expression's first op; the canonical expression is a lens parameter, so it enters the
/// parameters hash and every expression has a key (and a viewer link) of its own. Not part of
/// "everything" or sweeps: it renders what a request names.</summary>
public sealed class ObjectiveExpressionLens : ObjectiveLens
{
    public const string LensName = "objective";
    public const string ExpressionParameter = "expression";

    public override string Name => LensName;
    public override LensKind Kind => LensKind.Op;
    public override string Description => "one image for an objective expression: conv3:9 + 0.5*conv3:17, -conv3:9, conv3@[direction]";
    public override int Order => 90;
    public override bool Sweepable => false;

    public override IReadOnlyList<LensParameter> Parameters { get; } =
    [
        LensParameter.Text(ExpressionParameter, "the objective (docs/techniques.md, \"Objective algebra\")", text => ObjectiveExpression.Parse(text).Canonical),
    ];

    /// <summary>The expression of <paramref name="arguments"/>; throws when none was given.</summary>
    public static ObjectiveExpression ExpressionOf(LensArguments arguments) =>
        ObjectiveExpression.Parse(arguments.Text(ExpressionParameter) ?? throw new ArgumentException(
            $"the {LensName} technique needs an expression (--objective \"conv3:9 + 0.5*conv3:17\", or lens parameter {LensName}.{ExpressionParameter})"));

    public override Objective Objective(string op, IReadOnlyList<int> units, int images, LensArguments arguments) => ExpressionOf(arguments).Build();

    public override IReadOnlyList<LensResult> Run(LensRun run)
    {
        var ops = run.Model.Describe().Ops;
        var expression = ExpressionOf(run.Arguments).Bind(name =>
        {
            var resolved = run.Model.ResolveOp(name);
            return (resolved, ops.Single(o => o.Name == resolved).Channels);
        });
        // One expression, one key: it is stored under its first op, whatever op the caller named.
        if (expression.Ops[0] != run.Op.Name)
            throw new ArgumentException($"the objective '{expression.Canonical}' is stored under its first op '{expression.Ops[0]}', not '{run.Op.Name}'");
        return [LensRender.OpImages(run, this, expression.Build(), 1)];
    }
}
