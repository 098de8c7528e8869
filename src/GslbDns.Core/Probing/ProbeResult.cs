namespace GslbDns.Probing;

/// <summary>What one check said about one endpoint, before timing and hysteresis are applied.</summary>
/// <param name="Error">Why it failed, in words an operator can act on; null on success.</param>
public sealed record ProbeResult(bool Success, string? Error)
{
    public static readonly ProbeResult Ok = new(true, null) { Reason = ProbeReasons.Ok };

    /// <summary>One of <see cref="ProbeReasons"/>: a bounded label for /metrics, where <see cref="Error"/> is free text.</summary>
    public string Reason { get; init; } = ProbeReasons.Error;

    /// <summary>The load figure read from a successful health response (<c>check.load</c>); null when not configured or absent.</summary>
    public double? Load { get; init; }

    public static ProbeResult Fail(string error, string reason = ProbeReasons.Error) => new(false, error) { Reason = reason };
}

/// <summary>
/// Why a probe ended as it did, from a small fixed set (the <c>reason</c> label of
/// <c>gslbdns_prober_probes_total</c>): the error text names hosts and values, so it is never a label.
/// </summary>
public static class ProbeReasons
{
    public const string Ok = "ok";
    public const string Timeout = "timeout";
    public const string Refused = "refused";
    public const string Network = "network";
    public const string Tls = "tls";
    public const string HttpStatus = "http_status";
    public const string HttpBody = "http_body";
    public const string DnsRcode = "dns_rcode";
    public const string DnsNoAnswer = "dns_no_answer";
    public const string Config = "config";
    public const string Error = "error";

    public static readonly IReadOnlyList<string> All = [Ok, Timeout, Refused, Network, Tls, HttpStatus, HttpBody, DnsRcode, DnsNoAnswer, Config, Error];

    /// <summary>The reason of a check that threw: what the innermost socket or TLS error says.</summary>
    public static string Of(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                case System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused }:
                    return Refused;
                case System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.TimedOut }:
                    return Timeout;
                case System.Security.Authentication.AuthenticationException:
                    return Tls;
                case System.Net.Sockets.SocketException or IOException:
                    return Network;
            }
        }

        return Error;
    }
}

/// <summary>One finished probe: the check's verdict, how long it took and when it finished.</summary>
/// <param name="Elapsed">Wall time of the whole check (connect, request, answer): the RTT sample on success.</param>
public sealed record ProbeOutcome(bool Success, TimeSpan Elapsed, DateTimeOffset CompletedAt, string? Error)
{
    /// <summary>One of <see cref="ProbeReasons"/>.</summary>
    public string Reason { get; init; } = Success ? ProbeReasons.Ok : ProbeReasons.Error;

    /// <summary>See <see cref="ProbeResult.Load"/>.</summary>
    public double? Load { get; init; }
}
