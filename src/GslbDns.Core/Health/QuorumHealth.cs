using System.Collections.Frozen;
using GslbDns.Gslb;
using GslbDns.Reports;

namespace GslbDns.Health;

/// <summary>Why an endpoint got its verdict: how many live probers see it, and how many of them see it down.</summary>
public sealed record EndpointVerdict(bool Healthy, int Voters, int Down, IReadOnlyDictionary<string, bool> ByProber);

/// <summary>The fleet's combined view: the verdicts the DNS answers use, and the RTT matrix.</summary>
/// <param name="Health">Verdicts by endpoint id; from <see cref="QuorumTally"/> a <see cref="ProbedHealth"/> (kept by endpoint slot).</param>
/// <param name="Verdicts">Each verdict with its votes, made when asked for.</param>
public sealed record HealthView(
    IReadOnlyDictionary<string, bool> Health,
    RttMatrix Rtt,
    IReadOnlyList<string> LiveProbers,
    IReadOnlyDictionary<string, EndpointVerdict> Verdicts,
    DateTimeOffset ComputedAt)
{
    public static readonly HealthView Empty = new(FrozenDictionary<string, bool>.Empty, RttMatrix.Empty, [], new Dictionary<string, EndpointVerdict>(), DateTimeOffset.UnixEpoch);

    /// <summary>The votes behind <see cref="Health"/>, for counting an external feed as one more voter at query time.</summary>
    public IReadOnlyDictionary<string, ProberTally> Tallies { get; init; } = FrozenDictionary<string, ProberTally>.Empty;

    /// <summary>Load figures read from health responses (<c>check.load</c>): the mean over the live probers that read one.</summary>
    public IReadOnlyDictionary<string, double> Loads { get; init; } = FrozenDictionary<string, double>.Empty;
}

/// <summary>
/// Turns the live probers' reports into one verdict per endpoint by strict majority: an endpoint is
/// down only when more than half of the live probers that check it see it down. So one prober, or
/// one region's broken network, can never fail a data center over (a minority is outvoted), and a
/// tie keeps the endpoint in service. An endpoint no live prober reports on gets no verdict, which
/// the state reads as healthy: with no signal we fail open.
/// </summary>
public static class QuorumHealth
{
    /// <summary>The verdicts of a set of reports from scratch (the publisher keeps a <see cref="QuorumTally"/> and feeds it each new set instead).</summary>
    /// <param name="reports">Every report found (dead probers' reports vanish with their Consul sessions).</param>
    /// <param name="config">The endpoints that get verdicts, and their data centers for the RTT matrix.</param>
    /// <param name="now">Evaluation time.</param>
    /// <param name="staleAfter">
    /// A report older than this is ignored even if its session lives: a prober that is stuck but
    /// still renewing must not vote with old observations.
    /// </param>
    public static HealthView Compute(IReadOnlyList<ProberReport> reports, GslbConfig config, DateTimeOffset now, TimeSpan staleAfter)
    {
        var tally = new QuorumTally(config);
        tally.Apply(reports, now, staleAfter);
        return tally.Freeze(now).View;
    }
}
