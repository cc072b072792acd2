using System.Globalization;
using System.Text;
using Microscope.Contracts;
using Microscope.Farm.Storage;
using Microsoft.Extensions.Logging;

namespace Microscope.Worker;

/// <summary>The log lines a worker writes for one packet: every call goes on to the service's
/// logger (Serilog, with the sweep/packet ids of the consumer's scope) and is also kept here,
/// Information and above whatever the configured level, so that when the packet's tuples fail
/// each tuple's lines can be stored beside its result (ObjectKeys.Log: "{stem}.log.txt") and
/// the viewer's sweeps page links them. Kept per packet, in memory, for the packet's life only.</summary>
public sealed class PacketLog(ILogger inner, RenderWork work, string workerId) : ILogger
{
    private readonly List<string> _lines = [];
    private readonly string _ids = $"{{SweepId={work.SweepId ?? Guid.Empty}, PacketId={work.PacketId}, Worker={workerId}}}";

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information || inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (inner.IsEnabled(logLevel)) inner.Log(logLevel, eventId, state, exception, formatter);
        if (logLevel < LogLevel.Information) return;
        var line = $"{DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture)}Z {Level(logLevel)} {formatter(state, exception)} {_ids}"
            + (exception is null ? "" : Environment.NewLine + exception);
        lock (_lines) _lines.Add(line);
    }

    /// <summary>The text stored for one tuple of the packet: a header naming it, then the lines.</summary>
    public string TextFor(PacketUnit unit)
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"# worker log of tuple {unit.TupleId}: {work.Model}/{work.ModelVersion}/{work.Op}/{unit.Unit} {work.Technique}, parameters {work.ParamsHash}; sweep {work.SweepId}, packet {work.PacketId}, worker {workerId}").Append('\n');
        lock (_lines) foreach (var line in _lines) s.Append(line).Append('\n');
        return s.ToString();
    }

    /// <summary>Stores every tuple's lines (ObjectKeys.Log). Best effort: a store that fails
    /// here must not keep the failure itself from being reported.</summary>
    public async Task UploadAsync(IObjectStore store, CancellationToken cancel)
    {
        foreach (var unit in work.Units)
        {
            var key = ObjectKeys.Log(new UnitAddress(work.Model, work.ModelVersion, work.Op, unit.Unit), work.Technique, work.ParamsHash);
            try { await store.PutAsync(key, Encoding.UTF8.GetBytes(TextFor(unit)), ObjectKeyRules.ContentType(key), cancel); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                inner.LogWarning(e, "could not store the log lines of tuple {TupleId} under {Key}", unit.TupleId, key);
            }
        }
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Information => "INF", LogLevel.Warning => "WRN", LogLevel.Error => "ERR", LogLevel.Critical => "FTL", _ => level.ToString().ToUpperInvariant()[..3],
    };
}
