using System.Diagnostics;
using System.Net;
using GslbDns.Tests.Api;
using GslbDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace GslbDns.Tests.Fleet;

/// <summary>
/// What the README claims of Consul mode, on the real processes of <see cref="FleetFixture"/> (3 Consul servers,
/// 3 probers, 2 DNS servers, the API process): answers survive a total Consul outage and a Consul rebuilt from
/// nothing; an API write reaches the DNS servers; two DNS servers answer alike; measured RTT steers the latency
/// policy. Each scenario starts from <see cref="FleetFixture.EnsureHealthyAsync"/> and undoes its own changes.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class ConsulModeClaimsTests(FleetFixture fleet, ITestOutputHelper output) : IAsyncLifetime
{
    private const string SecondKey = "second ";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Client /24s: four per prober region (see <see cref="FleetSpec.ClientSubnets"/>), so sticky weights spread.</summary>
    private static readonly IPAddress[] Clients =
        [.. Enumerable.Range(1, 3).SelectMany(region => Enumerable.Range(0, 4).Select(n => IPAddress.Parse($"10.{region}.{n * 37}.0")))];

    /// <summary>One client per prober region: 10.1 eu, 10.2 us, 10.3 ap.</summary>
    private static readonly IPAddress[] RegionClients = [IPAddress.Parse("10.1.9.0"), IPAddress.Parse("10.2.9.0"), IPAddress.Parse("10.3.9.0")];

    private static readonly string Eu = FleetSpec.ServiceAddresses[0].ToString();
    private static readonly string Us = FleetSpec.ServiceAddresses[1].ToString();
    private static readonly string Ap = FleetSpec.ServiceAddresses[2].ToString();

    public Task InitializeAsync() => fleet.EnsureHealthyAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Every_Consul_server_stopped_answers_hold_for_20_s_and_an_empty_Consul_is_rebuilt_by_the_probers()
    {
        // What the servers know going in, and must keep knowing: part's primary is down (part fails over to its
        // secondary) and the measured RTTs put every region on dc-eu (by distance, us and ap clients would go elsewhere).
        // A server that let its last verdicts and RTTs age out while blind would answer the primary, or by distance.
        var secondary = FleetSpec.PartitionSecondary.ToString();
        fleet.Backends.PartitionPrimary.Refuse();
        SetLatency(0, 80, 160);
        var names = new[] { FleetSpec.ServiceName, FleetSpec.PartitionName, FleetSpec.WeightedName, FleetSpec.LatencyName };
        var victim = fleet.Backends.Service[2];
        try
        {
            var baseline = await SettledMatrixAsync(
                names,
                m => All(m, FleetSpec.LatencyName, a => a.Addresses.SequenceEqual([Eu])) && All(m, FleetSpec.PartitionName, a => a.Addresses.SequenceEqual([secondary])),
                "before the outage: lat on dc-eu, part failed over to its secondary");
            fleet.Cluster.KillAll();
            var clock = Stopwatch.StartNew();
            var rounds = 0;
            var refusedAt = TimeSpan.Zero;
            while (clock.Elapsed < TimeSpan.FromSeconds(21))
            {
                if (refusedAt == TimeSpan.Zero && clock.Elapsed > TimeSpan.FromSeconds(2))
                {
                    // A backend fails while nobody can publish it: the last verdicts must hold.
                    victim.Refuse();
                    refusedAt = clock.Elapsed;
                }

                fleet.AssertRunning();
                var now = await MatrixAsync(names);
                var changed = now.Where(e => baseline[e.Key.StartsWith(SecondKey, StringComparison.Ordinal) ? e.Key[SecondKey.Length..] : e.Key].ToString() != e.Value.ToString()).Select(e => $"{e.Key}: now {e.Value}").ToList();
                Assert.True(changed.Count == 0, $"{clock.Elapsed.TotalSeconds:0.0} s into the Consul outage ({victim.Address} refused at {refusedAt.TotalSeconds:0.0} s) answers changed: {string.Join("; ", changed)}\n{fleet.Describe()}");
                rounds++;
                // Sampling rate over the fixed 20 s outage window the claim is about, not a wait for a condition.
                await Task.Delay(200);
            }

            output.WriteLine($"{rounds} rounds of {baseline.Count} questions to each server over {clock.Elapsed.TotalSeconds:0.0} s without Consul, all unchanged; {victim.Address} refusing since {refusedAt.TotalSeconds:0.0} s");

            // Consul back, empty: no sessions, no reports, indexes from the start. The probers must register again.
            clock.Restart();
            await fleet.Cluster.RestartEmptyAsync();
            var restartedIn = clock.Elapsed;
            await Deadline.UntilAsync("all three probers reporting into the rebuilt Consul", TimeSpan.FromSeconds(45), async () =>
            {
                fleet.AssertRunning();
                var reports = await fleet.ReportsAsync();
                return (reports.Count == FleetSpec.Probers.Length, $"reports from {string.Join(", ", reports.Keys)}");
            }, TimeSpan.FromMilliseconds(200));
            var reportsIn = clock.Elapsed;
            await Deadline.UntilAsync($"both servers answering svc without {victim.Address}", Patience, async () =>
            {
                fleet.AssertRunning();
                var (first, second) = await fleet.AskBothAsync(FleetSpec.ServiceName);
                var done = first is { Rcode: 0, Addresses.Count: 2 } && !first.Contains(victim.Address) && second is { Rcode: 0 } && second.Addresses.SequenceEqual(first.Addresses);
                return (done, $"first {first}, second {second}");
            }, TimeSpan.FromMilliseconds(100));
            output.WriteLine($"cluster up {restartedIn.TotalSeconds:0.0} s after the restart, 3 reports at {reportsIn.TotalSeconds:0.0} s, {victim.Address} out of both servers' answers at {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            victim.Accept();
            fleet.Backends.PartitionPrimary.Accept();
            SetLatency(0, 0, 0);
        }
    }

    [Fact]
    public async Task An_API_process_write_in_Consul_mode_reaches_both_DNS_server_processes()
    {
        var clock = Stopwatch.StartNew();
        using (var drain = await ApiCalls.SendAsync(fleet.Api, HttpMethod.Put, "/v1/datacenters/dc-us/drain", InProcessApi.OperatorToken, new { reason = "claims test" }))
        {
            Assert.True(drain.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(drain) + "\n" + fleet.Describe());
        }

        var acknowledged = clock.Elapsed;
        try
        {
            await BothServersAsync($"svc without {Us} (dc-us drained)", a => a.Addresses.SequenceEqual([Eu, Ap]));
            var applied = clock.Elapsed;
            output.WriteLine($"drain acknowledged by the API after {acknowledged.TotalMilliseconds:0} ms, in both servers' answers after {applied.TotalMilliseconds:0} ms");
        }
        finally
        {
            using var undrain = await ApiCalls.SendAsync(fleet.Api, HttpMethod.Delete, "/v1/datacenters/dc-us/drain", InProcessApi.OperatorToken, new { reason = "claims test done" });
            Assert.True(undrain.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(undrain));
        }

        await BothServersAsync($"svc with {Us} again (undrained)", a => a.Addresses.Count == 3);
    }

    [Fact]
    public async Task Two_DNS_server_processes_give_identical_answers_per_client_subnet_after_each_state_change()
    {
        SetLatency(0, 80, 160);
        var names = new[] { FleetSpec.ServiceName, FleetSpec.PartitionName, FleetSpec.WeightedName, FleetSpec.LatencyName };
        var victim = fleet.Backends.Service[1];
        var weightPath = ApiCalls.EndpointPath($"{FleetSpec.WeightedName}/dc-eu/{Eu}") + "/weight";
        try
        {
            // Sticky weights spread the /24s over all three data centers, so the subnet matters to the comparison.
            await SettledMatrixAsync(names, m => Distinct(m, FleetSpec.WeightedName) == 3 && All(m, FleetSpec.LatencyName, a => a.Addresses.SequenceEqual([Eu])), "the start: w spread over 3 data centers, lat on dc-eu");

            victim.Refuse();
            await SettledMatrixAsync(names, m => m.Values.All(a => !a.Contains(victim.Address)) && Distinct(m, FleetSpec.WeightedName) == 2, $"{victim.Address} refused: out of every answer");

            victim.Accept();
            await ApiAsync(HttpMethod.Put, "/v1/datacenters/dc-ap/drain", new { reason = "claims test" });
            await SettledMatrixAsync(names, m => m.Values.All(a => !a.Contains(FleetSpec.ServiceAddresses[2])) && All(m, FleetSpec.ServiceName, a => a.Addresses.SequenceEqual([Eu, Us])), "back, and dc-ap drained");

            await ApiAsync(HttpMethod.Delete, "/v1/datacenters/dc-ap/drain", new { reason = "claims test" });
            await ApiAsync(HttpMethod.Put, weightPath, new { weight = 0, reason = "claims test" });
            await SettledMatrixAsync(names, m => Distinct(m, FleetSpec.WeightedName) == 2 && All(m, FleetSpec.WeightedName, a => !a.Contains(FleetSpec.ServiceAddresses[0])) && All(m, FleetSpec.ServiceName, a => a.Addresses.Count == 3), "dc-ap undrained, w's dc-eu weight 0");

            await ApiAsync(HttpMethod.Delete, weightPath, new { reason = "claims test" });
            await SettledMatrixAsync(names, m => Distinct(m, FleetSpec.WeightedName) == 3, "w's weight cleared");
        }
        finally
        {
            victim.Accept();
            SetLatency(0, 0, 0);
        }
    }

    [Fact]
    public async Task RTT_measured_by_the_prober_processes_decides_the_latency_answer()
    {
        try
        {
            // Three rankings, each from the one before: every region's client follows the fastest data center. By
            // distance the eu client belongs to dc-eu and the ap client to dc-ap: only the measured RTT moves them all.
            (int[] Delays, string Expected, string What)[] phases =
            [
                ([200, 200, 0], Ap, "dc-ap fastest"),
                ([0, 200, 300], Eu, "dc-eu fastest"),
                ([300, 0, 200], Us, "dc-us fastest"),
            ];
            foreach (var (delays, expected, what) in phases)
            {
                SetLatency(delays[0], delays[1], delays[2]);
                await BothServersForEveryRegionAsync(FleetSpec.LatencyName, expected, what);
                output.WriteLine($"{what}: {await LatencyRttAsync()}");
            }
        }
        finally
        {
            SetLatency(0, 0, 0);
        }
    }

    /// <summary>Delays every answer of svc's backends (dc-eu, dc-us, dc-ap) by these milliseconds: the RTT the probers measure.</summary>
    private void SetLatency(int eu, int us, int ap)
    {
        int[] delays = [eu, us, ap];
        for (var i = 0; i < delays.Length; i++)
        {
            fleet.Backends.Service[i].Latency = TimeSpan.FromMilliseconds(delays[i]);
        }
    }

    private async Task ApiAsync(HttpMethod method, string path, object body)
    {
        using var response = await ApiCalls.SendAsync(fleet.Api, method, path, InProcessApi.OperatorToken, body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: {await ApiCalls.DescribeAsync(response)}");
    }

    /// <summary>The probers' smoothed RTTs to lat's endpoints, for the log.</summary>
    private async Task<string> LatencyRttAsync()
    {
        var reports = await fleet.ReportsAsync();
        return string.Join("; ", reports.Values.OrderBy(r => r.Prober.Id, StringComparer.Ordinal).Select(r =>
            r.Prober.Id + " " + string.Join(", ", FleetSpec.ServiceDataCenters.Select((dc, i) =>
                $"{dc} {r.Endpoints.GetValueOrDefault($"{FleetSpec.LatencyName}/{dc}/{FleetSpec.ServiceAddresses[i]}")?.RttMs:0} ms"))));
    }

    /// <summary>Until both servers give every region's client exactly <paramref name="address"/> for <paramref name="name"/>, for 1 s.</summary>
    private Task BothServersForEveryRegionAsync(string name, string address, string what) =>
        SettledMatrixAsync([name], m => m.Where(e => RegionClients.Any(c => e.Key.EndsWith(c.ToString(), StringComparison.Ordinal))).All(e => e.Value.Addresses.SequenceEqual([address])), $"{what}: {name} answers {address} to every region", RegionClients);

    /// <summary>Until both servers answer svc (no ECS) as <paramref name="predicate"/> wants, and alike, for 1 s.</summary>
    private Task BothServersAsync(string what, Func<FleetAnswer, bool> predicate) =>
        SettledMatrixAsync([FleetSpec.ServiceName], m => predicate(m[FleetSpec.ServiceName]), what, []);

    /// <summary>
    /// Asks both servers every question (each name, without ECS and for each client /24) until, for 1 s of rounds,
    /// both give the same answer to every question and <paramref name="predicate"/> holds; returns that matrix.
    /// Fails on a question either server does not answer NOERROR within 1 s.
    /// </summary>
    private async Task<Dictionary<string, FleetAnswer>> SettledMatrixAsync(
        IReadOnlyList<string> names, Func<Dictionary<string, FleetAnswer>, bool> predicate, string what, IReadOnlyList<IPAddress>? clients = null)
    {
        // Settled = both servers alike and the predicate true for a whole second, not just one round.
        var clock = Stopwatch.StartNew();
        var settledSince = (TimeSpan?)null;
        return await Deadline.PollAsync(what, Patience, async () =>
        {
            fleet.AssertRunning();
            var (first, second) = await BothMatricesAsync(names, clients ?? Clients);
            var differences = first.Where(e => second[e.Key].ToString() != e.Value.ToString()).Select(e => $"{e.Key}: {e.Value} vs {second[e.Key]}").ToList();
            if (differences.Count == 0 && predicate(first))
            {
                settledSince ??= clock.Elapsed;
                var settled = clock.Elapsed - settledSince >= TimeSpan.FromSeconds(1);
                if (settled)
                {
                    output.WriteLine($"{what}: settled after {settledSince.Value.TotalSeconds:0.0} s, {first.Count} questions alike on both servers");
                }

                return (settled, first, "alike, holding for 1 s");
            }

            settledSince = null;
            var seen = differences.Count > 0 ? "servers differ: " + string.Join("; ", differences) : "alike, not yet: " + string.Join("; ", first.Select(e => $"{e.Key} {e.Value}"));
            return (false, first, $"{seen}\n{fleet.Describe()}");
        }, TimeSpan.FromMilliseconds(100));
    }

    /// <summary>Every question to both servers, in one map (the second server's keys prefixed "second ").</summary>
    private async Task<Dictionary<string, FleetAnswer>> MatrixAsync(IReadOnlyList<string> names)
    {
        var (first, second) = await BothMatricesAsync(names, Clients);
        foreach (var (key, answer) in second)
        {
            first[SecondKey + key] = answer;
        }

        return first;
    }

    private async Task<(Dictionary<string, FleetAnswer> First, Dictionary<string, FleetAnswer> Second)> BothMatricesAsync(IReadOnlyList<string> names, IReadOnlyList<IPAddress> clients)
    {
        var first = new Dictionary<string, FleetAnswer>(StringComparer.Ordinal);
        var second = new Dictionary<string, FleetAnswer>(StringComparer.Ordinal);
        var questions = names.SelectMany(n => clients.Select(c => (Name: n, Client: (IPAddress?)c)).Prepend((n, null))).ToList();
        foreach (var (name, client) in questions)
        {
            // One question at a time (to both servers at once): a burst of a hundred would measure the test host, not the servers.
            var key = client is not null ? $"{name} ecs {client}" : name;
            var (a, b) = await fleet.AskBothAsync(name, client);
            Assert.True(a is { Rcode: 0 } && b is { Rcode: 0 } && a.Addresses.Count > 0 && b.Addresses.Count > 0, $"{key}: first {a?.ToString() ?? "no reply"}, second {b?.ToString() ?? "no reply"}\n{fleet.Describe()}");
            first[key] = a!;
            second[key] = b!;
        }

        return (first, second);
    }

    private static bool All(Dictionary<string, FleetAnswer> matrix, string name, Func<FleetAnswer, bool> predicate) =>
        matrix.Where(e => e.Key == name || e.Key.StartsWith(name + " ", StringComparison.Ordinal)).All(e => predicate(e.Value));

    /// <summary>How many different answers <paramref name="name"/> got across the client subnets.</summary>
    private static int Distinct(Dictionary<string, FleetAnswer> matrix, string name) =>
        matrix.Where(e => e.Key.StartsWith(name + " ecs ", StringComparison.Ordinal)).Select(e => e.Value.ToString()).Distinct(StringComparer.Ordinal).Count();
}
