using Microscope.Coordinator.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microscope.Farm.Tests;

/// <summary>The EF Core migrations (Data/SchemaMigrations) against the hand-written ones they
/// replace, on SQLite (the PostgreSQL twin is DistributedFarmTests.MigrationsApplyOnceAndKeepData).</summary>
public sealed class SchemaMigrationTests
{
    /// <summary>A change to FarmDb's model without `dotnet ef migrations add` fails here.</summary>
    [Fact]
    public void TheModelHasNoChangeWithoutAMigration()
    {
        using var db = new DesignTimeFarmDb().CreateDbContext([]);
        Assert.False(db.Database.HasPendingModelChanges(),
            "FarmDb's model differs from the last migration's snapshot: add one with `dotnet tool restore && dotnet ef migrations add NAME --project src/Coordinator` (docs/farm.md)");
    }

    [Fact]
    public async Task ASchemaOneDatabaseUpgradesKeepingItsRowsToTheSchemaAFreshOneGets()
    {
        var folder = Path.Combine(Path.GetTempPath(), "farm-schema-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            // A database made by the farm before EF migrations, at schema 1, with rows.
            var old = $"Data Source={Path.Combine(folder, "old.db")}";
            await using (var c = new SqliteConnection(old))
            {
                await c.OpenAsync();
                await using var cmd = c.CreateCommand();
                cmd.CommandText = $"""
                    CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL);
                    {Migrations.Legacy[0].Sql}
                    INSERT INTO schema_migrations VALUES (1, 'initial schema', 0);
                    INSERT INTO models VALUES ('kept', 'v1', '[]', 1, 0);
                    INSERT INTO packets (id, sweep_id, op, technique, priority, seq, state, unit_count, dispatches, created_at)
                        VALUES ('old-packet', 'old-sweep', 'conv1', 'channel', 0, 0, 'pending', 4, 0, 0);
                    """;
                await cmd.ExecuteNonQueryAsync();
            }
            var fresh = $"Data Source={Path.Combine(folder, "fresh.db")}";
            int efMigrations;
            await using (var db = Open(fresh))
            {
                efMigrations = db.Database.GetMigrations().Count();
                Assert.Equal(Migrations.Baseline, db.Database.GetMigrations().First());
                Assert.Equal(efMigrations, await Migrations.ApplyAsync(db, NullLogger.Instance));
                Assert.Empty(await Migrations.MissingAsync(db));
            }
            await using (var db = Open(old))
            {
                // Legacy 2-5, then every EF migration (the baseline first).
                Assert.Equal([.. Migrations.Legacy.Skip(1).Select(m => $"{m.Version}"), .. db.Database.GetMigrations()], await Migrations.MissingAsync(db));
                // Legacy 2-5, then the EF migrations after the baseline; a second run applies none.
                Assert.Equal(Migrations.Legacy.Count - 1 + efMigrations - 1, await Migrations.ApplyAsync(db, NullLogger.Instance));
                Assert.Equal(0, await Migrations.ApplyAsync(db, NullLogger.Instance));
                Assert.Empty(await Migrations.MissingAsync(db));
                Assert.Equal(1, await db.Models.CountAsync(m => m.Name == "kept"));
                // (The row's made-up id is no Guid: read it as SQL.)
                Assert.Equal(0, await db.Database.SqlQueryRaw<int>("SELECT steps_done + starts AS \"Value\" FROM packets WHERE id = 'old-packet'").SingleAsync());
                Assert.Equal(Migrations.Baseline, (await db.Database.GetAppliedMigrationsAsync()).First());
            }
            Assert.Equal(await SchemaAsync(fresh), await SchemaAsync(old));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static FarmDb Open(string connectionString) => new(new DbContextOptionsBuilder<FarmDb>().UseSqlite(connectionString).Options);

    /// <summary>Every farm table's columns (name, type, not null, default, key position) and
    /// indexes (name, unique, columns), as text to compare.</summary>
    private static async Task<string> SchemaAsync(string connectionString)
    {
        await using var c = new SqliteConnection(connectionString);
        await c.OpenAsync();
        var lines = new List<string>();
        async Task<List<string[]>> Rows(string sql)
        {
            await using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            await using var r = await cmd.ExecuteReaderAsync();
            var rows = new List<string[]>();
            while (await r.ReadAsync()) rows.Add(Enumerable.Range(0, r.FieldCount).Select(i => r.IsDBNull(i) ? "null" : Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)!.ToLowerInvariant()).ToArray());
            return rows;
        }
        var tables = (await Rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_\\_%' ESCAPE '\\' AND name NOT IN ('schema_migrations', 'sqlite_sequence') ORDER BY name")).Select(r => r[0]).ToList();
        Assert.Contains("tuples", tables);
        foreach (var table in tables)
        {
            // A key column's NOT NULL is left out: SQLite's "id text PRIMARY KEY" (the legacy
            // SQL) allows null where EF writes NOT NULL; neither ever stores one.
            foreach (var col in (await Rows($"PRAGMA table_info('{table}')")).OrderBy(r => r[1], StringComparer.Ordinal))
                lines.Add($"{table}.{col[1]} {col[2]} notnull={(col[5] == "0" ? col[3] : "key")} default={col[4]} pk={col[5]}");
            foreach (var index in (await Rows($"PRAGMA index_list('{table}')")).Where(r => !r[1].StartsWith("sqlite_autoindex", StringComparison.Ordinal)).OrderBy(r => r[1], StringComparer.Ordinal))
                lines.Add($"{table} index {index[1]} unique={index[2]} ({string.Join(",", (await Rows($"PRAGMA index_info('{index[1]}')")).Select(r => r[2]))})");
        }
        return string.Join("\n", lines);
    }
}
