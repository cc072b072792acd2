using System.CommandLine;
using Microscope.Contracts;
using Microscope.Engine.Lenses;

namespace Microscope.Cli.Commands;

/// <summary>`microscope sweep`: asks a running coordinator for a sweep and follows it.</summary>
public static class SweepCommand
{
    public static Command Create()
    {
        var coordinator = FarmClient.CoordinatorOption();
        var model = new Option<string>("--model", "-m") { Description = "model slug", Required = true };
        var version = new Option<string?>("--version") { Description = "model version (default: the current one)" };
        var ops = new Option<string[]>("--op") { Description = "ops (default: all)", AllowMultipleArgumentsPerToken = true };
        var units = new Option<int[]>("--unit") { Description = "only these channels of each op (default: all)", AllowMultipleArgumentsPerToken = true };
        var techniques = new Option<string[]>("--technique", "-t") { Description = $"techniques: {string.Join(", ", LensRegistry.Names)} or {LensRegistry.Everything} (default: {string.Join(" and ", LensRegistry.DefaultSweep)})", AllowMultipleArgumentsPerToken = true };
        techniques.AcceptOnlyFromAmong([.. LensRegistry.Names, LensRegistry.Everything]);
        var lensParameters = new Option<string[]>("--param", "-p") { Description = "a lens parameter, name=value or lens.name=value (e.g. diversity.images=6); repeatable", AllowMultipleArgumentsPerToken = true };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 512, Description = "optimisation steps" };
        var size = new Option<int>("--size") { DefaultValueFactory = _ => 128, Description = "image size in pixels" };
        var seed = new Option<int>("--seed") { Description = "random seed" };
        var precision = PrecisionOption.Create();
        var packetSize = new Option<int?>("--packet-size") { Description = "units per work packet (default: the coordinator's)" };
        var force = new Option<bool>("--force") { Description = "render again what already exists with these parameters" };
        var paused = new Option<bool>("--paused") { Description = "expand the sweep but send nothing until it is resumed (POST /api/sweeps/{id}/resume, or the viewer's sweeps page)" };
        var follow = new Option<bool>("--follow") { Description = "show progress until the sweep finishes" };
        var command = new Command("sweep", "Start a sweep on a running coordinator.")
        {
            coordinator, model, version, ops, units, techniques, lensParameters, steps, size, seed, precision, packetSize, force, paused, follow,
        };
        IReadOnlyList<Lens> Chosen(string[]? names) => LensRegistry.Expand(names is { Length: > 0 } ? names : LensRegistry.DefaultSweep);
        // Lens parameters are checked against the registry when the command line is parsed.
        command.Validators.Add(result =>
        {
            if (result.GetValue(techniques) is { } names && names.Any(n => n != LensRegistry.Everything && LensRegistry.TryGet(n) is null)) return;
            try { LensParameterText.Parse(result.GetValue(lensParameters) ?? [], Chosen(result.GetValue(techniques))); }
            catch (ArgumentException e) { result.AddError(e.Message); }
        });
        command.SetAction(r => CommandErrors.Run(() =>
        {
            using var http = FarmClient.Http(r.GetValue(coordinator)!);
            var accepted = FarmClient.StartSweepAsync(http, new SweepRequest
            {
                Model = r.GetValue(model),
                Version = r.GetValue(version),
                Ops = r.GetValue(ops) is { Length: > 0 } o ? o : null,
                Units = r.GetValue(units) is { Length: > 0 } u ? u : null,
                Techniques = r.GetValue(techniques) is { Length: > 0 } t ? t : null,
                Parameters = new RenderSettings
                {
                    Steps = r.GetValue(steps), Size = r.GetValue(size), Seed = r.GetValue(seed), Precision = r.GetValue(precision)!,
                    LensParameters = LensParameterText.Parse(r.GetValue(lensParameters) ?? [], Chosen(r.GetValue(techniques))) is { Count: > 0 } lp ? lp : null,
                },
                PacketSize = r.GetValue(packetSize),
                Force = r.GetValue(force),
                Paused = r.GetValue(paused),
            }).GetAwaiter().GetResult();
            Console.WriteLine($"sweep {accepted.Id}: {accepted.Total} tuples ({accepted.Reused} already rendered){(r.GetValue(paused) ? ", paused" : "")}");
            if (!r.GetValue(follow)) return 0;
            var status = FarmClient.Follow(http, accepted.Id, $"{r.GetValue(model)} sweep", accepted.Total);
            Console.WriteLine(FarmClient.Summary(status));
            return status.State == "done" ? 0 : 1;
        }));
        return command;
    }
}

/// <summary>`microscope sweeps`: the coordinator's latest sweeps; `sweeps show ID` one
/// sweep's progress (or follows it); `sweeps pause|resume|cancel|retry-failed ID`.</summary>
public static class SweepsCommand
{
    public static Command Create()
    {
        var coordinator = FarmClient.CoordinatorOption();
        var json = new Option<bool>("--json") { Description = "print JSON" };
        var command = new Command("sweeps", "List the latest sweeps of a running coordinator, show one, or pause, resume, cancel or retry one.") { coordinator, json };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            using var http = FarmClient.Http(r.GetValue(coordinator)!);
            var sweeps = FarmClient.ListAsync(http).GetAwaiter().GetResult();
            if (r.GetValue(json))
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(sweeps, Json.Options));
                return 0;
            }
            Console.WriteLine($"{"id",-36}  {"kind",-6}  {"model@version",-28}  {"state",-9}  {"tuples",7}  created (UTC)");
            foreach (var s in sweeps)
                Console.WriteLine($"{s.Id,-36}  {s.Kind,-6}  {s.Model + "@" + s.Version,-28}  {s.State,-9}  {s.Total,7}  {s.CreatedAt.ToUniversalTime():yyyy-MM-dd HH:mm}");
            return 0;
        }));

        var id = new Argument<Guid>("id") { Description = "the sweep's id (from `microscope sweep` or `microscope sweeps`)" };
        var follow = new Option<bool>("--follow") { Description = "show progress until the sweep finishes" };
        var show = new Command("show", "A sweep's state, counts by tuple state, rate and failures.") { coordinator, id, follow, json };
        show.SetAction(r => CommandErrors.Run(() =>
        {
            using var http = FarmClient.Http(r.GetValue(coordinator)!);
            var status = FarmClient.StatusAsync(http, r.GetValue(id)).GetAwaiter().GetResult();
            if (r.GetValue(follow) && status.State is not ("done" or "failed" or "cancelled"))
                status = FarmClient.Follow(http, status.Id, $"{status.Model} {status.Kind}", status.Total);
            Console.WriteLine(r.GetValue(json) ? System.Text.Json.JsonSerializer.Serialize(status, Json.Options) : FarmClient.Summary(status));
            return 0;
        }));
        command.Subcommands.Add(show);

        foreach (var (action, description) in new[]
        {
            ("pause", "Send no more of the sweep's packets (those with workers finish)."),
            ("resume", "Send the sweep's packets again."),
            ("cancel", "Cancel the sweep's unsent tuples (rendered ones are kept)."),
            ("retry-failed", "Pack the sweep's failed tuples again and send them."),
        })
        {
            var act = new Command(action, description) { coordinator, id };
            act.SetAction(r => CommandErrors.Run(() =>
            {
                using var http = FarmClient.Http(r.GetValue(coordinator)!);
                Console.WriteLine(FarmClient.Summary(FarmClient.ActAsync(http, r.GetValue(id), action).GetAwaiter().GetResult()));
                return 0;
            }));
            command.Subcommands.Add(act);
        }
        return command;
    }
}
