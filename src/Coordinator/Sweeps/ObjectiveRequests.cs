using Microscope.Contracts;
using Microscope.Coordinator.Models;
using Microscope.Engine.Lenses;
using Microscope.Engine.Models;
using Microscope.Engine.Render.Objectives;

namespace Microscope.Coordinator.Sweeps;

/// <summary>A render request that gives an objective expression becomes an ordinary render of
/// the "objective" lens: the expression parsed and checked against the model (ops, units,
/// direction lengths), made canonical with the ops' real names, and carried as that lens's
/// parameter (so it enters the parameters hash); the op is the expression's first op.</summary>
public static class ObjectiveRequests
{
    public static RenderRequest Expand(RenderRequest request, ModelDescriptor model, Dictionary<string, string[]> errors)
    {
        if (request.Technique is { } t && t != ObjectiveExpressionLens.LensName)
            errors["technique"] = [$"an objective renders with the '{ObjectiveExpressionLens.LensName}' technique, not '{t}'"];
        ObjectiveExpression? expression = null;
        try
        {
            expression = ObjectiveExpression.Parse(request.Objective!).Bind(name =>
            {
                var op = ModelRegistry.ResolveOp(model, name);
                return (op.Name, op.Channels);
            });
        }
        catch (ArgumentException e) { errors["objective"] = [e.Message]; }
        if (errors.Count > 0) throw new ApiProblem(422, "invalid render", errors);

        var settings = request.Parameters ?? new RenderSettings();
        var lensParameters = new Dictionary<string, IReadOnlyDictionary<string, string>>(settings.LensParameters ?? new Dictionary<string, IReadOnlyDictionary<string, string>>(), StringComparer.Ordinal)
        {
            [ObjectiveExpressionLens.LensName] = new Dictionary<string, string> { [ObjectiveExpressionLens.ExpressionParameter] = expression!.Canonical },
        };
        return request with
        {
            Technique = ObjectiveExpressionLens.LensName,
            Op = expression.Ops[0],
            Unit = null,
            Objective = null,
            Parameters = settings with { LensParameters = lensParameters },
        };
    }
}
