using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Microscope.Viewer.Actions;

public enum Role { None, Researcher, Operator }

/// <summary>Who a request is: the role of its bearer token or API key, if any.</summary>
public sealed class AccessTokens(ViewerOptions options)
{
    private readonly byte[][] _operators = ViewerOptions.Tokens(options.OperatorTokens).Select(Encoding.UTF8.GetBytes).ToArray();
    private readonly byte[][] _researchers = ViewerOptions.Tokens(options.ResearcherTokens).Select(Encoding.UTF8.GetBytes).ToArray();

    public bool AnyConfigured => _operators.Length + _researchers.Length > 0;

    /// <summary>The token the request carries (bearer first, then the API key header).</summary>
    public static string? TokenOf(HttpRequest request)
    {
        var auth = request.Headers.Authorization.ToString();
        if (auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return auth[7..].Trim();
        var key = request.Headers[ViewerOptions.ApiKeyHeader].ToString();
        return string.IsNullOrWhiteSpace(key) ? null : key.Trim();
    }

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
                detail: $"this action needs {Named(needed)} token: Authorization: Bearer <token> or {ViewerOptions.ApiKeyHeader}");
        var role = RoleOf(token);
        if (role == Role.None)
            return Results.Problem(statusCode: 403, title: "unknown token", detail: "the token is not one configured for this viewer");
        if (role < needed)
            return Results.Problem(statusCode: 403, title: "not allowed", detail: $"this action needs {Named(needed)} token; yours is {Named(role)}'s");
        return null;
    }

    private static string Named(Role role) => role == Role.Operator ? "an operator" : "a researcher";
}
