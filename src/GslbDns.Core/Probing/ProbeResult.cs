namespace GslbDns.Probing;

/// <summary>What one check said about one endpoint, before timing and hysteresis are applied.</summary>
/// <param name="Error">Why it failed, in words an operator can act on; null on success.</param>
public sealed record ProbeResult(bool Success, string? Error)
{
    public static readonly ProbeResult Ok = new(true, null);

    public static ProbeResult Fail(string error) => new(false, error);
}

/// <summary>One finished probe: the check's verdict, how long it took and when it finished.</summary>
/// <param name="Elapsed">Wall time of the whole check (connect, request, answer): the RTT sample on success.</param>
public sealed record ProbeOutcome(bool Success, TimeSpan Elapsed, DateTimeOffset CompletedAt, string? Error);
