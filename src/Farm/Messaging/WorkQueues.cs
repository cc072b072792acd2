using MassTransit;

namespace Microscope.Farm.Messaging;

/// <summary>The work queues (render-work, render-work-priority): where the coordinator sends
/// packets and workers hand them back, and how many times the broker has delivered one.</summary>
public static class WorkQueues
{
    /// <summary>Set by RabbitMQ on redeliveries from quorum queues (QueueDeclarations): it lets
    /// a worker refuse a crash-looping packet.</summary>
    public const string DeliveryCountHeader = "x-delivery-count";

    /// <summary>The address of a lane's queue.</summary>
    public static Uri Address(IBus bus, string queue) => Address(bus.Address, queue);

    /// <summary>The same from any address of the bus (a consumer's input address). On RabbitMQ
    /// the lane's exchange: a <c>queue:</c> address would make MassTransit declare the queue
    /// with its own (classic) arguments and clash with QueueDeclarations.</summary>
    public static Uri Address(Uri busAddress, string queue) =>
        busAddress.Scheme.StartsWith("rabbitmq", StringComparison.Ordinal) ? new($"exchange:{queue}") : new($"queue:{queue}");

    /// <summary>Earlier deliveries of this message counted by the broker (0 for the first, and
    /// where the broker does not count them). RabbitMQ sets the header on the AMQP message (the
    /// transport headers): <c>context.Headers</c> are the message envelope's and never carry it.</summary>
    public static int EarlierDeliveries(ConsumeContext context) =>
        Count(context.ReceiveContext.TransportHeaders) ?? Count(context.Headers) ?? 0;

    private static int? Count(Headers headers) =>
        headers.TryGetHeader(DeliveryCountHeader, out var value) && value is not null
            && int.TryParse(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture), out var count) ? count : null;
}
