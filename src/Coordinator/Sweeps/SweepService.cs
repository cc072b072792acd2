using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Dispatch;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Sweeps;

/// <summary>Sweeps and renders: create, follow, pause, resume, cancel, retry the failed.</summary>
public sealed class SweepService(FarmDb db, SweepExpander expander, PacketDispatcher dispatcher, CoordinatorOptions options, TimeProvider clock, ILogger<SweepService> logger)
{
    public async Task<SweepRow> CreateSweepAsync(SweepRequest request, CancellationToken cancel) =>
        (await CreateSweepAsync(request, SweepExpander.Requested.Nobody, cancel)).Sweep;

    /// <summary>Creates a sweep, or returns the first one created with the same requester and
    /// idempotency key (Replayed).</summary>
    public async Task<(SweepRow Sweep, bool Replayed)> CreateSweepAsync(SweepRequest request, SweepExpander.Requested by, CancellationToken cancel)
    {
        if (await FirstWithKeyAsync(by, cancel) is { } first) return (first, true);
        var plan = await expander.ValidateSweepAsync(request, cancel);
        var clockStart = System.Diagnostics.Stopwatch.StartNew();
        SweepRow sweep;
        try { sweep = await expander.ExpandAsync(plan, by, cancel); }
        catch (DbUpdateException) when (by.IdempotencyKey is not null)
        {
            // Another request with the same key won the unique index: answer with its sweep.
            return (await FirstWithKeyAsync(by, cancel) ?? throw new InvalidOperationException("idempotency key conflict without a sweep"), true);
        }
        using (logger.BeginScope(new Dictionary<string, object> { ["SweepId"] = sweep.Id }))
            logger.LogInformation("sweep of {Model}@{Version}: {Total} tuples ({Reused} reused), expanded in {Ms} ms",
                sweep.Model, sweep.Version, sweep.Total, sweep.Reused, clockStart.ElapsedMilliseconds);
        dispatcher.Wake();
        return (sweep, false);
    }

    public async Task<SweepRow> CreateRenderAsync(RenderRequest request, CancellationToken cancel) =>
        (await CreateRenderAsync(request, SweepExpander.Requested.Nobody, budgeted: false, cancel)).Sweep;

    /// <summary>Creates a render on the priority lane. A budgeted requester (a researcher's
    /// token) may render Coordinator:RenderBudgetPerHour steps x pixels per hour: past that, 429.</summary>
    public async Task<(SweepRow Sweep, bool Replayed)> CreateRenderAsync(RenderRequest request, SweepExpander.Requested by, bool budgeted, CancellationToken cancel)
    {
        if (await FirstWithKeyAsync(by, cancel) is { } first) return (first, true);
        var plan = await expander.ValidateRenderAsync(request, cancel);
        SweepRow sweep;
        try { sweep = await expander.ExpandAsync(plan, by, budgeted ? s => ChargeBudgetAsync(by.Requester, s.Cost, cancel) : null, cancel); }
        catch (DbUpdateException) when (by.IdempotencyKey is not null)
        {
            // Another request with the same key won the unique index: answer with its sweep.
            return (await FirstWithKeyAsync(by, cancel) ?? throw new InvalidOperationException("idempotency key conflict without a sweep"), true);
        }
        dispatcher.Wake();
        return (sweep, false);
    }

    /// <summary>Inside the transaction that writes the render: what the requester's renders of
    /// the last hour cost, plus this one, must stay within the budget, or 429 (the transaction
    /// rolls back). Requests of one requester take this step one at a time (PostgreSQL: a
    /// transaction-scoped advisory lock on the requester; SQLite: its single writer, BEGIN
    /// IMMEDIATE), so concurrent renders cannot all pass the last of a budget.</summary>
    private async Task ChargeBudgetAsync(string? requester, long cost, CancellationToken cancel)
    {
        if (db.Database.IsNpgsql())
        {
            var key = "render-budget:" + requester;
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtextextended({key}, 0))", cancel);
        }
        var since = clock.GetUtcNow().ToUnixTimeMilliseconds() - 3_600_000;
        var spent = await db.Sweeps.Where(s => s.Requester == requester && s.Kind == "render" && s.CreatedAt >= since).SumAsync(s => (long?)s.Cost, cancel) ?? 0;
        if (spent + cost > options.RenderBudgetPerHour)
            throw new ApiProblem(429, "render budget exhausted", new Dictionary<string, string[]>
            {
                ["parameters"] = [$"this render costs {cost:N0} steps x pixels; your token has used {spent:N0} of {options.RenderBudgetPerHour:N0} in the last hour"],
            });
    }

    private async Task<SweepRow?> FirstWithKeyAsync(SweepExpander.Requested by, CancellationToken cancel) =>
        by.IdempotencyKey is null ? null
            : await db.Sweeps.AsNoTracking().FirstOrDefaultAsync(s => s.Requester == by.Requester && s.IdempotencyKey == by.IdempotencyKey, cancel);

    public async Task<SweepRow> FindAsync(Guid id, CancellationToken cancel) =>
        await db.Sweeps.FirstOrDefaultAsync(s => s.Id == id, cancel) ?? throw ApiProblem.NotFound($"no sweep or render {id}");

    public async Task<SweepStatus> StatusAsync(Guid id, CancellationToken cancel)
    {
        var sweep = await FindAsync(id, cancel);
        var counts = (await db.Tuples.Where(t => t.SweepId == id).GroupBy(t => t.State).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(cancel))
            .ToDictionary(x => x.Key, x => x.Count);
        foreach (var s in TupleStates.All) counts.TryAdd(s, 0);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var open = TupleStates.Open.Sum(s => counts[s]);

        var windowStart = SweepRate.WindowStart(sweep.CreatedAt, sweep.FinishedAt, now);
        var recent = await db.Tuples.CountAsync(t => t.SweepId == id && !t.Reused && t.DoneAt != null && t.DoneAt >= windowStart, cancel);
        var (rate, eta) = SweepRate.Of(recent, windowStart, sweep.FinishedAt ?? now, open);

        if (open == 0 && sweep.FinishedAt is null && sweep.State != SweepStates.Cancelled)
        {
            var lastDone = await db.Tuples.Where(t => t.SweepId == id).MaxAsync(t => (long?)t.DoneAt, cancel) ?? now;
            sweep.FinishedAt = Math.Max(lastDone, sweep.CreatedAt);
            await db.SaveChangesAsync(cancel);
        }
        var state = StateOf(sweep.State, open, counts[TupleStates.Failed]);
        var failures = (await db.Tuples.AsNoTracking().Where(t => t.SweepId == id && t.State == TupleStates.Failed)
                .Select(t => new { t.Failure, t.Op, t.Unit, t.Technique }).ToListAsync(cancel))
            .GroupBy(t => t.Failure ?? "unknown")
            .OrderByDescending(g => g.Count())
            .Take(10)
            .Select(g => new FailureSummary(g.Key, g.Count(), g.Take(5).Select(t => $"{t.Op}/{t.Unit}/{t.Technique}").ToList()))
            .ToList();
        return new SweepStatus
        {
            Id = sweep.Id,
            Kind = sweep.Kind,
            State = state,
            Model = sweep.Model,
            Version = sweep.Version,
            ParamsHash = sweep.ParamsHash,
            Total = sweep.Total,
            Counts = counts,
            Reused = sweep.Reused,
            UnitsPerMinute = Math.Round(rate, 2),
            EtaSeconds = eta is null ? null : Math.Round(eta.Value, 1),
            Failures = failures,
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(sweep.CreatedAt),
            FinishedAt = sweep.FinishedAt is long f ? DateTimeOffset.FromUnixTimeMilliseconds(f) : null,
        };
    }

    /// <summary>What a sweep's state reads as: an active sweep with nothing open is done, or
    /// failed when some tuple failed.</summary>
    public static string StateOf(string stored, int open, int failed) =>
        stored == SweepStates.Active && open == 0 ? failed > 0 ? "failed" : "done" : stored;

    /// <summary>The latest sweeps, newest first, each with the state and times its status has.</summary>
    /// <summary>Newest first; from the sweeps created at or before <paramref name="atOrBefore"/>,
    /// skipping the first <paramref name="skip"/> (a page's cursor: GET /api/sweeps).</summary>
    public async Task<IReadOnlyList<SweepSummary>> ListAsync(int take, CancellationToken cancel, long? atOrBefore = null, int skip = 0)
    {
        var q = db.Sweeps.AsNoTracking();
        if (atOrBefore is long at) q = q.Where(s => s.CreatedAt <= at);
        var sweeps = await q.OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id).Skip(skip).Take(take).ToListAsync(cancel);
        var ids = sweeps.Select(s => s.Id).ToList();
        var counted = TupleStates.Open.Append(TupleStates.Failed).ToList();
        var counts = await db.Tuples.AsNoTracking().Where(t => ids.Contains(t.SweepId) && counted.Contains(t.State))
            .GroupBy(t => new { t.SweepId, t.State }).Select(g => new { g.Key.SweepId, g.Key.State, Count = g.Count() }).ToListAsync(cancel);
        int Count(Guid id, Func<string, bool> state) => counts.Where(c => c.SweepId == id && state(c.State)).Sum(c => c.Count);
        return sweeps.Select(s => new SweepSummary(s.Id, s.Kind,
                StateOf(s.State, Count(s.Id, TupleStates.Open.Contains), Count(s.Id, st => st == TupleStates.Failed)),
                s.Model, s.Version, s.ParamsHash, s.Total, s.Reused,
                DateTimeOffset.FromUnixTimeMilliseconds(s.CreatedAt), s.FinishedAt is long f ? DateTimeOffset.FromUnixTimeMilliseconds(f) : null))
            .ToList();
    }

    /// <summary>Holds back the sweep's unsent packets (a finished sweep is refused, see SetStateAsync).</summary>
    public async Task<SweepStatus> PauseAsync(Guid id, CancellationToken cancel) => await SetStateAsync(id, SweepStates.Paused, cancel);

    public async Task<SweepStatus> ResumeAsync(Guid id, CancellationToken cancel)
    {
        var status = await SetStateAsync(id, SweepStates.Active, cancel);
        dispatcher.Wake();
        return status;
    }

    /// <summary>Stops the sweep: tuples not yet started are cancelled; packets already with a
    /// worker finish (their results are kept).</summary>
    public async Task<SweepStatus> CancelAsync(Guid id, CancellationToken cancel)
    {
        var sweep = await FindAsync(id, cancel);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        sweep.State = SweepStates.Cancelled;
        sweep.FinishedAt ??= now;
        await db.SaveChangesAsync(cancel);
        // Sent packets no worker has started are cancelled too (a copy still in the queue may
        // be rendered: its results are kept, as for running packets).
        await db.Packets.Where(p => p.SweepId == id && (p.State == PacketStates.Pending || p.State == PacketStates.Sent))
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Cancelled).SetProperty(p => p.FinishedAt, now), cancel);
        await db.Tuples.Where(t => t.SweepId == id && (t.State == TupleStates.Pending || t.State == TupleStates.Queued))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Cancelled).SetProperty(t => t.UpdatedAt, now), cancel);
        return await StatusAsync(id, cancel);
    }

    /// <summary>Failed tuples go back to pending in new packets (of one op and technique,
    /// PacketSize units each), and the sweep is active again.</summary>
    public async Task<SweepStatus> RetryFailedAsync(Guid id, CancellationToken cancel)
    {
        var sweep = await FindAsync(id, cancel);
        if (sweep.State == SweepStates.Cancelled) throw new ApiProblem(409, "sweep is cancelled", new Dictionary<string, string[]> { ["id"] = ["a cancelled sweep cannot be retried; start a new sweep"] });
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var failed = await db.Tuples.Where(t => t.SweepId == id && t.State == TupleStates.Failed).OrderBy(t => t.Op).ThenBy(t => t.Technique).ThenBy(t => t.Unit).ToListAsync(cancel);
        var seq = await db.Packets.Where(p => p.SweepId == id).MaxAsync(p => (int?)p.Seq, cancel) ?? 0;
        foreach (var group in failed.GroupBy(t => (t.Op, t.Technique)))
        {
            foreach (var chunk in group.Chunk(SweepExpander.PacketSizeOf(group.Key.Technique, sweep.PacketSize)))
            {
                var packet = new PacketRow
                {
                    Id = Guid.NewGuid(), SweepId = id, Op = group.Key.Op, Technique = group.Key.Technique, Priority = sweep.Priority,
                    Seq = ++seq, State = PacketStates.Pending, UnitCount = chunk.Length, CreatedAt = now,
                };
                db.Packets.Add(packet);
                foreach (var t in chunk)
                {
                    t.PacketId = packet.Id;
                    t.State = TupleStates.Pending;
                    t.Failure = null;
                    t.UpdatedAt = now;
                }
            }
        }
        sweep.State = SweepStates.Active;
        sweep.FinishedAt = null;
        await db.SaveChangesAsync(cancel);
        logger.LogInformation("sweep {SweepId}: {Count} failed tuples queued again", id, failed.Count);
        dispatcher.Wake();
        return await StatusAsync(id, cancel);
    }

    private async Task<SweepStatus> SetStateAsync(Guid id, string state, CancellationToken cancel)
    {
        var sweep = await FindAsync(id, cancel);
        if (sweep.State == SweepStates.Cancelled) throw new ApiProblem(409, "sweep is cancelled", new Dictionary<string, string[]> { ["id"] = ["a cancelled sweep cannot be paused or resumed"] });
        // A finished sweep has nothing left to hold back: pausing it would only make it look unfinished.
        if (state == SweepStates.Paused && !await db.Tuples.AnyAsync(t => t.SweepId == id && TupleStates.Open.Contains(t.State), cancel))
            throw new ApiProblem(409, "sweep is finished", new Dictionary<string, string[]> { ["id"] = ["the sweep has nothing left to send; there is nothing to pause"] });
        sweep.State = state;
        await db.SaveChangesAsync(cancel);
        return await StatusAsync(id, cancel);
    }
}
