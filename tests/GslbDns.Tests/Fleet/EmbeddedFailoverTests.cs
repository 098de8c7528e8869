using System.Diagnostics;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Fleet;

/// <summary>
/// Embedded mode on the real process: the DNS server alone (no --consul), probing with its in-process prober at the
/// shipped check timing, a quorum of one. A refusing backend leaves every fresh answer; restored, it comes back.
/// </summary>
public sealed class EmbeddedFailoverTests
{
    [Fact]
    public async Task Embedded_server_drops_a_killed_endpoint_and_takes_it_back_when_it_returns()
    {
        using var folder = new TempFolder("fleet-embedded");
        await using var backends = FleetBackends.Start();
        var zones = folder.Folder("zones");
        backends.Spec().WriteTo(zones);
        var (server, dns, metrics) = await FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [], null, metrics: true);
        using var _ = server;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var all = FleetSpec.ServiceAddresses.Select(a => a.ToString()).Order(StringComparer.Ordinal).ToArray();

        async Task<FleetAnswer> AskAsync()
        {
            if (server.HasExited)
            {
                throw new PollAbortedException("the server exited:\n" + server.Describe());
            }

            var answer = await FleetProcesses.AskAsync(dns, FleetSpec.ServiceName, TimeSpan.FromSeconds(1));
            Assert.True(answer is { Rcode: 0 } && answer.Addresses.Count > 0, $"svc answered {answer?.ToString() ?? "nothing"}\n{server.Describe()}");
            return answer!;
        }

        // The embedded prober has probed everything once and reports as the one live prober.
        await Deadline.UntilAsync("every endpoint answered, one live prober", TimeSpan.FromSeconds(30), async () =>
        {
            var answer = await AskAsync();
            var live = FleetProcesses.Metric(await http.GetStringAsync(metrics), "gslbdns_live_probers");
            return (answer.Addresses.SequenceEqual(all) && live == 1, $"answer {answer}, live probers {live}");
        }, TimeSpan.FromMilliseconds(100));

        var victim = backends.Service[1];
        victim.Refuse();
        var clock = Stopwatch.StartNew();
        await Deadline.UntilAsync($"answers without {victim.Address}", TimeSpan.FromSeconds(8), async () =>
        {
            var answer = await AskAsync();
            return (!answer.Contains(victim.Address), $"answer {answer}");
        }, TimeSpan.FromMilliseconds(50));
        var down = clock.Elapsed;

        // Every fresh answer, not one lucky one: a second of answers without it.
        var until = Stopwatch.StartNew();
        while (until.Elapsed < TimeSpan.FromSeconds(1))
        {
            var answer = await AskAsync();
            Assert.False(answer.Contains(victim.Address), $"{victim.Address} back in {answer} {down + until.Elapsed} after it was killed");
            await Task.Delay(50);
        }

        // The backend serves three services (svc, lat, w), each probed on its own schedule: all three go down.
        await EndpointsDownAsync(FleetSpec.ServicesOnServiceBackends.Length);

        victim.Accept();
        await Deadline.UntilAsync($"answers with {victim.Address} again", TimeSpan.FromSeconds(10), async () =>
        {
            var answer = await AskAsync();
            return (answer.Addresses.SequenceEqual(all), $"answer {answer}");
        }, TimeSpan.FromMilliseconds(50));
        await EndpointsDownAsync(0);

        async Task EndpointsDownAsync(int expected) =>
            await Deadline.UntilAsync($"gslbdns_endpoints_down {expected}", TimeSpan.FromSeconds(5), async () =>
            {
                var down = FleetProcesses.Metric(await http.GetStringAsync(metrics), "gslbdns_endpoints_down");
                return (down == expected, $"gslbdns_endpoints_down {down}");
            }, TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Embedded_server_leaves_a_refusing_endpoint_out_of_its_very_first_answer()
    {
        using var folder = new TempFolder("fleet-embedded-start");
        await using var backends = FleetBackends.Start();
        var zones = folder.Folder("zones");
        backends.Spec().WriteTo(zones);
        var victim = backends.Service[1];
        victim.Refuse();

        // The first reply the process ever sends, to the first query that found its port open.
        var first = new List<FleetAnswer>();
        var (server, _, _) = await FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [], null, metrics: false, firstAnswers: first);
        using var _ = server;
        var answer = Assert.Single(first);
        Assert.Equal(0, answer.Rcode);
        Assert.False(answer.Contains(victim.Address), $"the first answer {answer} holds {victim.Address}, which refuses connections\n{server.Describe()}");
        Assert.Equal(FleetSpec.ServiceAddresses.Length - 1, answer.Addresses.Count);
        Assert.Contains("Embedded prober's first round: every endpoint settled", server.StandardOutput + server.StandardError, StringComparison.Ordinal);
    }
}
