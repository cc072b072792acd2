using Microscope.Farm.Hosting;

namespace Microscope.Farm.Messaging;

public enum TransportKind { InMemory, RabbitMq }

/// <summary>How RabbitMQ keeps the farm's queues.</summary>
public enum QueueKind { Quorum, Classic }

/// <summary>Section <c>Transport</c>: which broker carries the farm's messages.</summary>
public sealed class TransportOptions : IValidatedOptions
{
    public const string Section = "Transport";

    /// <summary>InMemory (one process: the demo) or RabbitMq (distributed).</summary>
    public TransportKind Kind { get; set; } = TransportKind.InMemory;

    /// <summary>amqp://user:password@host:port/vhost</summary>
    public string? RabbitMqUrl { get; set; }

    /// <summary>Seconds to wait for the broker at start before giving up.</summary>
    public int StartTimeoutSeconds { get; set; } = 60;

    /// <summary>Quorum (replicated, counts deliveries, caps them at DeliveryLimit) or Classic
    /// (queues declared before quorum queues; see docs/farm.md, "Moving to quorum queues").</summary>
    public QueueKind QueueType { get; set; } = QueueKind.Quorum;

    /// <summary>Work queues (quorum): RabbitMQ drops a packet returned this many times by workers
    /// that died with it (first delivery + DeliveryLimit redeliveries at most). At least
    /// Coordinator:MaxAttempts, so the worker's own check fails it with the reason first.</summary>
    public int DeliveryLimit { get; set; } = 10;

    /// <summary>The coordinator's event queue (quorum): the same cap for an event whose
    /// coordinator died handling it; high, since a lost event costs a re-render.</summary>
    public int EventDeliveryLimit { get; set; } = 100;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Kind == TransportKind.RabbitMq)
        {
            if (string.IsNullOrWhiteSpace(RabbitMqUrl))
                problems.Add($"RabbitMqUrl is required when Kind is RabbitMq (set {FarmConfiguration.EnvironmentName(Section, nameof(RabbitMqUrl))})");
            else if (!Uri.TryCreate(RabbitMqUrl, UriKind.Absolute, out var u) || u.Scheme is not ("amqp" or "amqps" or "rabbitmq"))
                problems.Add($"RabbitMqUrl '{RabbitMqUrl}' is not an amqp:// URL");
        }
        if (StartTimeoutSeconds < 1) problems.Add("StartTimeoutSeconds must be at least 1");
        if (DeliveryLimit < 1) problems.Add($"DeliveryLimit must be at least 1 (set {FarmConfiguration.EnvironmentName(Section, nameof(DeliveryLimit))})");
        if (EventDeliveryLimit < 1) problems.Add($"EventDeliveryLimit must be at least 1 (set {FarmConfiguration.EnvironmentName(Section, nameof(EventDeliveryLimit))})");
        return problems;
    }
}
