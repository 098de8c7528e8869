using System.Collections.Frozen;
using GslbDns.Gslb;
using GslbDns.Reports;

namespace GslbDns.Health;

/// <summary>Why an endpoint got its verdict: how many live probers see it, and how many of them see it down.</summary>
public sealed record EndpointVerdict(bool Healthy, int Voters, int Down, IReadOnlyDictionary<string, bool> ByProber);

/// <summary>The fleet's combined view: the verdicts the DNS answers use, and the RTT matrix.</summary>
public sealed record HealthView(
    FrozenDictionary<string, bool> Health,
    RttMatrix Rtt,
    IReadOnlyList<string> LiveProbers,
    IReadOnlyDictionary<string, EndpointVerdict> Verdicts,
    DateTimeOffset ComputedAt)
{
    public static readonly HealthView Empty = new(FrozenDictionary<string, bool>.Empty, RttMatrix.Empty, [], new Dictionary<string, EndpointVerdict>(), DateTimeOffset.UnixEpoch);

    /// <summary>The votes behind <see cref="Health"/>, for counting an external feed as one more voter at query time.</summary>
    public FrozenDictionary<string, ProberTally> Tallies { get; init; } = FrozenDictionary<string, ProberTally>.Empty;

    /// <summary>Load figures read from health responses (<c>check.load</c>): the mean over the live probers that read one.</summary>
    public FrozenDictionary<string, double> Loads { get; init; } = FrozenDictionary<string, double>.Empty;
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
    /// <param name="reports">Every report found (dead probers' reports vanish with their Consul sessions).</param>
    /// <param name="config">Maps endpoint ids to data centers for the RTT matrix.</param>
    /// <param name="now">Evaluation time.</param>
    /// <param name="staleAfter">
    /// A report older than this is ignored even if its session lives: a prober that is stuck but
    /// still renewing must not vote with old observations.
    /// </param>
    public static HealthView Compute(IReadOnlyList<ProberReport> reports, GslbConfig config, DateTimeOffset now, TimeSpan staleAfter)
    {
        var live = new List<ProberReport>(reports.Count);
        foreach (var report in reports)
        {
            if (now - report.PublishedAt <= staleAfter)
            {
                live.Add(report);
            }
        }

        var dataCenterOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var service in config.Services.Values)
        {
            foreach (var endpoint in service.Endpoints)
            {
                dataCenterOf[endpoint.Id] = endpoint.DataCenter;
            }
        }

        var votes = new Dictionary<string, Dictionary<string, bool>>(StringComparer.Ordinal);
        var rttSums = new Dictionary<(string Region, string DataCenter), (double Sum, int Count)>();
        var loadSums = new Dictionary<string, (double Sum, int Count)>(StringComparer.Ordinal);
        foreach (var report in live)
        {
            foreach (var (endpointId, observation) in report.Endpoints)
            {
                if (!votes.TryGetValue(endpointId, out var byProber))
                {
                    votes[endpointId] = byProber = new Dictionary<string, bool>(StringComparer.Ordinal);
                }

                byProber[report.Prober.Id] = observation.Up;
                if (observation.Load is { } load)
                {
                    var (sum, count) = loadSums.GetValueOrDefault(endpointId);
                    loadSums[endpointId] = (sum + load, count + 1);
                }

                if (observation.Up && observation.RttMs is { } rtt && dataCenterOf.TryGetValue(endpointId, out var dataCenter))
                {
                    var key = (report.Prober.Region, dataCenter);
                    var (sum, count) = rttSums.GetValueOrDefault(key);
                    rttSums[key] = (sum + rtt, count + 1);
                }
            }
        }

        var health = new Dictionary<string, bool>(StringComparer.Ordinal);
        var verdicts = new Dictionary<string, EndpointVerdict>(StringComparer.Ordinal);
        foreach (var (endpointId, byProber) in votes)
        {
            var down = 0;
            foreach (var up in byProber.Values)
            {
                if (!up)
                {
                    down++;
                }
            }

            var healthy = ProberTally.IsHealthy(byProber.Count, down);
            health[endpointId] = healthy;
            verdicts[endpointId] = new EndpointVerdict(healthy, byProber.Count, down, byProber);
        }

        var rttMatrix = new Dictionary<(string Region, string DataCenter), double>();
        foreach (var (key, (sum, count)) in rttSums)
        {
            rttMatrix[key] = sum / count;
        }

        return new HealthView(
            health.ToFrozenDictionary(StringComparer.Ordinal),
            new RttMatrix(rttMatrix),
            live.Select(r => r.Prober.Id).Order(StringComparer.Ordinal).ToArray(),
            verdicts,
            now)
        {
            Tallies = verdicts.ToFrozenDictionary(v => v.Key, v => new ProberTally(v.Value.Voters, v.Value.Down), StringComparer.Ordinal),
            Loads = loadSums.ToFrozenDictionary(l => l.Key, l => l.Value.Sum / l.Value.Count, StringComparer.Ordinal),
        };
    }
}
