using System.Text.Json;
using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Models;
using Microscope.Engine.Lenses;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Farm.Rendering;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Microscope.Coordinator.Sweeps;

/// <summary>Turns a validated sweep (or single render) into rows: one tuple per (op, unit,
/// technique), packed into packets of one (op, technique) of at most PacketSize units.
/// Op-level images (deepdream, caricature) have one tuple per op (unit -1); op jobs
/// (dataset examples, tuning curves) one tuple per unit, all in one packet per op.
/// Tuples whose result already exists under the same parameters hash are marked done
/// (reused) instead of rendered again, unless forced. Everything is written in one
/// transaction with multi-row inserts.</summary>
public sealed class SweepExpander(FarmDb db, ModelRegistry models, CoordinatorOptions options, TimeProvider clock)
{
    public sealed record Plan(ModelDescriptor Model, IReadOnlyList<OpInfo> Ops, IReadOnlyList<string> Techniques,
        RenderSettings Parameters, int PacketSize, bool Force, int Priority, string Kind, IReadOnlyList<int>? Units, bool Paused = false);

    public async Task<Plan> ValidateSweepAsync(SweepRequest request, CancellationToken cancel)
    {
        var errors = new Dictionary<string, string[]>();
        var model = await ResolveModel(request.Model, request.Version, errors, cancel);
        var techniques = new List<string>();
        var unknown = new List<string>();
        // The default sweep takes each default lens that can look at the model (circuits: not a generator).
        var defaults = LensRegistry.DefaultSweep.Where(n => model is null || LensRunner.ModelProblem(LensRegistry.Get(n), model) is null).ToList();
        foreach (var name in request.Techniques is { Count: > 0 } t ? t : defaults)
        {
            // A generator's "everything": the lenses that can look at it.
            if (name == LensRegistry.Everything) techniques.AddRange(LensRegistry.Sweepable.Where(l => model?.Latent is null || !l.FeedsImages).Select(l => l.Name));
            else if (LensRegistry.TryGet(name) is { } lens) techniques.Add(lens.Name);
            else unknown.Add(name);
        }
        foreach (var name in techniques.Where(n => !LensRegistry.Get(n).Sweepable).Distinct().ToList())
            errors["techniques"] = [$"'{name}' renders one request's expression: POST /api/renders with \"objective\", not a sweep"];
        techniques = techniques.Distinct().ToList();
        if (model is not null && techniques.Select(n => LensRunner.ModelProblem(LensRegistry.Get(n), model)).FirstOrDefault(p => p is not null) is { } refused)
            errors["techniques"] = [refused];
        if (unknown.Count > 0) errors["techniques"] = [$"unknown technique(s) {string.Join(", ", unknown)}; known: {Known}"];
        var parameters = CheckParameters(request.Parameters, techniques, errors);
        var packetSize = request.PacketSize ?? options.PacketSize;
        if (packetSize is < 1 or > 1024) errors["packetSize"] = [$"packetSize must be 1..1024, not {packetSize}"];
        var ops = new List<OpInfo>();
        if (model is not null)
        {
            // Default: every op a channel sweep covers (the zoo leaves e.g. AlexNet's fc6/fc7 out).
            foreach (var name in request.Ops is { Count: > 0 } o ? o : model.Ops.Where(x => x.InSweep).Select(x => x.Name).ToList())
            {
                try { ops.Add(ModelRegistry.ResolveOp(model, name)); }
                catch (UnknownNameException e) { errors["ops"] = [.. errors.GetValueOrDefault("ops") ?? [], e.Message]; }
            }
            ops = ops.DistinctBy(x => x.Name).ToList();
            if (request.Units is { Count: > 0 } units && ops.Count > 0)
            {
                var fewest = ops.MinBy(x => x.Channels)!;
                var outside = units.Where(u => u < 0 || u >= fewest.Channels).ToList();
                if (outside.Count > 0) errors["units"] = [$"op '{fewest.Name}' has units 0..{fewest.Channels - 1}; {string.Join(", ", outside)} out of range"];
            }
            var total = techniques.Sum(t => LensRegistry.Get(t).OpLevel ? ops.Count : ops.Sum(x => (long)(request.Units is { Count: > 0 } u ? u.Distinct().Count() : x.Channels)));
            if (total > options.MaxTuplesPerSweep) errors["ops"] = [$"the sweep has {total} tuples, more than the limit {options.MaxTuplesPerSweep}"];
        }
        if (errors.Count > 0) throw new ApiProblem(422, "invalid sweep", errors);
        var only = request.Units is { Count: > 0 } chosen ? chosen.Distinct().Order().ToList() : null;
        return new Plan(model!, ops, techniques, parameters!, packetSize, request.Force, 0, "sweep", only, request.Paused);
    }

    public async Task<Plan> ValidateRenderAsync(RenderRequest request, CancellationToken cancel)
    {
        var errors = new Dictionary<string, string[]>();
        var model = await ResolveModel(request.Model, request.Version, errors, cancel);
        if (request.Objective is not null)
        {
            if (model is null) throw new ApiProblem(422, "invalid render", errors);
            request = ObjectiveRequests.Expand(request, model, errors);
        }
        else if (request.Technique == ObjectiveExpressionLens.LensName)
            errors["objective"] = ["the objective technique renders the request's \"objective\" expression (e.g. \"conv3:9 + 0.5*conv3:17\"); none was given"];
        var lens = LensRegistry.TryGet(request.Technique ?? LensRegistry.DefaultSweep[0]);
        if (lens is null) errors["technique"] = [$"unknown technique '{request.Technique}'; known: {string.Join(", ", LensRegistry.Names)}"];
        var technique = lens?.Name ?? "";
        var opLevel = lens?.OpLevel ?? false;
        var parameters = CheckParameters(request.Parameters, lens is null ? [] : [technique], errors);
        OpInfo? op = null;
        if (model is not null)
        {
            if (string.IsNullOrWhiteSpace(request.Op)) errors["op"] = ["op is required"];
            else
            {
                try { op = ModelRegistry.ResolveOp(model, request.Op); }
                catch (UnknownNameException e) { errors["op"] = [e.Message]; }
            }
        }
        // Op-level techniques render the whole op: the unit is optional and ignored.
        if (opLevel) { }
        else if (request.Unit is not int unit) errors["unit"] = ["unit is required"];
        else if (op is not null && lens is not null && LensRunner.UnitProblem(lens, op, [unit]) is { } problem)
            errors["unit"] = [problem];
        if (model is not null && lens is not null && LensRunner.ModelProblem(lens, model) is { } refused) errors["technique"] = [refused];
        if (errors.Count > 0) throw new ApiProblem(422, "invalid render", errors);
        return new Plan(model!, [op!], [technique], parameters!, 1, request.Force, 1, "render", [opLevel ? UnitAddress.OpLevel : request.Unit!.Value]);
    }

    private static string Known => $"{string.Join(", ", LensRegistry.Names)}, {LensRegistry.Everything}";

    /// <summary>The tuples' units of one op and technique: one (unit -1, "op" in keys) for
    /// op-level images, else every unit (or the render's one).</summary>
    private static IEnumerable<int> UnitsOf(Plan plan, OpInfo op, string technique) =>
        LensRegistry.Get(technique).OpLevel ? [UnitAddress.OpLevel] : plan.Units ?? Enumerable.Range(0, op.Channels);

    /// <summary>Units per packet: op jobs (dataset examples, tuning curves) compute every unit
    /// in one pass, so all of an op's units go in one packet; others PacketSize.</summary>
    public static int PacketSizeOf(string technique, int packetSize) => LensRegistry.Get(technique).OnePassPerOp ? 1 << 20 : Math.Max(1, packetSize);

    private async Task<ModelDescriptor?> ResolveModel(string? name, string? version, Dictionary<string, string[]> errors, CancellationToken cancel)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            errors["model"] = ["model is required"];
            return null;
        }
        try
        {
            return await models.GetAsync(name, version, cancel);
        }
        catch (UnknownNameException e)
        {
            errors[version is null ? "model" : "version"] = [e.Message];
            return null;
        }
    }

    /// <summary>The render parameters checked, with the lens parameters checked against the
    /// registry (each must belong to one of <paramref name="techniques"/>) and kept in canonical
    /// form (only values that differ from their defaults), so equal requests hash equally.</summary>
    private static RenderSettings? CheckParameters(RenderSettings? given, IReadOnlyList<string> techniques, Dictionary<string, string[]> errors)
    {
        var p = given ?? new RenderSettings();
        var problems = p.Problems().ToList();
        var canonical = new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var (name, values) in p.LensParameters ?? new Dictionary<string, IReadOnlyDictionary<string, string>>())
        {
            if (!techniques.Contains(name))
            {
                problems.Add($"lens parameters given for '{name}', which this request does not render ({string.Join(", ", techniques)})");
                continue;
            }
            try
            {
                var arguments = LensRegistry.Get(name).Arguments(values);
                if (arguments.Given.Count > 0) canonical[name] = arguments.Given;
            }
            catch (ArgumentException e) { problems.Add(e.Message); }
        }
        if (problems.Count > 0)
        {
            errors["parameters"] = [.. problems];
            return null;
        }
        return p with { LensParameters = canonical.Count > 0 ? canonical : null };
    }


    private static readonly string[] TupleColumns =
    [
        "id", "sweep_id", "packet_id", "model", "version", "op", "unit", "technique", "params_hash", "state", "attempts",
        "failure", "image_key", "record_key", "objective_start", "objective_end", "ms_per_step", "worker_id", "reused",
        "updated_at", "done_at",
    ];

    private static readonly string[] PacketColumns =
    [
        "id", "sweep_id", "op", "technique", "priority", "seq", "state", "unit_count", "dispatches", "worker_id",
        "created_at", "sent_at", "heartbeat_at", "finished_at",
    ];

    /// <summary>Who asked for a sweep or render: the token's id and the client's idempotency key.</summary>
    public sealed record Requested(string? Requester, string? IdempotencyKey)
    {
        public static readonly Requested Nobody = new(null, null);
    }

    /// <summary>Steps x pixels of one image rendered with <paramref name="p"/> (render budgets).</summary>
    public static long CostOf(RenderSettings p) => (long)p.Steps * p.Size * p.Size;

    /// <summary>Writes the sweep, its packets and its tuples; returns the sweep row.</summary>
    public async Task<SweepRow> ExpandAsync(Plan plan, CancellationToken cancel) => await ExpandAsync(plan, Requested.Nobody, cancel);

    /// <summary>Writes the sweep, its packets and its tuples; returns the sweep row. A second
    /// sweep with the same requester and idempotency key fails the unique index
    /// (DbUpdateException) and writes nothing.</summary>
    public async Task<SweepRow> ExpandAsync(Plan plan, Requested by, CancellationToken cancel) => await ExpandAsync(plan, by, admit: null, cancel);

    /// <summary>The same; <paramref name="admit"/> runs inside the transaction that writes the
    /// sweep, with its cost known, and may refuse it by throwing (a render budget: checked and
    /// charged in one transaction).</summary>
    public async Task<SweepRow> ExpandAsync(Plan plan, Requested by, Func<SweepRow, Task>? admit, CancellationToken cancel)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var version = ModelRegistry.VersionOf(plan.Model);
        var hash = plan.Parameters.Hash();
        var name = plan.Model.Name;
        var existing = new Dictionary<(string, int, string), ResultRow>();
        if (!plan.Force)
        {
            var opNames = plan.Ops.Select(o => o.Name).ToList();
            var rows = await db.Results.AsNoTracking()
                .Where(r => r.Model == name && r.Version == version && r.ParamsHash == hash && opNames.Contains(r.Op) && plan.Techniques.Contains(r.Technique))
                .ToListAsync(cancel);
            foreach (var r in rows) existing[(r.Op, r.Unit, r.Technique)] = r;
        }

        var sweep = new SweepRow
        {
            Id = Guid.NewGuid(),
            Kind = plan.Kind,
            State = plan.Paused ? SweepStates.Paused : SweepStates.Active,
            Model = name,
            Version = version,
            OpsJson = JsonSerializer.Serialize(plan.Ops.Select(o => o.Name)),
            TechniquesJson = JsonSerializer.Serialize(plan.Techniques),
            ParametersJson = JsonSerializer.Serialize(plan.Parameters),
            ParamsHash = hash,
            Force = plan.Force,
            PacketSize = plan.PacketSize,
            Priority = plan.Priority,
            CreatedAt = now,
            Requester = by.Requester,
            IdempotencyKey = by.IdempotencyKey,
        };
        var tuples = new List<object?[]>();
        var packets = new List<object?[]>();
        var seq = 0;
        foreach (var op in plan.Ops)
        {
            foreach (var technique in plan.Techniques)
            {
                var open = new List<int>();
                foreach (var unit in UnitsOf(plan, op, technique))
                {
                    if (existing.TryGetValue((op.Name, unit, technique), out var r))
                    {
                        tuples.Add([Guid.NewGuid(), sweep.Id, null, name, version, op.Name, unit, technique, hash, TupleStates.Done, 0,
                            null, r.ImageKey, r.RecordKey, r.ObjectiveStart, r.ObjectiveEnd, r.MsPerStep, null, true, now, now]);
                        sweep.Reused++;
                    }
                    else
                    {
                        open.Add(unit);
                    }
                }
                foreach (var chunk in open.Chunk(PacketSizeOf(technique, plan.PacketSize)))
                {
                    var packetId = Guid.NewGuid();
                    packets.Add([packetId, sweep.Id, op.Name, technique, plan.Priority, seq++, PacketStates.Pending, chunk.Length, 0, null, now, null, null, null]);
                    foreach (var unit in chunk)
                        tuples.Add([Guid.NewGuid(), sweep.Id, packetId, name, version, op.Name, unit, technique, hash, TupleStates.Pending, 0,
                            null, null, null, null, null, null, null, false, now, null]);
                }
            }
        }
        sweep.Total = tuples.Count;
        sweep.Cost = CostOf(plan.Parameters) * (sweep.Total - sweep.Reused);
        if (sweep.Total == sweep.Reused) sweep.FinishedAt = now;

        await using var tx = await db.Database.BeginTransactionAsync(cancel);
        if (admit is not null) await admit(sweep);
        db.Sweeps.Add(sweep);
        await db.SaveChangesAsync(cancel);
        var connection = db.Database.GetDbConnection();
        var dbTx = tx.GetDbTransaction();
        await BulkInsert.InsertAsync(connection, dbTx, "packets", PacketColumns, packets, cancel);
        await BulkInsert.InsertAsync(connection, dbTx, "tuples", TupleColumns, tuples, cancel);
        await tx.CommitAsync(cancel);
        return sweep;
    }
}
