using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// The real server process, as an operator starts it: <c>dotnet GslbDns.dll serve --zones ... --dns ... --metrics ...</c>.
/// Queried with dig, scraped over HTTP, reloaded by SIGHUP and stopped by SIGTERM, which must end it with exit code 0.
/// </summary>
public sealed partial class ServerProcessTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    [GeneratedRegex("""^gslbdns_responses_total\{rcode="NOERROR"\} ([0-9.e+]+)$""", RegexOptions.Multiline)]
    private static partial Regex NoErrorResponses();

    private static async Task<double> NoErrorCountAsync(HttpClient http, Uri metrics)
    {
        var text = await http.GetStringAsync(metrics);
        var match = NoErrorResponses().Match(text);
        Assert.True(match.Success, $"no gslbdns_responses_total{{rcode=\"NOERROR\"}} in /metrics:\n{text}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Server_process_answers_dig_counts_in_metrics_reloads_on_SIGHUP_and_exits_0_on_SIGTERM()
    {
        using var zones = new TempFolder("process");
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
            var process = ChildProcess.Start(RepoLayout.DotnetHost, [dll, "serve", "--zones", zones.Path, "--dns", $"127.0.0.1:{dnsPort}", "--metrics", $"127.0.0.1:{metricsPort}", "--udp-threads", "1", "--no-watch"]);
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
            await ExerciseAsync(server!, dns!, metrics!, zones.Path);
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

    private static async Task ExerciseAsync(ChildProcess server, IPEndPoint dns, Uri metrics, string zones)
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

        // UDP counters are summed per scrape; TCP ones when a connection closes, which dig's has by now.
        await Deadline.UntilAsync("gslbdns_responses_total to count the dig queries", TimeSpan.FromSeconds(10), async () =>
        {
            var after = await NoErrorCountAsync(http, metrics);
            return (after >= before + 2, $"NOERROR {before} -> {after}");
        });
        var page = await http.GetStringAsync(metrics);
        Assert.Matches("""gslbdns_responses_total\{rcode="NXDOMAIN"\} [1-9]""", page);
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
