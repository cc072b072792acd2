using MassTransit;
using Microscope.Contracts;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Microscope.Farm.Messaging;

/// <summary>How every farm queue is declared on RabbitMQ, in one place for every declarer: the
/// workers' consumer endpoints (render-work, render-work-priority), the coordinator's events
/// endpoint (farm-coordinator) and the coordinator's own declaration of the work queues before
/// it sends to them. RabbitMQ refuses a second declaration with other arguments
/// (PRECONDITION_FAILED, "inequivalent arg 'x-queue-type'"), which is why quorum queues once
/// clashed: the coordinator's sends to <c>queue:render-work</c> declared a classic queue while
/// the workers asked for a quorum one. Now sends go to the lane's exchange only
/// (<see cref="WorkQueues.Address(Uri, string)"/>) and the queue behind it is declared from here.</summary>
public static class QueueDeclarations
{
    public const string QueueTypeArgument = "x-queue-type";
    public const string DeliveryLimitArgument = "x-delivery-limit";

    /// <summary>The queues the coordinator sends to and workers consume.</summary>
    public static readonly IReadOnlyList<string> WorkQueueNames = [Queues.RenderWork, Queues.PriorityRenderWork];

    /// <summary>The arguments of a queue of the farm (none for classic queues): quorum queues
    /// with a delivery limit, so RabbitMQ itself stops offering a message whose consumers died
    /// with it in hand more than that many times.</summary>
    public static IDictionary<string, object?> Arguments(TransportOptions transport, string queue)
    {
        var arguments = new Dictionary<string, object?>();
        if (transport.QueueType != QueueKind.Quorum) return arguments;
        arguments[QueueTypeArgument] = "quorum";
        // One integer type on every side: RabbitMQ compares an argument's type as well as its value.
        arguments[DeliveryLimitArgument] = queue == Queues.CoordinatorEvents ? transport.EventDeliveryLimit : transport.DeliveryLimit;
        return arguments;
    }

    /// <summary>Gives a RabbitMQ receive endpoint of the farm its queue arguments (the
    /// in-memory transport has none).</summary>
    public static void Apply(IReceiveEndpointConfigurator endpoint, string queue, TransportOptions transport)
    {
        if (endpoint is not IRabbitMqReceiveEndpointConfigurator rabbit) return;
        foreach (var (key, value) in Arguments(transport, queue)) rabbit.SetQueueArgument(key, value);
    }

    /// <summary>Declares the work queues (fanout exchange, queue, binding, as MassTransit's
    /// receive endpoints declare them), so packets sent before any worker has connected are
    /// kept. A queue that exists with other arguments (a classic queue from before quorum
    /// queues) stops the service with the way out.</summary>
    public static async Task DeclareWorkQueuesAsync(TransportOptions transport, ILogger logger, CancellationToken cancel)
    {
        var factory = new ConnectionFactory { Uri = AmqpUri(transport.RabbitMqUrl!), ClientProvidedName = "microscope-farm-declare" };
        var deadline = DateTime.UtcNow.AddSeconds(transport.StartTimeoutSeconds);
        while (true)
        {
            try
            {
                await using var connection = await factory.CreateConnectionAsync(cancel);
                await using var channel = await connection.CreateChannelAsync(cancellationToken: cancel);
                foreach (var queue in WorkQueueNames)
                {
                    await channel.ExchangeDeclareAsync(queue, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancel);
                    await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, Arguments(transport, queue), cancellationToken: cancel);
                    await channel.QueueBindAsync(queue, queue, "", cancellationToken: cancel);
                }
                logger.LogInformation("work queues declared: {Queues} ({Type}, delivery limit {Limit})", string.Join(", ", WorkQueueNames), transport.QueueType, transport.DeliveryLimit);
                return;
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
            {
                throw new InvalidOperationException(
                    $"RabbitMQ refused the work queues' declaration ({e.ShutdownReason.ReplyText}): they exist with other arguments, e.g. as classic queues from before Transport:QueueType=Quorum. " +
                    "Delete them once (docs/farm.md, \"Moving to quorum queues\"; the coordinator sends unfinished packets again) or set Transport:QueueType=Classic", e);
            }
            catch (BrokerUnreachableException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(1000, cancel);
            }
        }
    }

    /// <summary>RabbitMQ.Client takes amqp(s):// only; the farm also accepts MassTransit's rabbitmq://.</summary>
    public static Uri AmqpUri(string url)
    {
        var uri = new UriBuilder(url);
        if (uri.Scheme == "rabbitmq") uri.Scheme = "amqp";
        else if (uri.Scheme == "rabbitmqs") uri.Scheme = "amqps";
        return uri.Uri;
    }
}
