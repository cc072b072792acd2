using Microscope.Coordinator.Data;
using Microscope.Coordinator.Metrics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Microscope.Farm.IntegrationTests;

/// <summary>The queue sampler's counts on real PostgreSQL with a table of mostly finished
/// tuples: right, and read from the partial index of open tuples, not a scan of the table
/// (docs/performance.md, "Coordinator: the queue sampler").</summary>
[Collection(RealServersCollection.Name)]
public sealed class QueueSamplerPlanTests(RealServers servers)
{
    [Fact]
    public async Task TheSamplersCountsAreRightAndReadOnlyTheOpenTuplesIndex()
    {
        var name = "sampler" + Guid.NewGuid().ToString("N")[..6];
        var admin = $"Host=127.0.0.1;Port={servers.PostgresPort};Username=postgres;Database=postgres";
        await ExecAsync(admin, $"CREATE DATABASE {name}");
        var connection = admin.Replace("Database=postgres", $"Database={name}", StringComparison.Ordinal);
        await using var services = new ServiceCollection().AddDbContext<FarmDb>(o => o.UseNpgsql(connection)).BuildServiceProvider();
        using (var scope = services.CreateScope())
            await Migrations.ApplyAsync(scope.ServiceProvider.GetRequiredService<FarmDb>(), NullLogger.Instance);
        // The data measured in docs/performance.md: 200,000 tuples, 40 sweeps of 5,000; the last
        // one running (400 done, 100 running, 500 queued, 4,000 pending), the rest finished.
        var script = File.ReadAllText(Path.Combine(RealServers.RepoRoot, "tools", "queue_sampler_explain.sql"));
        var insert = script[script.IndexOf("INSERT INTO tuples", StringComparison.Ordinal)..(script.IndexOf("AS i;", StringComparison.Ordinal) + "AS i;".Length)];
        await ExecAsync(connection, insert);
        await ExecAsync(connection, "ANALYZE tuples");

        var sample = await new QueueSampler(services.GetRequiredService<IServiceScopeFactory>(), NullLogger<QueueSampler>.Instance).SampleAsync(default);
        Assert.Equal((4000L, 500L, 100L), (sample.Tuples[TupleStates.Pending], sample.Tuples[TupleStates.Queued], sample.Tuples[TupleStates.Running]));
        Assert.Equal(1, sample.ActiveSweeps);

        using (var scope = services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<FarmDb>();
            foreach (var sql in new[] { QueueSampler.OpenTuplesByState(db).ToQueryString(), QueueSampler.SweepsWithOpenTuples(db).ToQueryString() })
            {
                // The open states are constants in the SQL (a parameter would hide the match with the index's WHERE).
                Assert.DoesNotContain("@", sql);
                var plan = await ScalarAsync(connection, "EXPLAIN (FORMAT JSON) " + sql);
                Assert.Contains("\"Index Name\": \"tuples_open\"", plan);
                Assert.DoesNotContain("Seq Scan", plan);
            }
        }
        NpgsqlConnection.ClearAllPools();
        await ExecAsync(admin, $"DROP DATABASE {name}");
    }

    private static async Task ExecAsync(string connection, string sql)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<string> ScalarAsync(string connection, string sql)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return Convert.ToString(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture)!;
    }
}
