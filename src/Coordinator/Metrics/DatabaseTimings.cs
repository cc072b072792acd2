using System.Data.Common;
using Microscope.Farm.Metrics;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Microscope.Coordinator.Metrics;

/// <summary>Records every database command's latency (microscope_db_command_duration_seconds)
/// from EF Core's own timing, for PostgreSQL and SQLite alike.</summary>
public sealed class DatabaseTimings(string provider) : DbCommandInterceptor
{
    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
    {
        Record("reader", eventData.Duration, "ok");
        return result;
    }

    public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        Record("reader", eventData.Duration, "ok");
        return ValueTask.FromResult(result);
    }

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        Record("nonquery", eventData.Duration, "ok");
        return result;
    }

    public override ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Record("nonquery", eventData.Duration, "ok");
        return ValueTask.FromResult(result);
    }

    public override object? ScalarExecuted(DbCommand command, CommandExecutedEventData eventData, object? result)
    {
        Record("scalar", eventData.Duration, "ok");
        return result;
    }

    public override ValueTask<object?> ScalarExecutedAsync(DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        Record("scalar", eventData.Duration, "ok");
        return ValueTask.FromResult(result);
    }

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) => Record(eventData.ExecuteMethod switch
    {
        DbCommandMethod.ExecuteReader => "reader", DbCommandMethod.ExecuteScalar => "scalar", _ => "nonquery",
    }, eventData.Duration, "error");

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        CommandFailed(command, eventData);
        return Task.CompletedTask;
    }

    private void Record(string kind, TimeSpan duration, string outcome) =>
        FarmMetrics.DatabaseDuration.Record(duration.TotalSeconds, new("provider", provider), new("kind", kind), new("outcome", outcome));
}
