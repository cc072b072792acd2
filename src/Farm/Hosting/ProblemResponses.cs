using System.Data.Common;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Hosting;

/// <summary>Every error answer of the farm's HTTP services is problem details (RFC 9457):
/// 404/405 from routing, 414 for an over-long URI, 503 (with Retry-After) when the database
/// or the broker is unreachable, 500 with a body for anything else; never an empty body.</summary>
public static class ProblemResponses
{
    /// <summary>Longest accepted path and query (Kestrel's own limit answers with an empty body).</summary>
    public const int MaxUriLength = 8 * 1024;

    /// <summary>Kestrel's request-line limit, above <see cref="MaxUriLength"/> so that the
    /// middleware, not Kestrel, answers 414.</summary>
    public const int KestrelRequestLineLimit = 64 * 1024;

    /// <summary>/health/ready: the checks tagged "ready" (the database; the bus, which
    /// MassTransit tags "ready"); degraded (a broker connection being re-established) is 503 too.</summary>
    public static readonly Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions ReadyCheck = new()
    {
        Predicate = c => c.Tags.Contains("ready"),
        ResultStatusCodes =
        {
            [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy] = StatusCodes.Status200OK,
            [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
            [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
    };

    public static void UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => IsOutage(e) ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError,
            ExceptionHandler = async http =>
            {
                var error = http.Features.Get<IExceptionHandlerFeature>()?.Error;
                var outage = error is not null && IsOutage(error);
                http.Response.StatusCode = outage ? 503 : 500;
                if (outage) http.Response.Headers.RetryAfter = "5";
                var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Microscope.Farm.Http");
                logger.LogWarning(error, "{Method} {Path}: {Status}", http.Request.Method, http.Request.Path, http.Response.StatusCode);
                await Results.Problem(statusCode: http.Response.StatusCode,
                    title: outage ? "service unavailable" : "internal error",
                    detail: outage ? "the database or the message broker cannot be reached; try again shortly" : "an unexpected error; the service logged it").ExecuteAsync(http);
            },
        });
        app.UseStatusCodePages();
        app.Use(async (http, next) =>
        {
            var length = (http.Request.Path.Value?.Length ?? 0) + (http.Request.QueryString.Value?.Length ?? 0);
            if (length > MaxUriLength)
            {
                await Results.Problem(statusCode: StatusCodes.Status414UriTooLong, title: "URI too long",
                    detail: $"the path and query have {length} characters; at most {MaxUriLength}").ExecuteAsync(http);
                return;
            }
            await next(http);
        });
    }

    /// <summary>A failure to reach a dependency (database, broker), not a bug: the client may retry.</summary>
    public static bool IsOutage(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is DbException { IsTransient: true } or TimeoutException or System.Net.Sockets.SocketException or MassTransit.RequestTimeoutException
                || x.GetType().Name is "BrokerUnreachableException" or "RetryLimitExceededException" or "RabbitMqConnectionException")
                return true;
        return false;
    }
}
