using System.Net;
using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Health;
using GslbDns.Reports;

namespace GslbDns.Tests.Core.Health;

/// <summary>
/// The incremental quorum against a plain recompute: random report sequences (fixed seeds) in which probers flip
/// endpoints, change RTTs and load figures, drop and add endpoints, reorder their reports, go stale, vanish, come back
/// and move region. After every step the tally fed report by report must give what an oracle written from the rule
/// (strict majority over the live probers, means of loads and RTTs) gives, and exactly what a fresh tally of the same
/// reports gives; and every slot whose verdict moved must be among the slots it says changed.
/// </summary>
public sealed class QuorumTallyTests
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(10);
    private static readonly string[] Regions = ["eu", "us", "ap"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Incremental_tallies_equal_a_full_recompute_over_random_report_sequences(int seed)
    {
        var random = new Random(seed);
        var config = Config(dataCenters: 4, services: 12);
        var endpoints = config.Services.Values.SelectMany(s => s.Endpoints).ToArray();
        var ids = endpoints.Select(e => e.Id).ToArray();
        var now = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        var probers = new Dictionary<string, ProberReport>();
        var tally = new QuorumTally(config);
        ProbedHealth? previous = null;
        for (var step = 0; step < 2000; step++)
        {
            Mutate(random, probers, ids, ref now);
            var reports = probers.Values.OrderBy(_ => random.Next()).ToList();
            tally.Apply(reports, now, StaleAfter);
            var (view, changed) = tally.Freeze(now);
            var context = $"seed {seed} step {step}";

            AssertMatchesOracle(Oracle(reports, config, now), view, ids, context);
            AssertSame(QuorumHealth.Compute(reports, config, now, StaleAfter), view, ids, context);

            var health = Assert.IsType<ProbedHealth>(view.Health);
            foreach (var endpoint in endpoints)
            {
                var down = view.Tallies.TryGetValue(endpoint.Id, out var votes) && !votes.Healthy;
                Assert.True(health.IsDown(endpoint) == down, $"{context}: {endpoint.Id} down bit {!down} for {votes}");
            }

            if (previous is not null)
            {
                for (var slot = 0; slot < health.Slots.Count; slot++)
                {
                    if (previous.TallyAt(slot) != health.TallyAt(slot))
                    {
                        Assert.True(changed.Contains(slot), $"{context}: slot {slot} ({health.Slots.IdAt(slot)}) changed but was not listed");
                    }
                }
            }

            previous = health;
        }
    }

    [Fact]
    public void A_prober_going_stale_takes_back_only_its_own_votes_and_counts_again_when_fresh()
    {
        var config = Config(dataCenters: 2, services: 2);
        var ids = config.Services.Values.SelectMany(s => s.Endpoints).Select(e => e.Id).ToArray();
        var now = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        var tally = new QuorumTally(config);
        var p1 = Report("p1", "eu", now, ids.Select(id => (id, false, (double?)null, (double?)null)));
        var p2 = Report("p2", "us", now, ids.Select(id => (id, false, (double?)null, (double?)null)));
        var p3 = Report("p3", "ap", now.AddSeconds(-8), ids.Select(id => (id, true, (double?)5, (double?)null)));
        tally.Apply([p1, p2, p3], now, StaleAfter);
        var (view, _) = tally.Freeze(now);
        Assert.False(view.Health[ids[0]]);
        Assert.Equal(new ProberTally(3, 2), view.Tallies[ids[0]]);

        // p1 and p2 stay fresh at +3 s; p3's report is 11 s old: it no longer votes, and only its votes go.
        var later = now.AddSeconds(3);
        tally.Apply([p1, p2, p3], later, StaleAfter);
        (view, var changed) = tally.Freeze(later);
        Assert.Equal(["p1", "p2"], view.LiveProbers);
        Assert.Equal(new ProberTally(2, 2), view.Tallies[ids[0]]);
        Assert.Equal(ids.Length, changed.Length);

        var fresh = p3 with { PublishedAt = later };
        tally.Apply([p1, p2, fresh], later, StaleAfter);
        (view, _) = tally.Freeze(later);
        Assert.Equal(new ProberTally(3, 2), view.Tallies[ids[0]]);
        Assert.Equal(["p1", "p2", "p3"], view.LiveProbers);
    }

    [Fact]
    public void A_frozen_view_keeps_its_verdicts_while_later_reports_change_the_tally()
    {
        var config = Config(dataCenters: 2, services: 3);
        var ids = config.Services.Values.SelectMany(s => s.Endpoints).Select(e => e.Id).ToArray();
        var now = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        var tally = new QuorumTally(config);
        tally.Apply([Report("p1", "eu", now, ids.Select(id => (id, true, (double?)10, (double?)0.5)))], now, StaleAfter);
        var (first, _) = tally.Freeze(now);
        tally.Apply([Report("p1", "eu", now, ids.Select(id => (id, id != ids[1], (double?)10, (double?)0.9)))], now, StaleAfter);
        var (second, changed) = tally.Freeze(now);
        Assert.True(first.Health[ids[1]]);
        Assert.True(first.Verdicts[ids[1]].ByProber["p1"]);
        Assert.Equal(0.5, first.Loads[ids[1]]);
        Assert.False(second.Health[ids[1]]);
        Assert.False(second.Verdicts[ids[1]].ByProber["p1"]);
        Assert.Equal(0.9, second.Loads[ids[1]]);
        Assert.Equal([config.Slots.TryGetSlot(ids[1], out var slot) ? slot : -1], changed);
    }

    /// <summary>One step: a prober reports (with a few changes), vanishes, restarts in another region, or time passes.</summary>
    private static void Mutate(Random random, Dictionary<string, ProberReport> probers, string[] ids, ref DateTimeOffset now)
    {
        var id = $"p{random.Next(5)}";
        var roll = random.Next(100);
        if (roll < 8)
        {
            now = now.AddSeconds(random.Next(1, 8));
            return;
        }

        if (roll < 13)
        {
            probers.Remove(id);
            return;
        }

        var previous = probers.GetValueOrDefault(id);
        var region = previous is null || roll < 16 ? Regions[random.Next(Regions.Length)] : previous.Prober.Region;
        var endpoints = previous is null ? new List<KeyValuePair<string, EndpointObservation>>() : new List<KeyValuePair<string, EndpointObservation>>(previous.Endpoints);
        if (endpoints.Count == 0)
        {
            endpoints.AddRange(ids.Where(_ => random.Next(4) > 0).Select(e => KeyValuePair.Create(e, Observation(random))));
        }

        var changes = random.Next(1, 4);
        for (var i = 0; i < changes; i++)
        {
            var kind = random.Next(10);
            if (kind < 5 && endpoints.Count > 0)
            {
                var at = random.Next(endpoints.Count);
                endpoints[at] = KeyValuePair.Create(endpoints[at].Key, Observation(random));
            }
            else if (kind < 7 && endpoints.Count > 0)
            {
                endpoints.RemoveAt(random.Next(endpoints.Count));
            }
            else if (kind < 9)
            {
                // A configured endpoint, or now and then one this config does not have (a prober on another version of it).
                var added = random.Next(8) == 0 ? $"unknown.example/dc0/192.0.2.{random.Next(255)}" : ids[random.Next(ids.Length)];
                if (endpoints.All(e => e.Key != added))
                {
                    endpoints.Insert(random.Next(endpoints.Count + 1), KeyValuePair.Create(added, Observation(random)));
                }
            }
            else
            {
                endpoints = [.. endpoints.OrderBy(_ => random.Next())];
            }
        }

        // Now and then a report that is already stale when it arrives.
        var publishedAt = random.Next(10) == 0 ? now - StaleAfter - TimeSpan.FromSeconds(1) : now;
        probers[id] = new ProberReport(new ProberInfo(id, region, 0, 0, now), new Dictionary<string, EndpointObservation>(endpoints, StringComparer.Ordinal), publishedAt);
    }

    private static EndpointObservation Observation(Random random)
    {
        var up = random.Next(3) > 0;
        return new EndpointObservation(up, up ? 0 : 3, up ? 3 : 0, random.Next(3) == 0 ? null : Math.Round(random.NextDouble() * 300, 3), DateTimeOffset.UnixEpoch, null)
        {
            Load = random.Next(3) == 0 ? null : Math.Round(random.NextDouble(), 4),
        };
    }

    private sealed record Expected(Dictionary<string, ProberTally> Tallies, Dictionary<string, Dictionary<string, bool>> ByProber, Dictionary<string, double> Loads, Dictionary<(string, string), double> Rtt, List<string> Live);

    /// <summary>The rule written plainly over the live reports: the oracle the tally is checked against.</summary>
    private static Expected Oracle(IReadOnlyList<ProberReport> reports, GslbConfig config, DateTimeOffset now)
    {
        var dataCenterOf = config.Services.Values.SelectMany(s => s.Endpoints).ToDictionary(e => e.Id, e => e.DataCenter);
        var live = reports.Where(r => now - r.PublishedAt <= StaleAfter).OrderBy(r => r.Prober.Id, StringComparer.Ordinal).ToList();
        var byProber = new Dictionary<string, Dictionary<string, bool>>();
        var loads = new Dictionary<string, (double Sum, int Count)>();
        var rtt = new Dictionary<(string, string), (double Sum, int Count)>();
        foreach (var report in live)
        {
            foreach (var (id, observation) in report.Endpoints)
            {
                if (!dataCenterOf.TryGetValue(id, out var dataCenter))
                {
                    continue;
                }

                (byProber.TryGetValue(id, out var votes) ? votes : byProber[id] = [])[report.Prober.Id] = observation.Up;
                if (observation.Load is { } load)
                {
                    var (sum, count) = loads.GetValueOrDefault(id);
                    loads[id] = (sum + load, count + 1);
                }

                if (observation.Up && observation.RttMs is { } ms)
                {
                    var (sum, count) = rtt.GetValueOrDefault((report.Prober.Region, dataCenter));
                    rtt[(report.Prober.Region, dataCenter)] = (sum + ms, count + 1);
                }
            }
        }

        return new Expected(
            byProber.ToDictionary(v => v.Key, v => new ProberTally(v.Value.Count, v.Value.Count(p => !p.Value))),
            byProber,
            loads.ToDictionary(l => l.Key, l => l.Value.Sum / l.Value.Count),
            rtt.ToDictionary(r => r.Key, r => r.Value.Sum / r.Value.Count),
            [.. live.Select(r => r.Prober.Id)]);
    }

    /// <summary>Plain comparisons, failing with the first difference: thousands of steps must stay fast.</summary>
    private static void AssertMatchesOracle(Expected expected, HealthView view, string[] ids, string context)
    {
        void Check(bool same, Func<string> what)
        {
            if (!same)
            {
                Assert.Fail($"{context}: {what()}");
            }
        }

        Check(expected.Live.SequenceEqual(view.LiveProbers), () => $"live probers {string.Join(",", expected.Live)} vs {string.Join(",", view.LiveProbers)}");
        Check(expected.Tallies.Count == view.Health.Count, () => $"{expected.Tallies.Count} verdicts vs {view.Health.Count}");
        Check(expected.Loads.Count == view.Loads.Count, () => $"{expected.Loads.Count} loads vs {view.Loads.Count}");
        foreach (var id in ids)
        {
            var has = expected.Tallies.TryGetValue(id, out var tally);
            Check(has == view.Tallies.TryGetValue(id, out var actual) && (!has || tally == actual), () => $"{id} tally {tally} vs {actual}");
            Check(has == view.Health.TryGetValue(id, out var healthy) && (!has || healthy == (tally.Down * 2 <= tally.Voters)), () => $"{id} verdict {healthy} for {tally}");
            if (has)
            {
                var verdict = view.Verdicts[id];
                var votes = expected.ByProber[id];
                Check(
                    verdict.ByProber.Count == votes.Count && votes.All(v => verdict.ByProber.TryGetValue(v.Key, out var up) && up == v.Value),
                    () => $"{id} votes {string.Join(",", votes)} vs {string.Join(",", verdict.ByProber)}");
                Check((tally.Voters, tally.Down, healthy) == (verdict.Voters, verdict.Down, verdict.Healthy), () => $"{id} verdict {verdict}");
            }

            var hasLoad = expected.Loads.TryGetValue(id, out var load);
            Check(hasLoad == view.Loads.TryGetValue(id, out var actualLoad) && (!hasLoad || load == actualLoad), () => $"{id} load {load} vs {actualLoad}");
        }

        Check(expected.Rtt.Count == view.Rtt.Count, () => $"{expected.Rtt.Count} RTT cells vs {view.Rtt.Count}");
        foreach (var (key, ms) in expected.Rtt)
        {
            // The tally sums RTTs in fixed point (1/1024 ms) so that taking one back is exact.
            Check(view.Rtt.TryGet(key.Item1, key.Item2, out var actual) && Math.Abs(actual - ms) < 1e-3, () => $"rtt {key} {ms} vs {actual}");
        }
    }

    private static void AssertSame(HealthView fresh, HealthView incremental, string[] ids, string context)
    {
        var same = fresh.LiveProbers.SequenceEqual(incremental.LiveProbers) && fresh.Rtt.Count == incremental.Rtt.Count
            && fresh.Rtt.Entries.All(e => incremental.Rtt.TryGet(e.Key.Region, e.Key.DataCenter, out var ms) && ms == e.Value);
        foreach (var id in ids)
        {
            same &= fresh.Tallies.GetValueOrDefault(id) == incremental.Tallies.GetValueOrDefault(id)
                && (fresh.Loads.TryGetValue(id, out var a) ? a : -1) == (incremental.Loads.TryGetValue(id, out var b) ? b : -1);
        }

        Assert.True(same, $"{context}: a fresh tally of the same reports differs from the incremental one");
    }

    private static ProberReport Report(string prober, string region, DateTimeOffset at, IEnumerable<(string Id, bool Up, double? Rtt, double? Load)> views)
        => new(
            new ProberInfo(prober, region, 0, 0, at),
            views.ToDictionary(v => v.Id, v => new EndpointObservation(v.Up, 0, 0, v.Rtt, at, null) { Load = v.Load }, StringComparer.Ordinal),
            at);

    /// <summary>Services of three endpoints over the data centers dc0..dcN, built by hand (slots made on first use).</summary>
    private static GslbConfig Config(int dataCenters, int services)
    {
        var map = new Dictionary<DnsName, ServiceConfig>();
        for (var s = 0; s < services; s++)
        {
            var name = DnsName.Parse($"s{s}.example.");
            var endpoints = Enumerable.Range(0, 3)
                .Select(e => new Endpoint($"s{s}.example/dc{(s + e) % dataCenters}/192.0.2.{(s * 3) + e}", $"dc{(s + e) % dataCenters}", IPAddress.Parse($"192.0.2.{(s * 3) + e}"), 100, e))
                .ToArray();
            map[name] = new ServiceConfig(name, 30, endpoints, null, [], AllUnhealthyBehavior.FailOpen, []);
        }

        return GslbConfig.Empty with { Services = map };
    }
}
