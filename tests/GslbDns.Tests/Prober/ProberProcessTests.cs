using GslbDns.Tests.Core.Probing;
using System.Diagnostics;
using System.Text.Json;
using GslbDns.Consul;
using GslbDns.Reports;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Prober;

/// <summary>
/// The real gslbdns-prober process against a real Consul with ACLs on (the token comes from a file), probing a
/// real TCP backend: its report appears, SIGHUP and file changes reload the config, SIGTERM removes the report
/// at once and exits 0, SIGKILL leaves the report to expire with the session TTL.
/// </summary>
public sealed class ProberProcessTests(ConsulAclAgent agent) : IClassFixture<ConsulAclAgent>, IDisposable
{
    private const int SessionTtlSeconds = 2;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly TempFolder _folder = new("prober-process");
    private readonly ConsulClient _client = ConsulTestSupport.Client([agent.HttpAddress], ConsulAclAgent.MasterToken);
    private readonly TcpBackend _backend = TcpBackend.Start();

    public void Dispose()
    {
        _backend.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task Report_appears_sighup_reloads_and_sigterm_removes_it_at_once_with_exit_code_0()
    {
        var prefix = ConsulTestSupport.UniquePrefix("prober-process");
        var metricsPort = PortFinder.Take();
        var zones = WriteZones(["127.0.0.1"]);
        using var prober = await StartProberAsync("proc-term", prefix, zones, $"127.0.0.1:{metricsPort}");
        var key = HealthKeys.ProberReport(prefix, "proc-term");

        var report = await UntilReportAsync(prober, key, r => r.Endpoints.TryGetValue(Endpoint("127.0.0.1"), out var o) && o.Up && o.RttMs is not null);
        Assert.Equal(new ProberInfo("proc-term", "eu", 50.1, 8.7, report.Prober.StartedAt), report.Prober);

        using (var http = new HttpClient())
        {
            var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
            Assert.Contains($"gslbdns_prober_probes_total{{endpoint=\"{Endpoint("127.0.0.1")}\",result=\"success\",reason=\"ok\"}}", metrics);
            Assert.Contains($"gslbdns_prober_endpoint_up{{endpoint=\"{Endpoint("127.0.0.1")}\"}} 1", metrics);
            Assert.Contains("gslbdns_prober_consul_session 1", metrics);
            Assert.Matches("""gslbdns_prober_rtt_seconds_count\{region="eu",datacenter="eu-dc"\} [1-9]""", metrics);
            Assert.Contains("gslbdns_build_info{", metrics);

            // The report is in Consul (read back above), so the prober is ready; /healthz only says it is alive.
            using var ready = await http.GetAsync(new Uri($"http://127.0.0.1:{metricsPort}/readyz"));
            Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
            Assert.Contains("\"ready\":true", await ready.Content.ReadAsStringAsync());
            Assert.Equal("ok\n", await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/healthz")));
        }

        // --no-watch: only SIGHUP reloads. The new endpoint has nothing listening, yet starts up (fail open).
        WriteZones(["127.0.0.1", "127.0.0.2"]);
        prober.Signal(ChildProcess.SigHup);
        var reloaded = await UntilReportAsync(prober, key, r => r.Endpoints.ContainsKey(Endpoint("127.0.0.2")));
        Assert.True(reloaded.Endpoints[Endpoint("127.0.0.1")].Up);

        prober.Signal(ChildProcess.SigTerm);
        var clock = Stopwatch.StartNew();
        await TestSupport.Deadline.UntilAsync("report removed on SIGTERM", TimeSpan.FromSeconds(3), async () => (await _client.KvGetAsync(key) is null, "still there"), TimeSpan.FromMilliseconds(25));
        var removedAfter = clock.Elapsed;
        Assert.True(await prober.WaitForExitAsync(TimeSpan.FromSeconds(10)), prober.Describe());
        Assert.Equal(0, prober.ExitCode);

        // Removed by destroying the session, well before the TTL could have expired it.
        Assert.True(removedAfter < TimeSpan.FromSeconds(SessionTtlSeconds), $"removed after {removedAfter}");
        Assert.DoesNotContain(ConsulAclAgent.MasterToken, prober.StandardOutput + prober.StandardError);
    }

    [Fact]
    public async Task File_change_reloads_and_a_killed_probers_report_expires_within_twice_the_session_ttl()
    {
        var prefix = ConsulTestSupport.UniquePrefix("prober-kill");
        var zones = WriteZones(["127.0.0.1"]);
        var prober = await StartProberAsync("proc-kill", prefix, zones, "off", watch: true);
        var key = HealthKeys.ProberReport(prefix, "proc-kill");
        await UntilReportAsync(prober, key, r => r.Endpoints.Count == 1);

        // Watched folder: writing the file is enough, no signal.
        WriteZones(["127.0.0.1", "127.0.0.3"]);
        await UntilReportAsync(prober, key, r => r.Endpoints.ContainsKey(Endpoint("127.0.0.3")));

        prober.Dispose(); // SIGKILL
        var clock = Stopwatch.StartNew();
        var limit = TimeSpan.FromSeconds(2 * SessionTtlSeconds) + TimeSpan.FromSeconds(1.5);
        await TestSupport.Deadline.UntilAsync("report expired after SIGKILL", limit, async () => (await _client.KvGetAsync(key) is null, "still there"), TimeSpan.FromMilliseconds(50));
        Assert.True(clock.Elapsed <= limit, $"gone after {clock.Elapsed}");
    }

    [Fact]
    public async Task Token_on_the_command_line_is_refused_without_echoing_it()
    {
        var dll = await ProberLayout.ProberDllAsync();
        var result = await ChildProcess.RunAsync(
            RepoLayout.DotnetHost,
            [dll, "--id", "x", "--region", "eu", "--lat", "1", "--lon", "2", "--consul-token=s3cr3t-value"],
            TimeSpan.FromSeconds(30));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--consul-token-file", result.StandardError);
        Assert.DoesNotContain("s3cr3t-value", result.StandardError + result.StandardOutput);
    }

    private static string Endpoint(string address) => $"web.probe.test/eu-dc/{address}";

    private string WriteZones(string[] addresses)
    {
        var zones = Path.Combine(_folder.Path, "zones");
        Directory.CreateDirectory(zones);
        File.WriteAllText(Path.Combine(zones, "probe.test.zone"), """
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            """);
        var endpoints = string.Join(",\n", addresses.Select(a => $$"""        { "dataCenter": "eu-dc", "address": "{{a}}" }"""));

        // Written to a temp name and renamed, so the prober never reads half a file.
        var path = Path.Combine(zones, "probe.test.gslb.json");
        File.WriteAllText(path + ".tmp", $$"""
            {
              "regions": { "eu": { "latitude": 50.1, "longitude": 8.7 } },
              "dataCenters": { "eu-dc": { "latitude": 50.1, "longitude": 8.7, "region": "eu" } },
              "services": {
                "web": {
                  "policy": [ { "type": "healthy" }, { "type": "multivalue" } ],
                  "check": { "type": "tcp", "port": {{_backend.Port}}, "interval": "200ms", "timeout": "150ms" },
                  "endpoints": [
            {{endpoints}}
                  ]
                }
              }
            }
            """);
        File.Move(path + ".tmp", path, overwrite: true);
        return zones;
    }

    [Fact]
    public async Task Readyz_is_503_naming_the_consul_report_while_consul_cannot_be_reached_and_healthz_stays_200()
    {
        var metricsPort = PortFinder.Take();
        var zones = WriteZones(["127.0.0.1"]);

        // A port nothing listens on: every session create fails, so the report is never written.
        using var prober = await StartProberAsync("proc-unready", ConsulTestSupport.UniquePrefix("prober-unready"), zones, $"127.0.0.1:{metricsPort}", consul: $"http://127.0.0.1:{PortFinder.Take()}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var body = await TestSupport.Deadline.PollAsync("/readyz answering", Patience, async () =>
        {
            Assert.False(prober.HasExited, prober.Describe());
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{metricsPort}/readyz"));
                var text = await response.Content.ReadAsStringAsync();
                return (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable, text, $"{(int)response.StatusCode} {text}");
            }
            catch (HttpRequestException ex)
            {
                return (false, string.Empty, ex.Message);
            }
        });
        using var json = JsonDocument.Parse(body);
        Assert.False(json.RootElement.GetProperty("ready").GetBoolean());
        Assert.Contains("not been written", json.RootElement.GetProperty("notReady").GetProperty("consul_report").GetString());
        Assert.Equal("ok\n", await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/healthz")));

        // Each failed attempt is counted for the cannot-publish alert (the first may still be under way when /readyz first answers).
        await TestSupport.Deadline.UntilAsync("publish errors counted", Patience, async () =>
        {
            var page = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
            var line = page.Split('\n').FirstOrDefault(l => l.StartsWith("gslbdns_prober_publish_errors_total ", StringComparison.Ordinal)) ?? "no gslbdns_prober_publish_errors_total";
            return (System.Text.RegularExpressions.Regex.IsMatch(line, " [1-9]"), line);
        });
    }

    private async Task<ChildProcess> StartProberAsync(string id, string prefix, string zones, string metrics, bool watch = false, string? consul = null)
    {
        var dll = await ProberLayout.ProberDllAsync();
        var tokenFile = Path.Combine(_folder.Path, "consul-token");
        File.WriteAllText(tokenFile, ConsulAclAgent.MasterToken + "\n");
        return ChildProcess.Start(RepoLayout.DotnetHost,
        [
            dll, "--id", id, "--region", "eu", "--lat", "50.1", "--lon", "8.7", "--zones", zones,
            "--consul", consul ?? agent.HttpAddress.ToString(), "--consul-token-file", tokenFile, "--prefix", prefix,
            "--session-ttl", SessionTtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--metrics", metrics,
            .. watch ? Array.Empty<string>() : ["--no-watch"],
        ]);
    }

    private async Task<ProberReport> UntilReportAsync(ChildProcess prober, string key, Func<ProberReport, bool> condition) =>
        (await TestSupport.Deadline.PollAsync($"report at {key}", Patience, async () =>
        {
            if (prober.HasExited)
            {
                throw new InvalidOperationException("prober exited:\n" + prober.Describe());
            }

            var pair = await _client.KvGetAsync(key);
            var report = pair is null ? null : JsonSerializer.Deserialize(pair.Value, HealthJsonContext.Default.ProberReport);
            return (report is not null && condition(report), report, pair is null ? "missing" : System.Text.Encoding.UTF8.GetString(pair.Value));
        }))!;
}
