using System.Data.Common;
using System.Text;

namespace Microscope.Coordinator.Data;

/// <summary>Bulk inserts inside the caller's transaction. PostgreSQL: binary COPY, one stream
/// for all rows. Other servers: multi-row INSERTs, a few dozen statements for 20,000 rows. SQLite (in-process, no
/// round trips): one prepared statement re-executed per row, because Microsoft.Data.Sqlite
/// binds named parameters in time quadratic in their number per statement.</summary>
public static class BulkInsert
{
    public static async Task InsertAsync(DbConnection connection, DbTransaction tx, string table, IReadOnlyList<string> columns,
        IEnumerable<object?[]> rows, CancellationToken cancel = default)
    {
        if (connection is Microsoft.Data.Sqlite.SqliteConnection)
        {
            await InsertPrepared(connection, tx, table, columns, rows, cancel);
            return;
        }
        if (connection is Npgsql.NpgsqlConnection npgsql)
        {
            await Copy(npgsql, table, columns, rows, cancel);
            return;
        }
        // SQLite allows 32,766 parameters per statement, PostgreSQL 65,535.
        var perStatement = Math.Max(1, 30_000 / columns.Count);
        var batch = new List<object?[]>(perStatement);
        foreach (var row in rows)
        {
            batch.Add(row);
            if (batch.Count == perStatement)
            {
                await Flush(connection, tx, table, columns, batch, cancel);
                batch.Clear();
            }
        }
        if (batch.Count > 0) await Flush(connection, tx, table, columns, batch, cancel);
    }

    private static async Task InsertPrepared(DbConnection connection, DbTransaction tx, string table, IReadOnlyList<string> columns,
        IEnumerable<object?[]> rows, CancellationToken cancel)
    {
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select((_, i) => $"@p{i}"))})";
        var parameters = columns.Select((_, i) =>
        {
            var p = cmd.CreateParameter();
            p.ParameterName = $"@p{i}";
            cmd.Parameters.Add(p);
            return p;
        }).ToArray();
        cmd.Prepare();
        foreach (var row in rows)
        {
            for (var c = 0; c < parameters.Length; c++) parameters[c].Value = Value(row[c]);
            await cmd.ExecuteNonQueryAsync(cancel);
        }
    }

    /// <summary>Binary COPY: values must have the columns' exact types (text, integer, bigint,
    /// double precision, boolean), which the row builders use.</summary>
    private static async Task Copy(Npgsql.NpgsqlConnection connection, string table, IReadOnlyList<string> columns,
        IEnumerable<object?[]> rows, CancellationToken cancel)
    {
        await using var writer = await connection.BeginBinaryImportAsync(
            $"COPY {table} ({string.Join(", ", columns)}) FROM STDIN (FORMAT BINARY)", cancel);
        foreach (var row in rows)
        {
            await writer.StartRowAsync(cancel);
            foreach (var v in row)
            {
                switch (v)
                {
                    case null: await writer.WriteNullAsync(cancel); break;
                    case Guid g: await writer.WriteAsync(g.ToString(), NpgsqlTypes.NpgsqlDbType.Text, cancel); break;
                    case string t: await writer.WriteAsync(t, NpgsqlTypes.NpgsqlDbType.Text, cancel); break;
                    case int i: await writer.WriteAsync(i, NpgsqlTypes.NpgsqlDbType.Integer, cancel); break;
                    case long l: await writer.WriteAsync(l, NpgsqlTypes.NpgsqlDbType.Bigint, cancel); break;
                    case double d: await writer.WriteAsync(d, NpgsqlTypes.NpgsqlDbType.Double, cancel); break;
                    case bool b: await writer.WriteAsync(b, NpgsqlTypes.NpgsqlDbType.Boolean, cancel); break;
                    default: throw new ArgumentException($"no COPY mapping for {v.GetType().Name}");
                }
            }
        }
        await writer.CompleteAsync(cancel);
    }

    private static object Value(object? v) => v switch
    {
        null => DBNull.Value,
        Guid g => g.ToString(),
        _ => v,
    };

    private static async Task Flush(DbConnection connection, DbTransaction tx, string table, IReadOnlyList<string> columns,
        List<object?[]> rows, CancellationToken cancel)
    {
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        var sql = new StringBuilder($"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ");
        var n = 0;
        for (var r = 0; r < rows.Count; r++)
        {
            sql.Append(r == 0 ? "(" : ",(");
            for (var c = 0; c < columns.Count; c++)
            {
                var name = $"@p{n++}";
                sql.Append(c == 0 ? name : "," + name);
                var p = cmd.CreateParameter();
                p.ParameterName = name;
                p.Value = Value(rows[r][c]);
                cmd.Parameters.Add(p);
            }
            sql.Append(')');
        }
        cmd.CommandText = sql.ToString();
        await cmd.ExecuteNonQueryAsync(cancel);
    }
}
