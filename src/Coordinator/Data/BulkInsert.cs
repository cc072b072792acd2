using System.Data.Common;
using System.Text;

namespace Microscope.Coordinator.Data;

/// <summary>Multi-row INSERTs with parameters: a 20,000-tuple sweep is a few dozen
/// statements, not 20,000 round trips, on PostgreSQL and SQLite alike.</summary>
public static class BulkInsert
{
    public static async Task InsertAsync(DbConnection connection, DbTransaction tx, string table, IReadOnlyList<string> columns,
        IEnumerable<object?[]> rows, CancellationToken cancel = default)
    {
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
                p.Value = rows[r][c] switch
                {
                    null => DBNull.Value,
                    Guid g => g.ToString(),
                    var v => v,
                };
                cmd.Parameters.Add(p);
            }
            sql.Append(')');
        }
        cmd.CommandText = sql.ToString();
        await cmd.ExecuteNonQueryAsync(cancel);
    }
}
