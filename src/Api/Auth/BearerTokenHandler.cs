using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GslbDns.Api.Auth;

/// <summary>
/// <c>Authorization: Bearer &lt;token&gt;</c> against <see cref="ApiTokens"/>. 401 (no or unknown token) and
/// 403 (a read token on a write) are answered with RFC 9457 problem details. The token is never logged
/// nor echoed; the principal carries only the token's name and role.
/// </summary>
internal sealed class BearerTokenHandler : AuthenticationHandler<AuthenticationSchemeOptions>
{
    public const string SchemeName = "Bearer";
    public const string ReadPolicy = "read";
    public const string OperatorPolicy = "operator";

    /// <summary>Feed writes: an operator token or a <c>feed</c> token.</summary>
    public const string FeedPolicy = "feed";

    private readonly ApiTokens _tokens;
    private readonly AuthFailureLimiter _failures;

    public BearerTokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiTokens tokens, AuthFailureLimiter failures)
        : base(options, logger, encoder)
    {
        _tokens = tokens;
        _failures = failures;
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization;
        if (header.Count == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var value = header.ToString();
        if (header.Count > 1 || !value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            _failures.RecordFailure(Context.Connection.RemoteIpAddress);
            return Task.FromResult(AuthenticateResult.Fail("the Authorization header is not one bearer token"));
        }

        var token = value["Bearer ".Length..].Trim();
        var entry = token.Length == 0 ? null : _tokens.Find(token);
        if (entry is null)
        {
            _failures.RecordFailure(Context.Connection.RemoteIpAddress);
            return Task.FromResult(AuthenticateResult.Fail("unknown token"));
        }

        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(Principal(entry.Name, entry.Role, SchemeName), SchemeName)));
    }

    /// <summary>Who a token (or a status-page session made from one) is: its name and role, nothing of the token.</summary>
    public static ClaimsPrincipal Principal(string name, ApiRole role, string scheme) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, RoleName(role))], scheme));

    /// <summary>The role as the tokens file and the authorization policies spell it.</summary>
    public static string RoleName(ApiRole role) => role switch
    {
        ApiRole.Operator => "operator",
        ApiRole.Feed => "feed",
        _ => "read",
    };

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var presented = Request.Headers.Authorization.Count > 0;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = presented ? "Bearer realm=\"gslbdns\", error=\"invalid_token\"" : "Bearer realm=\"gslbdns\"";
        await Problems.WriteAsync(
            Context,
            StatusCodes.Status401Unauthorized,
            "Unauthorized",
            presented ? $"The bearer token was not accepted ({result.Failure?.Message ?? "invalid"})." : "This request needs 'Authorization: Bearer <token>'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.WriteAsync(Context, StatusCodes.Status403Forbidden, "Forbidden", Context.User.IsInRole("feed")
                ? "This token may only push endpoint feeds (PUT/DELETE /v1/endpoints/{service}/{dc}/{address}/feed)."
                : "This token may only read; changes need an operator token.");
}
