using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using GslbDns.Tests.Fleet;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// The real server process, as an operator starts it: <c>dotnet GslbDns.dll serve --zones ... --dns ... --metrics ...</c>.
/// Queried with dig, scraped over HTTP, reloaded by SIGHUP and stopped by SIGTERM, which must end it with exit code 0.
/// The embedded REST API listens on port 0 with its own state folder; the test reads the URL the server logs.
/// </summary>
public sealed partial class ServerProcessTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@"REST API on (http://\S+/)")]
    private static partial Regex ApiLine();

    [GeneratedRegex("""^gslbdns_dns_responses_total\{server="dns://[^"]+",zone="example\.test\.",rcode="NOERROR"\} ([0-9.e+]+)$""", RegexOptions.Multiline)]
    private static partial Regex NoErrorResponses();

    /// <summary>NOERROR replies for example.test so far (no series yet: none).</summary>
    private static async Task<double> NoErrorCountAsync(HttpClient http, Uri metrics)
    {
        var text = await http.GetStringAsync(metrics);
        return NoErrorResponses().Matches(text).Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Server_process_answers_dig_counts_in_metrics_reloads_on_SIGHUP_and_exits_0_on_SIGTERM()
    {
        using var zones = new TempFolder("process");
        using var state = new TempFolder("process-state");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        var dll = RepoLayout.ServerDll;

        ChildProcess? server = null;
        IPEndPoint? dns = null;
        Uri? metrics = null;
        var failures = new List<string>();
        for (var attempt = 1; attempt <= 3 && server is null; attempt++)
        {
            var dnsPort = PortFinder.Take();
            var metricsPort = PortFinder.Take();
            var process = ChildProcess.Start(RepoLayout.DotnetHost, [dll, "serve", "--zones", zones.Path, "--dns", $"127.0.0.1:{dnsPort}", "--metrics", $"127.0.0.1:{metricsPort}", "--udp-threads", "1", "--no-watch", "--api", "127.0.0.1:0", "--state", state.Path, "--geo-data", state.Folder("no-geo-data")]);
            var endPoint = new IPEndPoint(IPAddress.Loopback, dnsPort);
            try
            {
                await Deadline.UntilAsync("the server process answering", StartTimeout, async () =>
                {
                    if (process.HasExited)
                    {
                        throw new PollAbortedException($"exited with {process.ExitCode}");
                    }

                    // Ready when DNS answers and /metrics, started just after the DNS listeners, does too.
                    var id = DnsWire.NewId();
                    var reply = await RawDnsClient.UdpAsync(endPoint, DnsWire.Query("example.test", DnsWire.TypeSOA, id), id, TimeSpan.FromMilliseconds(300));
                    if (reply is null)
                    {
                        return (false, "no DNS reply yet");
                    }

                    using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                    using var page = await probe.GetAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
                    return (page.IsSuccessStatusCode, $"/metrics: {page.StatusCode}");
                }, TimeSpan.FromMilliseconds(100));
                server = process;
                dns = endPoint;
                metrics = new Uri($"http://127.0.0.1:{metricsPort}/metrics");
            }
            catch (Exception ex) when (ex is PollAbortedException or TimeoutException)
            {
                failures.Add($"attempt {attempt}: {ex.Message}\n{process.Describe()}");
                process.Dispose();
            }
        }

        Assert.True(server is not null, $"the server process did not start:\n{string.Join("\n", failures)}");
        using var _ = server;
        try
        {
            await ExerciseAsync(server!, dns!, metrics!, zones.Path, state);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"{ex.Message}\n--- server process ---\n{server!.Describe()}", ex);
        }

        server!.Signal(ChildProcess.SigTerm);
        Assert.True(await server.WaitForExitAsync(TimeSpan.FromSeconds(15)), $"no exit within 15 s of SIGTERM\n{server.Describe()}");
        Assert.True(server.ExitCode == 0, $"exit code {server.ExitCode}\n{server.Describe()}");
        Assert.Contains("Stopped", server.StandardError + server.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>
    /// Set <paramref name="version"/> of two zones that only make sense together: <c>www.alias.test</c> is a CNAME to
    /// <c>v{version}.target.test</c>, which only that version of target.test has. Old alias with new target (or the
    /// reverse) would answer the CNAME and no address.
    /// </summary>
    private static void WriteAliasPair(string folder, int version)
    {
        TestZones.WriteAtomically(Path.Combine(folder, "alias.test.zone"), $"""
            $TTL 60
            @   IN SOA ns1.target.test. hostmaster.target.test. {version} 3600 600 86400 60
                IN NS  ns1.target.test.
            www IN CNAME v{version}.target.test.
            """);
        TestZones.WriteAtomically(Path.Combine(folder, "target.test.zone"), $"""
            $TTL 60
            @   IN SOA ns1 hostmaster {version} 3600 600 86400 60
                IN NS  ns1
            ns1 IN A   127.0.0.1
            v{version} IN A 192.0.2.{version}
            """);
    }

    [Fact]
    public async Task One_SIGHUP_reload_of_two_zones_is_seen_as_the_old_set_or_the_new_set_never_a_mix()
    {
        using var zones = new TempFolder("process-pair");
        WriteAliasPair(zones.Path, 1);
        var (server, dns, _) = await FleetProcesses.StartServerAsync(
            RepoLayout.DotnetHost, RepoLayout.ServerDll, zones.Path, [], null, metrics: false, extraArguments: ["--no-prober"], readyZone: "alias.test");
        using var _ = server;

        // Four clients ask www.alias.test A without pause; every reply must be one whole set: CNAME to vN and vN's address.
        var seen = new ConcurrentDictionary<int, int>();
        var mixes = new ConcurrentQueue<string>();
        var replies = 0;
        using var stop = new CancellationTokenSource();
        async Task ClientAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var reply = await RawDnsClient.UdpQueryAsync(dns, "www.alias.test", DnsWire.TypeA);
                Interlocked.Increment(ref replies);
                var cname = reply.Answers.Where(a => a.Type == DnsWire.TypeCNAME).Select(a => a.RDataName()).ToList();
                var addresses = reply.Answers.Where(a => a.Type == DnsWire.TypeA).Select(a => a.Address.ToString()).ToList();
                var version = cname.Count == 1 && cname[0].StartsWith('v') ? int.Parse(cname[0][1..cname[0].IndexOf('.')], CultureInfo.InvariantCulture) : -1;
                if (reply.Rcode == 0 && version > 0 && addresses.SequenceEqual([$"192.0.2.{version}"]))
                {
                    seen.AddOrUpdate(version, 1, (_, n) => n + 1);
                }
                else
                {
                    mixes.Enqueue($"rcode {reply.Rcode}, CNAME [{string.Join(", ", cname)}], A [{string.Join(", ", addresses)}]");
                }
            }
        }

        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(ClientAsync)).ToArray();
        try
        {
            // Ten reloads alternating between set 1 and set 2: both files rewritten, then one SIGHUP (the watcher is off).
            for (var flip = 0; flip < 10; flip++)
            {
                var version = flip % 2 == 0 ? 2 : 1;
                var before = seen.GetValueOrDefault(version);
                WriteAliasPair(zones.Path, version);
                server.Signal(ChildProcess.SigHup);
                await Deadline.UntilAsync($"set {version} answered after reload {flip + 1}", TimeSpan.FromSeconds(10), () =>
                {
                    if (server.HasExited)
                    {
                        throw new PollAbortedException("the server exited:\n" + server.Describe());
                    }

                    return Task.FromResult((seen.GetValueOrDefault(version) > before + 20 && mixes.IsEmpty, $"set {version} seen {seen.GetValueOrDefault(version)} times, {mixes.Count} mixes"));
                }, TimeSpan.FromMilliseconds(20));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(clients);
        }

        Assert.True(mixes.IsEmpty, $"{mixes.Count} of {replies} replies mixed the two sets, e.g. {string.Join("; ", mixes.Take(5))}\n{server.Describe()}");
        Assert.True(seen.GetValueOrDefault(1) > 0 && seen.GetValueOrDefault(2) > 0, $"both sets must have been answered: set 1 {seen.GetValueOrDefault(1)}, set 2 {seen.GetValueOrDefault(2)} of {replies}");
    }

    private static async Task ExerciseAsync(ChildProcess server, IPEndPoint dns, Uri metrics, string zones, TempFolder state)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        var before = await NoErrorCountAsync(http, metrics);
        var reply = await DigRunner.DigAsync(dns, "www.example.test", "A");
        Assert.Equal("NOERROR", reply.Status);
        Assert.Contains("aa", reply.Flags);
        Assert.Equal(TestZones.WwwV4, reply.Answer.Select(r => r.Data).Order());
        var tcp = await DigRunner.DigAsync(dns, "+tcp", "alias.example.test", "A");
        Assert.Equal(4, tcp.Answer.Count);
        var nx = await DigRunner.DigAsync(dns, "nope.example.test", "A");
        Assert.Equal("NXDOMAIN", nx.Status);

        // Per-thread counters (UDP threads, and the thread-pool threads TCP ran on) are summed per scrape.
        await Deadline.UntilAsync("gslbdns_dns_responses_total to count the dig queries", TimeSpan.FromSeconds(10), async () =>
        {
            var after = await NoErrorCountAsync(http, metrics);
            return (after >= before + 2, $"NOERROR {before} -> {after}");
        });
        // The embedded API took an OS-chosen port and said which one.
        var api = ApiLine().Match(server.StandardError + server.StandardOutput);
        Assert.True(api.Success, "no 'REST API on' line in the server's output");
        using (var healthz = await http.GetAsync(new Uri(new Uri(api.Groups[1].Value), "/healthz")))
        {
            Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        }

        Assert.True(File.Exists(Path.Combine(state.Path, "state.db")), "the embedded API's state is not in its --state folder");
        var page = await http.GetStringAsync(metrics);
        Assert.Matches("""gslbdns_dns_responses_total\{server="dns://127\.0\.0\.1:[0-9]+",zone="example\.test\.",rcode="NXDOMAIN"\} [1-9]""", page);
        Assert.Contains("gslbdns_zones 3", page, StringComparison.Ordinal);

        // SIGHUP reloads (the watcher is off, so only the signal can have done it).
        TestZones.WriteAtomically(Path.Combine(zones, "other.test.zone"), TestZones.OtherZone(www: "198.51.100.99"));
        server.Signal(ChildProcess.SigHup);
        await Deadline.UntilAsync("SIGHUP reloading other.test", TimeSpan.FromSeconds(10), async () =>
        {
            var answer = await RawDnsClient.UdpQueryAsync(dns, "www.other.test", DnsWire.TypeA);
            var seen = string.Join(",", answer.Answers.Select(a => a.Address));
            return (seen == "198.51.100.99", seen);
        }, TimeSpan.FromMilliseconds(50));
        Assert.False(server.HasExited, "SIGHUP must not stop the server");
    }
}
