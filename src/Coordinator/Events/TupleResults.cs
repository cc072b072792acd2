using Microscope.Coordinator.Data;
using Microsoft.EntityFrameworkCore;

namespace Microscope.Coordinator.Events;

/// <summary>A tuple becomes done with its stored result: from a worker's UnitRendered, or from
/// the objects found in the store when that event was lost (BucketReconciler). Once: a done
/// tuple never changes again; the result row is upserted on its natural key, so a second
/// report leaves one row.</summary>
internal static class TupleResults
{
    /// <summary>Returns whether the tuple changed (false: it was done already).</summary>
    public static async Task<bool> RecordDoneAsync(FarmDb db, Guid tupleId, string imageKey, string recordKey, double objectiveStart, double objectiveEnd,
        double msPerStep, string? workerId, long now, CancellationToken cancel = default)
    {
        var changed = await db.Tuples.Where(t => t.Id == tupleId && t.State != TupleStates.Done)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Done).SetProperty(t => t.ImageKey, imageKey)
                .SetProperty(t => t.RecordKey, recordKey).SetProperty(t => t.ObjectiveStart, objectiveStart)
                .SetProperty(t => t.ObjectiveEnd, objectiveEnd).SetProperty(t => t.MsPerStep, msPerStep)
                .SetProperty(t => t.WorkerId, t => workerId ?? t.WorkerId).SetProperty(t => t.Failure, (string?)null)
                .SetProperty(t => t.UpdatedAt, now).SetProperty(t => t.DoneAt, now), cancel);
        var id = tupleId.ToString();
        // One statement on both databases (SQLite needs the WHERE before ON CONFLICT).
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO results (model, version, op, unit, technique, params_hash, image_key, record_key,
                                 objective_start, objective_end, ms_per_step, tuple_id, rendered_at)
            SELECT model, version, op, unit, technique, params_hash, {imageKey}, {recordKey},
                   {objectiveStart}, {objectiveEnd}, {msPerStep}, id, {now}
            FROM tuples WHERE id = {id}
            ON CONFLICT (model, version, op, unit, technique, params_hash) DO UPDATE SET
                image_key = excluded.image_key, record_key = excluded.record_key,
                objective_start = excluded.objective_start, objective_end = excluded.objective_end,
                ms_per_step = excluded.ms_per_step, tuple_id = excluded.tuple_id, rendered_at = excluded.rendered_at
            """, cancel);
        return changed > 0;
    }
}
