using System.Text;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Sweeps;
using Microscope.Viewer.Catalogue;
using Microsoft.AspNetCore.Http;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Pages;

/// <summary>Every sweep with progress by op, rate, ETA, failures and operator controls.</summary>
public static class SweepsPage
{
    public static IResult Render(IReadOnlyList<SweepProgress> sweeps, bool writesEnabled)
    {
        var s = new StringBuilder("<h1>Sweeps</h1>");
        if (sweeps.Count == 0) s.Append("<p class=\"no-sweeps\">No sweep has been started.</p>");
        else
        {
            if (writesEnabled)
                s.Append("<p><label for=\"token\">operator token</label> <input id=\"token\" type=\"password\" autocomplete=\"off\"> ")
                    .Append("<output id=\"sweep-action-status\" class=\"status\" aria-live=\"polite\"></output></p>");
            else s.Append("<p class=\"muted writes-off\">Sweep control is switched off: this viewer has no tokens configured. ").Append(CataloguePages.HowToEnableWrites).Append("</p>");
        }
        foreach (var p in sweeps)
        {
            var sw = p.Sweep;
            var total = sw.Total;
            var done = p.Totals.GetValueOrDefault(TupleStates.Done);
            var failed = p.Totals.GetValueOrDefault(TupleStates.Failed);
            var open = TupleStates.Open.Sum(st => p.Totals.GetValueOrDefault(st));
            // The API's state (SweepService.StateOf), with a friendlier word for "failed".
            var state = SweepService.StateOf(sw.State, open, failed) switch { "failed" => "finished with failures", var st => st };
            s.Append($"<section class=\"sweep\" data-sweep=\"{sw.Id}\" data-state=\"{E(sw.State)}\" aria-labelledby=\"sweep-{sw.Id}\">")
                .Append($"<h2 id=\"sweep-{sw.Id}\">{E(sw.Model)} <code>{E(sw.Version)}</code> · {E(string.Join(", ", System.Text.Json.JsonSerializer.Deserialize<string[]>(sw.TechniquesJson) ?? []))} · parameters <code>{E(sw.ParamsHash)}</code></h2>")
                .Append($"<p>State <strong class=\"sweep-state\">{E(state)}</strong>; started {DateTimeOffset.FromUnixTimeMilliseconds(sw.CreatedAt):yyyy-MM-dd HH:mm} UTC; ")
                .Append(CataloguePages.Progress("done", done, total))
                .Append($"; {failed} failed; {open} open; {sw.Reused} reused; rate {N(p.UnitsPerMinute, "0.#")} units/min; ETA {Eta(p.EtaSeconds)}.</p>");
            var actions = Actions(sw.State, open, failed);
            if (writesEnabled && actions.Count > 0)
            {
                s.Append("<p class=\"controls\">");
                foreach (var (action, label) in actions)
                    s.Append($"<button type=\"button\" data-sweep-action=\"/sweeps/{sw.Id}/{action}\">{label}</button> ");
                s.Append("</p>");
            }
            if (p.Failures.Count > 0)
            {
                s.Append("<table class=\"failures\"><caption>Failures by reason</caption><thead><tr><th scope=\"col\">reason</th><th scope=\"col\" class=\"num\">tuples</th></tr></thead><tbody>");
                foreach (var (reason, count) in p.Failures) s.Append($"<tr><td>{E(reason)}</td><td class=\"num\">{count}</td></tr>");
                s.Append("</tbody></table>");
                s.Append(FailedTuples(p, failed));
            }
            s.Append("<table class=\"by-op\"><caption>Progress by op</caption><thead><tr><th scope=\"col\">op</th><th scope=\"col\" class=\"num\">done</th><th scope=\"col\" class=\"num\">open</th><th scope=\"col\" class=\"num\">failed</th><th scope=\"col\" class=\"num\">total</th></tr></thead><tbody>");
            foreach (var (op, counts) in p.ByOp.OrderBy(x => x.Key, StringComparer.Ordinal))
            {
                var opOpen = TupleStates.Open.Sum(st => counts.GetValueOrDefault(st));
                s.Append($"<tr data-op=\"{E(op)}\"><th scope=\"row\"><a href=\"{E(LinkResolver.Href(new Target(sw.Model, op, null), sw.Version))}\">{E(op)}</a></th>")
                    .Append($"<td class=\"num\">{counts.GetValueOrDefault(TupleStates.Done)}</td><td class=\"num\">{opOpen}</td><td class=\"num\">{counts.GetValueOrDefault(TupleStates.Failed)}</td><td class=\"num\">{counts.Values.Sum()}</td></tr>");
            }
            s.Append("</tbody></table></section>");
        }
        return Page("Sweeps", s.ToString());
    }

    /// <summary>The first failed tuples, each linked to the lines its worker logged for it
    /// (stored when the worker reported the failure; docs/farm.md, "Worker logs of failed tuples").</summary>
    private static string FailedTuples(SweepProgress p, int failed)
    {
        if (p.FailedTuples is not { Count: > 0 } tuples) return "";
        var s = new StringBuilder("<details class=\"failed-tuples\" open><summary>Failed tuples")
            .Append(failed > tuples.Count ? $" (the first {tuples.Count} of {failed})" : "").Append("</summary><ul>");
        foreach (var t in tuples)
        {
            var unit = t.Unit < 0 ? "op" : t.Unit.ToString(System.Globalization.CultureInfo.InvariantCulture);
            s.Append($"<li data-tuple=\"{t.Id}\"><a href=\"{E(LinkResolver.Href(new Target(t.Model, t.Op, t.Unit < 0 ? null : t.Unit), t.Version))}\">{E(t.Op)}/{unit}</a> {E(t.Technique)}: ")
                .Append($"<span class=\"muted\">{E(t.Failure ?? "(no reason recorded)")}</span> · <a class=\"tuple-log\" href=\"{E(ObjectUrl(t.LogKey))}\">worker log</a></li>");
        }
        return s.Append("</ul></details>").ToString();
    }

    /// <summary>The controls that can change a sweep in this state (the coordinator refuses
    /// the others with 409): pause or resume while tuples are open, cancel until it is
    /// cancelled, retry-failed once something failed.</summary>
    internal static IReadOnlyList<(string Action, string Label)> Actions(string state, int open, int failed)
    {
        var actions = new List<(string, string)>();
        if (state == SweepStates.Cancelled) return actions;
        if (state == SweepStates.Paused) actions.Add(("resume", "Resume"));
        else if (open > 0) actions.Add(("pause", "Pause"));
        if (open > 0) actions.Add(("cancel", "Cancel"));
        if (failed > 0) actions.Add(("retry-failed", "Retry failed"));
        return actions;
    }

    private static string Eta(double? seconds) => seconds switch
    {
        null => "unknown",
        0 => "none (nothing open)",
        < 120 => $"{seconds:0} s",
        < 7200 => $"{seconds / 60:0} min",
        _ => $"{seconds / 3600:0.#} h",
    };
}
