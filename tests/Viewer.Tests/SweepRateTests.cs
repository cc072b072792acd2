using Microscope.Coordinator.Data;
using Microscope.Coordinator.Sweeps;
using Microscope.Viewer.Catalogue;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microscope.Viewer.Tests;

/// <summary>The sweeps page's rate and ETA for a sweep younger than the rate's window (every
/// demo sweep): the units done are divided by the sweep's age, not by the whole window.</summary>
public sealed class SweepRateTests
{
    [Fact]
    public void A_young_sweep_s_rate_is_over_its_age()
    {
        const long now = 1_000_000_000;
        var start = SweepRate.WindowStart(now - 120_000, null, now);
        Assert.Equal(now - 120_000, start);
        var (perMinute, eta) = SweepRate.Of(60, start, now, open: 60);
        Assert.Equal(30, perMinute, 6);
        Assert.Equal(120, eta!.Value, 6);
        // An older sweep's rate is over the last ten minutes.
        Assert.Equal(now - SweepRate.WindowMs, SweepRate.WindowStart(now - 3_600_000, null, now));
        Assert.Null(SweepRate.Of(0, start, now, open: 5).EtaSeconds);
        Assert.Equal(0, SweepRate.Of(10, start, now, open: 0).EtaSeconds);
    }

    [Fact]
    public async Task Viewer_rate_and_eta_of_a_two_minute_old_sweep_match_its_progress()
    {
        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync();
        await using var db = new FarmDb(new DbContextOptionsBuilder<FarmDb>().UseSqlite(connection).Options);
        await Migrations.ApplyAsync(db, NullLogger.Instance);
        const long now = 1_800_000_000_000;
        var sweep = new SweepRow
        {
            Id = Guid.NewGuid(), Kind = "sweep", State = SweepStates.Active, Model = "demo", Version = "v",
            OpsJson = "[]", TechniquesJson = "[]", ParametersJson = "{}", ParamsHash = "h", Total = 120, CreatedAt = now - 120_000,
        };
        db.Sweeps.Add(sweep);
        // 60 units done evenly over its two minutes, 60 still queued: 30 units/min, 2 minutes left.
        for (var i = 0; i < 120; i++)
            db.Tuples.Add(new TupleRow
            {
                Id = Guid.NewGuid(), SweepId = sweep.Id, Model = "demo", Version = "v", Op = "conv3", Unit = i, Technique = "channel",
                ParamsHash = "h", State = i < 60 ? TupleStates.Done : TupleStates.Queued, UpdatedAt = now,
                DoneAt = i < 60 ? now - 120_000 + i * 2_000 : null,
            });
        await db.SaveChangesAsync();

        var progress = Assert.Single(await new CatalogueReader(db).SweepsAsync(10, now, CancellationToken.None));
        Assert.Equal(30, progress.UnitsPerMinute, 6);
        Assert.Equal(120, progress.EtaSeconds!.Value, 6);
    }
}
