using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using GslbDns.Api.Auth;

namespace GslbDns.Api.Ui;

/// <summary>
/// Browser sessions of the status page. A browser cannot send a bearer header by itself, and a token in a URL
/// ends up in history, proxies and logs, so the login form posts the token once and gets a random session id in
/// an HttpOnly, SameSite=Strict cookie scoped to <c>/ui</c>. The store keeps only the id's SHA-256 (a memory dump
/// or a log of the dictionary gives nothing a browser could replay) with the token's name and role; sessions
/// live in this process (a restart logs everyone out) and expire <see cref="Lifetime"/> after login.
/// </summary>
internal sealed class UiSessions
{
    public const string CookieName = "gslbdns_ui";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);

    /// <summary>Bounds the memory a stream of logins can take; the oldest sessions go first.</summary>
    public const int MaxSessions = 1000;

    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public UiSessions(TimeProvider time)
    {
        _time = time;
    }

    private sealed record Session(string Name, ApiRole Role, DateTimeOffset Expires);

    /// <summary>A new session for <paramref name="entry"/>; returns the id that goes into the cookie (never stored itself).</summary>
    public string Create(ApiTokenEntry entry)
    {
        var now = _time.GetUtcNow();
        foreach (var expired in _sessions.Where(s => s.Value.Expires <= now).Select(s => s.Key).ToList())
        {
            _sessions.TryRemove(expired, out _);
        }

        while (_sessions.Count >= MaxSessions && _sessions.OrderBy(s => s.Value.Expires).Select(s => s.Key).FirstOrDefault() is { } oldest)
        {
            _sessions.TryRemove(oldest, out _);
        }

        var id = ApiTokens.Generate();
        _sessions[Key(id)] = new Session(entry.Name, entry.Role, now + Lifetime);
        return id;
    }

    /// <summary>The principal of a live session, as the bearer handler would build it; null for an unknown or expired id.</summary>
    public ClaimsPrincipal? Find(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 100 || !_sessions.TryGetValue(Key(id), out var session))
        {
            return null;
        }

        if (session.Expires <= _time.GetUtcNow())
        {
            _sessions.TryRemove(Key(id), out _);
            return null;
        }

        return BearerTokenHandler.Principal(session.Name, session.Role, CookieName);
    }

    public void Remove(string? id)
    {
        if (!string.IsNullOrEmpty(id))
        {
            _sessions.TryRemove(Key(id), out _);
        }
    }

    private static string Key(string id) => Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id)));
}
