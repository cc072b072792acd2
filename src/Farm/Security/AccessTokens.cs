using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Security;

public enum Role { None, Researcher, Operator }

/// <summary>Who a request is: the role of its bearer token or API key. The coordinator and
/// the viewer take the same tokens (comma-separated lists set by ops); an endpoint requires a
/// role with <see cref="AccessEndpoints.RequireRole{TBuilder}"/>.</summary>
public sealed class AccessTokens(string? operatorTokens, string? researcherTokens)
{
    public const string ApiKeyHeader = "X-Api-Key";
    public const int MinimumLength = 8;

    private readonly byte[][] _operators = Parse(operatorTokens).Select(Encoding.UTF8.GetBytes).ToArray();
    private readonly byte[][] _researchers = Parse(researcherTokens).Select(Encoding.UTF8.GetBytes).ToArray();

    public bool AnyConfigured => _operators.Length + _researchers.Length > 0;

    public static IEnumerable<string> Parse(string? list) =>
        (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The problems of a pair of token lists (for option validation).</summary>
    public static IEnumerable<string> Problems(string? operatorTokens, string? researcherTokens) =>
        Parse(operatorTokens).Concat(Parse(researcherTokens)).Any(t => t.Length < MinimumLength)
            ? [$"tokens must be at least {MinimumLength} characters"]
            : [];

    /// <summary>The token the request carries (bearer first, then the API key header).</summary>
    public static string? TokenOf(HttpRequest request)
    {
        var auth = request.Headers.Authorization.ToString();
        if (auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return auth[7..].Trim();
        var key = request.Headers[ApiKeyHeader].ToString();
        return string.IsNullOrWhiteSpace(key) ? null : key.Trim();
    }

    /// <summary>A short, stable name of a token for budgets and logs (never the token itself).</summary>
    public static string IdOf(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)))[..12];

    public Role RoleOf(string? token)
    {
        if (string.IsNullOrEmpty(token)) return Role.None;
        var bytes = Encoding.UTF8.GetBytes(token);
        // Constant-time comparison: a token's prefix must not be guessable from timings.
        if (_operators.Any(t => CryptographicOperations.FixedTimeEquals(t, bytes))) return Role.Operator;
        if (_researchers.Any(t => CryptographicOperations.FixedTimeEquals(t, bytes))) return Role.Researcher;
        return Role.None;
    }

    /// <summary>Null when the request may act as <paramref name="needed"/>; otherwise the
    /// 401 (no token) or 403 (a token without that role) to answer.</summary>
    public IResult? Check(HttpRequest request, Role needed)
    {
        var token = TokenOf(request);
        if (token is null)
            return Results.Problem(statusCode: 401, title: "token required",
                detail: $"this action needs {Named(needed)} token: Authorization: Bearer <token> or {ApiKeyHeader}" +
                        (AnyConfigured ? "" : "; no tokens are configured here, so writes are switched off"));
        var role = RoleOf(token);
        if (role == Role.None)
            return Results.Problem(statusCode: 403, title: "unknown token", detail: "the token is not one configured here");
        if (role < needed)
            return Results.Problem(statusCode: 403, title: "not allowed", detail: $"this action needs {Named(needed)} token; yours is {Named(role)}'s");
        request.HttpContext.Items[typeof(Caller)] = new Caller(role, IdOf(token), token);
        return null;
    }

    private static string Named(Role role) => role == Role.Operator ? "an operator" : "a researcher";
}

/// <summary>The authenticated caller of a request that passed a role check.</summary>
public sealed record Caller(Role Role, string Id, string Token)
{
    public static Caller? Of(HttpContext http) => http.Items.TryGetValue(typeof(Caller), out var c) ? c as Caller : null;
}

public static class AccessEndpoints
{
    /// <summary>The one way an endpoint (or a group) requires a role: 401 without a token,
    /// 403 with an unknown one or one of a lesser role; the handler runs only after the check
    /// (and reads the caller with <see cref="Caller.Of"/>).</summary>
    public static TBuilder RequireRole<TBuilder>(this TBuilder builder, Role role) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var tokens = context.HttpContext.RequestServices.GetRequiredService<AccessTokens>();
            return tokens.Check(context.HttpContext.Request, role) is { } denied ? denied : await next(context);
        });
}
