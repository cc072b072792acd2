using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Data;

/// <summary>Hand-written schema migrations (the EF Core design-time package is not available
/// here). Each runs once, in a transaction, and is recorded in schema_migrations. The SQL is
/// the common subset of PostgreSQL and SQLite. Rules: only add (tables, nullable columns or
/// columns with defaults, indexes); never drop or rename a column that holds data.</summary>
public static class Migrations
{
    public sealed record Migration(int Version, string Name, string Sql);

    public static readonly IReadOnlyList<Migration> All =
    [
        new(1, "initial schema", """
            CREATE TABLE models (
                name text NOT NULL, version text NOT NULL, descriptor_json text NOT NULL,
                unit_count integer NOT NULL, registered_at bigint NOT NULL,
                PRIMARY KEY (name, version));
            CREATE TABLE sweeps (
                id text PRIMARY KEY, kind text NOT NULL, state text NOT NULL, model text NOT NULL,
                version text NOT NULL, ops_json text NOT NULL, techniques_json text NOT NULL,
                parameters_json text NOT NULL, params_hash text NOT NULL, force boolean NOT NULL,
                packet_size integer NOT NULL, priority integer NOT NULL, total integer NOT NULL,
                reused integer NOT NULL, created_at bigint NOT NULL, finished_at bigint NULL);
            CREATE TABLE packets (
                id text PRIMARY KEY, sweep_id text NOT NULL, op text NOT NULL, technique text NOT NULL,
                priority integer NOT NULL, seq integer NOT NULL, state text NOT NULL, unit_count integer NOT NULL,
                dispatches integer NOT NULL, worker_id text NULL, created_at bigint NOT NULL,
                sent_at bigint NULL, heartbeat_at bigint NULL, finished_at bigint NULL);
            CREATE INDEX packets_state ON packets (state, priority);
            CREATE INDEX packets_sweep ON packets (sweep_id);
            CREATE TABLE tuples (
                id text PRIMARY KEY, sweep_id text NOT NULL, packet_id text NULL, model text NOT NULL,
                version text NOT NULL, op text NOT NULL, unit integer NOT NULL, technique text NOT NULL,
                params_hash text NOT NULL, state text NOT NULL, attempts integer NOT NULL,
                failure text NULL, image_key text NULL, record_key text NULL,
                objective_start double precision NULL, objective_end double precision NULL,
                ms_per_step double precision NULL, worker_id text NULL, reused boolean NOT NULL,
                updated_at bigint NOT NULL, done_at bigint NULL);
            CREATE UNIQUE INDEX tuples_identity ON tuples (sweep_id, op, unit, technique);
            CREATE INDEX tuples_sweep_state ON tuples (sweep_id, state);
            CREATE INDEX tuples_packet ON tuples (packet_id);
            CREATE TABLE results (
                model text NOT NULL, version text NOT NULL, op text NOT NULL, unit integer NOT NULL,
                technique text NOT NULL, params_hash text NOT NULL, image_key text NOT NULL,
                record_key text NOT NULL, objective_start double precision NOT NULL,
                objective_end double precision NOT NULL, ms_per_step double precision NOT NULL,
                tuple_id text NOT NULL, rendered_at bigint NOT NULL,
                PRIMARY KEY (model, version, op, unit, technique, params_hash));
            """),
        new(2, "packet progress (stalled renders)", """
            ALTER TABLE packets ADD COLUMN steps_done integer NOT NULL DEFAULT 0;
            ALTER TABLE packets ADD COLUMN progress_at bigint NULL;
            """),
        new(3, "requesters, idempotency keys, render budgets; the event inbox", """
            ALTER TABLE sweeps ADD COLUMN requester text NULL;
            ALTER TABLE sweeps ADD COLUMN idempotency_key text NULL;
            ALTER TABLE sweeps ADD COLUMN cost bigint NOT NULL DEFAULT 0;
            CREATE UNIQUE INDEX sweeps_idempotency ON sweeps (requester, idempotency_key);
            CREATE INDEX sweeps_requester ON sweeps (requester, created_at);
            CREATE TABLE inbox (
                message_id text NOT NULL, consumer text NOT NULL, received_at bigint NOT NULL,
                PRIMARY KEY (message_id, consumer));
            CREATE INDEX inbox_received ON inbox (received_at);
            CREATE INDEX packets_finished ON packets (state, finished_at);
            ALTER TABLE packets ADD COLUMN starts integer NOT NULL DEFAULT 0;
            """),
        new(4, "models added while running (their files)", """
            ALTER TABLE models ADD COLUMN source_json text NULL;
            """),
        new(5, "claims: researchers' notes on units", """
            CREATE TABLE claims (
                id text PRIMARY KEY, author text NOT NULL, text text NOT NULL,
                created_at bigint NOT NULL, updated_at bigint NOT NULL);
            CREATE INDEX claims_created ON claims (created_at);
            CREATE TABLE claim_units (
                claim_id text NOT NULL, model text NOT NULL, op text NOT NULL, unit integer NOT NULL,
                PRIMARY KEY (claim_id, model, op, unit));
            CREATE INDEX claim_units_unit ON claim_units (model, op, unit);
            """),
    ];

    /// <summary>Applies every migration not yet applied; returns how many ran.</summary>
    public static async Task<int> ApplyAsync(FarmDb db, ILogger logger, CancellationToken cancel = default)
    {
        var connection = db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open) await connection.OpenAsync(cancel);
        if (db.IsSqlite)
        {
            // WAL lets the API read while a worker event writes.
            await Execute(connection, null, "PRAGMA journal_mode=WAL;", cancel);
        }
        await Execute(connection, null, "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL);", cancel);
        var ran = 0;
        foreach (var m in All)
        {
            await using var tx = await connection.BeginTransactionAsync(cancel);
            // Two coordinators starting together: the second waits here, then skips.
            if (!db.IsSqlite) await Execute(connection, tx, "SELECT pg_advisory_xact_lock(4242004);", cancel);
            await using (var check = connection.CreateCommand())
            {
                check.Transaction = tx;
                check.CommandText = $"SELECT count(*) FROM schema_migrations WHERE version = {m.Version}";
                if (Convert.ToInt64(await check.ExecuteScalarAsync(cancel), System.Globalization.CultureInfo.InvariantCulture) > 0)
                {
                    await tx.CommitAsync(cancel);
                    continue;
                }
            }
            await Execute(connection, tx, m.Sql, cancel);
            await Execute(connection, tx,
                $"INSERT INTO schema_migrations (version, name, applied_at) VALUES ({m.Version}, '{m.Name.Replace("'", "''", StringComparison.Ordinal)}', {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()});", cancel);
            await tx.CommitAsync(cancel);
            logger.LogInformation("applied migration {Version} ({Name})", m.Version, m.Name);
            ran++;
        }
        return ran;
    }

    public static async Task<IReadOnlyList<int>> AppliedAsync(FarmDb db, CancellationToken cancel = default)
    {
        var connection = db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open) await connection.OpenAsync(cancel);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT version FROM schema_migrations ORDER BY version";
        var versions = new List<int>();
        await using var reader = await cmd.ExecuteReaderAsync(cancel);
        while (await reader.ReadAsync(cancel)) versions.Add(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
        return versions;
    }

    private static async Task Execute(DbConnection connection, DbTransaction? tx, string sql, CancellationToken cancel)
    {
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(cancel);
    }
}
