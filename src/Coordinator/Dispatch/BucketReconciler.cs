using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Events;
using Microscope.Engine.Lenses;
using Microscope.Farm.Rendering;
using Microscope.Farm.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Dispatch;

/// <summary>Tuples whose result is already in the object store although their UnitRendered
/// never arrived (lost in a broker or database outage, or the coordinator died before it
/// recorded it) become done from the stored objects instead of being rendered again. A worker
/// stores a result's record last, so a record with this tuple's parameters hash means the
/// whole result is there. Run on the in-flight tuples at start-up and on the tuples of every
/// packet the reaper is about to send again.</summary>
public sealed class BucketReconciler(IObjectStore store, TimeProvider clock, ILogger<BucketReconciler> logger)
{
    /// <summary>Marks done every open tuple of <paramref name="tuples"/> whose result is stored;
    /// closes packets left with nothing open. Returns the number of tuples done.</summary>
    public async Task<int> CompleteFromStoreAsync(FarmDb db, IQueryable<TupleRow> tuples, CancellationToken cancel)
    {
        var open = await tuples.Where(t => TupleStates.Open.Contains(t.State))
            .Select(t => new { t.Id, t.PacketId, t.Model, t.Version, t.Op, t.Unit, t.Technique, t.ParamsHash }).ToListAsync(cancel);
        var done = 0;
        var packets = new HashSet<Guid>();
        foreach (var t in open)
        {
            var address = new UnitAddress(t.Model, t.Version, t.Op, t.Unit);
            var recordKey = ObjectKeys.Record(address, t.Technique, t.ParamsHash);
            var bytes = await store.GetAsync(recordKey, cancel);
            if (bytes is null || LensRecord.Parse(bytes) is not { } record || record.ParamsHash != t.ParamsHash
                || ResultImageKey.Of(address, t.Technique, t.ParamsHash, record.Files) is not { } imageKey)
                continue;
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
            if (await TupleResults.RecordDoneAsync(db, t.Id, imageKey, recordKey,
                    record.ObjectiveStart ?? 0, record.ObjectiveEnd ?? 0, record.MsPerStep ?? 0, workerId: null, now, cancel))
            {
                done++;
                if (t.PacketId is { } p) packets.Add(p);
            }
        }
        foreach (var packetId in packets)
        {
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
            await db.Packets.Where(p => p.Id == packetId && (p.State == PacketStates.Pending || p.State == PacketStates.Sent || p.State == PacketStates.Running)
                    && !db.Tuples.Any(t => t.PacketId == packetId && TupleStates.Open.Contains(t.State)))
                .ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Done).SetProperty(p => p.FinishedAt, now), cancel);
        }
        if (done > 0) logger.LogWarning("{Done} tuples done from results already in the object store (their UnitRendered was lost)", done);
        return done;
    }
}
