using System.Text;
using Microscope.Engine.Lenses;
using Microscope.Engine.Render;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Pages;

/// <summary>The re-render form's inputs beyond the common render settings: the precision and
/// each lens's own parameters, generated from the registry's <see cref="LensDescription"/> (a
/// new lens's parameters appear without viewer changes). Only the chosen technique's group is
/// enabled (the script switches it), so the form sends that lens's values alone. Ranges are
/// shown, not enforced by the browser: the coordinator checks every value and its
/// problem-details message is what the form shows.</summary>
public static class RenderFormInputs
{
    /// <summary>Shown beside the precision select (docs/viewer.md).</summary>
    public const string Bf16Hint = "bf16: faster on CPUs with AVX-512 BF16; other pixels than fp32";

    public static string Precision()
    {
        var s = new StringBuilder("<label for=\"precision\">precision</label> <select id=\"precision\" name=\"precision\" aria-describedby=\"precision-help\">");
        foreach (var p in Enum.GetValues<Engine.Render.Precision>())
            s.Append($"<option value=\"{p.Name()}\"{(p == Engine.Render.Precision.Fp32 ? " selected" : "")}>{p.Name()}</option>");
        return s.Append($"</select> <small id=\"precision-help\" class=\"muted\">{E(Bf16Hint)}</small><br>").ToString();
    }

    /// <summary>One group per lens of <paramref name="techniques"/> that has number parameters
    /// (a text parameter, the objective's expression, has its own field); the group of
    /// <paramref name="chosen"/> is shown.</summary>
    public static string LensParameters(IEnumerable<string> techniques, string? chosen)
    {
        var s = new StringBuilder();
        foreach (var name in techniques)
        {
            if (LensRegistry.TryGet(name) is not { } lens) continue;
            var parameters = LensDescription.Of(lens).Parameters.Where(p => p.Type != "text").ToList();
            if (parameters.Count == 0) continue;
            var on = name == chosen;
            s.Append($"<fieldset class=\"lens-parameters\" data-lens=\"{E(name)}\"{(on ? "" : " hidden disabled")}><legend>{E(name.Replace('_', ' '))} parameters</legend>");
            foreach (var p in parameters)
            {
                var id = $"lens-{name}-{p.Name}";
                var step = p.Type == "integer" ? "1" : "any";
                s.Append($"<label for=\"{E(id)}\">{E(p.Name.Replace('_', ' '))}</label> ")
                    .Append($"<input id=\"{E(id)}\" name=\"{E(p.Name)}\" data-lens-parameter=\"{E(p.Name)}\" type=\"number\" step=\"{step}\" min=\"{E(p.Min)}\" max=\"{E(p.Max)}\" value=\"{E(p.Default)}\" aria-describedby=\"{E(id)}-help\"> ")
                    .Append($"<small id=\"{E(id)}-help\" class=\"muted\">{E(p.Description)} ({p.Type}, {E(p.Min)}..{E(p.Max)}, default {E(p.Default)})</small><br>");
            }
            s.Append("</fieldset>");
        }
        return s.ToString();
    }
}
