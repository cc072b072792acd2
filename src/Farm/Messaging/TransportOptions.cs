using Microscope.Farm.Hosting;

namespace Microscope.Farm.Messaging;

public enum TransportKind { InMemory, RabbitMq }

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
        return problems;
    }
}
