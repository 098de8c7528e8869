using System.Net;

namespace GslbDns.Consul;

/// <summary>
/// A Consul call failed. Either no agent answered at all (<see cref="IsUnreachable"/>, no status code) or
/// an agent answered with an error status (403 for ACL, 400 for a bad request, 5xx from every agent ...).
/// Never carries the ACL token.
/// </summary>
public sealed class ConsulException : Exception
{
    public ConsulException()
    {
    }

    public ConsulException(string message)
        : base(message)
    {
    }

    public ConsulException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    private ConsulException(string message, HttpStatusCode? statusCode, string? consulMessage, Exception? innerException)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        ConsulMessage = consulMessage;
    }

    /// <summary>The HTTP status Consul answered with; null when no agent could be reached.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>Consul's own error text (its response body), if it answered.</summary>
    public string? ConsulMessage { get; }

    /// <summary>True when every configured agent failed below HTTP (refused, reset, timed out).</summary>
    public bool IsUnreachable => StatusCode is null;

    internal static ConsulException Api(HttpMethod method, string path, HttpStatusCode status, string consulMessage) =>
        new($"Consul answered {(int)status} {status} to {method} {path}: {consulMessage}", status, consulMessage, null);

    internal static ConsulException Unreachable(HttpMethod method, string path, IReadOnlyList<Uri> tried, Exception? last) =>
        new(
            $"No Consul agent reachable for {method} {path} (tried {string.Join(", ", tried)}){(last is null ? string.Empty : ": " + last.Message + (last.InnerException is { } inner ? " " + inner.Message : string.Empty))}",
            null,
            null,
            last);
}
