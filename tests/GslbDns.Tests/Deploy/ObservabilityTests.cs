using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using GslbDns.Tests.Api;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.Fleet;
using GslbDns.Tests.Prober;
using GslbDns.Tests.Server;
using GslbDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace GslbDns.Tests.Deploy;

/// <summary>
/// deploy/observability: the alert rules pass <c>promtool check rules</c>, every dashboard query parses as PromQL
/// (promtool again, each query as a recording rule), and every series the dashboard and the rules name is exposed
/// by the real processes (a DNS server and the API in Consul mode, a prober) after real traffic: dig over UDP and
/// TCP with DO and ECS, an NXDOMAIN and a REFUSED, API reads and a drain. /readyz answers 200 on all three.
/// </summary>
public sealed partial class ObservabilityTests(ConsulDevAgent consul, ITestOutputHelper output) : IClassFixture<ConsulDevAgent>
{
    private static readonly string Folder = Path.Combine(RepoLayout.Root, "deploy", "observability");
    private static readonly string Rules = Path.Combine(Folder, "alerts.yml");
    private static readonly string Dashboard = Path.Combine(Folder, "gslbdns-dashboard.json");
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@"\b(gslbdns_[a-z0-9_]+)")]
    private static partial Regex SeriesName();

    [GeneratedRegex(@"^(gslbdns_[a-z0-9_]+)[{ ]", RegexOptions.Multiline)]
    private static partial Regex SampleName();

    [Fact]
    public async Task Alert_rules_pass_promtool_check_rules()
    {
        var result = await ChildProcess.RunAsync("promtool", ["check", "rules", Rules], TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("SUCCESS", result.StandardOutput + result.StandardError, StringComparison.Ordinal);

        // The alerts the issue asks for are there by name.
        var text = await File.ReadAllTextAsync(Rules);
        foreach (var alert in (string[])["GslbDnsEndpointDown", "GslbDnsDataCenterDown", "GslbDnsProberFleetBelowQuorum", "GslbDnsHealthStateStale", "GslbDnsServfailRate", "GslbDnsRefusedRate", "GslbDnsReloadFailed", "GslbDnsConsulUnreachable"])
        {
            Assert.Contains($"alert: {alert}\n", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Every_dashboard_query_parses_as_promql_and_the_required_views_are_there()
    {
        var queries = DashboardQueries();
        Assert.True(queries.Count >= 20, $"only {queries.Count} queries in the dashboard");

        // Grafana's macros and variables replaced by what Prometheus would see, then each query checked by promtool as a recording rule.
        using var folder = new TempFolder("dashboard-promql");
        var rules = new System.Text.StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        for (var i = 0; i < queries.Count; i++)
        {
            var expr = queries[i].Replace("$__rate_interval", "5m", StringComparison.Ordinal).Replace("$__range", "1h", StringComparison.Ordinal);
            expr = Regex.Replace(expr, @"\$[a-z]+", ".*");
            rules.Append("      - record: dashboard:query").Append(i).Append('\n').Append("        expr: ").Append(JsonSerializer.Serialize(expr)).Append('\n');
        }

        var file = folder.File("dashboard-rules.yml");
        await File.WriteAllTextAsync(file, rules.ToString());
        var result = await ChildProcess.RunAsync("promtool", ["check", "rules", file], TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result + "\n" + rules);

        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Dashboard));
        var titles = dashboard.RootElement.GetProperty("panels").EnumerateArray().Select(p => p.GetProperty("title").GetString()!).ToList();
        foreach (var view in (string[])["Answers by RCODE", "Latency p50 / p99 by zone", "Queries by type", "Answer mix by data center ($service)", "Endpoint health matrix", "Snapshot and health-state age", "Prober fleet size", "Drills"])
        {
            Assert.Contains(view, titles);
        }
    }

    [Fact]
    public async Task Every_series_the_dashboard_and_rules_name_is_exposed_by_the_processes_after_real_traffic()
    {
        using var folder = new TempFolder("observability");
        using var backend = TcpBackend.Start();
        var zones = WriteZones(folder.Folder("zones"), backend.Port);
        var prefix = ConsulTestSupport.UniquePrefix("observability");

        var proberMetrics = PortFinder.Take();
        using var prober = ChildProcess.Start(RepoLayout.DotnetHost,
        [
            await ProberLayout.ProberDllAsync(), "--id", "obs-1", "--region", "eu", "--lat", "50.1", "--lon", "8.7", "--zones", zones,
            "--consul", consul.HttpAddress.ToString(), "--prefix", prefix, "--session-ttl", "2", "--metrics", $"127.0.0.1:{proberMetrics}", "--no-watch",
        ]);
        var (server, dns, serverMetrics) = await FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [consul.HttpAddress], prefix, metrics: true, readyZone: "obs.test");
        using var serverProcess = server;
        var tokens = ApiProcess.WriteTokensFile(folder.File("tokens"));
        using var api = ApiProcess.Start(["--zones", zones, "--consul", consul.HttpAddress.ToString(), "--consul-prefix", prefix, "--tokens-file", tokens, "--geo-data", Path.Combine(zones, "none")]);
        var apiUrl = new Uri(await ApiProcess.WaitForUrlAsync(api));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var apiHttp = new HttpClient { BaseAddress = apiUrl, Timeout = TimeSpan.FromSeconds(10) };

        // The prober's verdicts reached the server through Consul: both endpoints have votes, one of them down.
        await Deadline.UntilAsync("the server counting the prober's votes", Patience, async () =>
        {
            var page = await http.GetStringAsync(serverMetrics!);
            return (page.Contains("verdict=\"down\"} 1", StringComparison.Ordinal) && FleetProcesses.Metric(page, "gslbdns_live_probers") == 1, prober.Describe());
        });

        // Real traffic: dig over UDP and TCP, DO, ECS, types folded into 'other', NXDOMAIN, REFUSED; the API read and written.
        Assert.Equal("NOERROR", (await DigRunner.DigAsync(dns, "web.obs.test", "A")).Status);
        Assert.Equal("NOERROR", (await DigRunner.DigAsync(dns, "+tcp", "+dnssec", "web.obs.test", "A")).Status);
        Assert.Equal("NOERROR", (await DigRunner.DigAsync(dns, "+subnet=81.2.69.0/24", "web.obs.test", "A")).Status);
        Assert.Equal("NOERROR", (await DigRunner.DigAsync(dns, "obs.test", "TXT")).Status);
        Assert.Equal("NOERROR", (await DigRunner.DigAsync(dns, "obs.test", "HINFO")).Status);
        Assert.Equal("NXDOMAIN", (await DigRunner.DigAsync(dns, "nope.obs.test", "A")).Status);
        Assert.Equal("REFUSED", (await DigRunner.DigAsync(dns, "elsewhere.example", "A")).Status);
        using (var read = await ApiCalls.SendAsync(apiHttp, HttpMethod.Get, "/v1/datacenters", InProcessApi.ReadToken))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        using (var drain = await ApiCalls.SendAsync(apiHttp, HttpMethod.Put, "/v1/datacenters/us-dc/drain", InProcessApi.OperatorToken, new { reason = "observability test" }))
        {
            Assert.True(drain.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(drain));
        }

        // The drain reached the server: the drained data center's endpoint reads 2 in the health matrix.
        await Deadline.UntilAsync("the drained endpoint at 2", Patience, async () =>
        {
            var page = await http.GetStringAsync(serverMetrics!);
            return (page.Contains("endpoint=\"web.obs.test/us-dc/127.0.0.2\"} 2", StringComparison.Ordinal), "");
        });

        var pages = new Dictionary<string, string>
        {
            ["server"] = await http.GetStringAsync(serverMetrics!),
            ["prober"] = await http.GetStringAsync(new Uri($"http://127.0.0.1:{proberMetrics}/metrics")),
            ["api"] = await http.GetStringAsync(new Uri(apiUrl, "/metrics")),
        };
        var exposed = pages.Values.SelectMany(p => SampleName().Matches(p).Select(m => m.Groups[1].Value)).ToHashSet(StringComparer.Ordinal);
        var named = DashboardQueries().Concat(RuleExpressions()).SelectMany(q => SeriesName().Matches(q).Select(m => m.Groups[1].Value)).ToHashSet(StringComparer.Ordinal);
        output.WriteLine($"{named.Count} series named, {exposed.Count} exposed");
        var missing = named.Where(n => !exposed.Contains(n)).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, $"named in deploy/observability but not exposed: {string.Join(", ", missing)}");
        Assert.True(named.Count >= 30, $"only {named.Count} series named");

        // The CoreDNS-style labels carry what the traffic was.
        var dnsPage = pages["server"];
        Assert.Matches("""gslbdns_dns_requests_total\{server="dns://127\.0\.0\.1:\d+",zone="obs\.test\.",type="A",proto="tcp",family="1"\} 1""", dnsPage);
        Assert.Matches("""gslbdns_dns_requests_total\{server="dns://127\.0\.0\.1:\d+",zone="obs\.test\.",type="other",proto="udp",family="1"\} 1""", dnsPage);
        Assert.Matches("""gslbdns_dns_responses_total\{server="dns://127\.0\.0\.1:\d+",zone="dropped",rcode="REFUSED"\} 1""", dnsPage);
        Assert.Matches("""gslbdns_dns_do_requests_total\{server="dns://127\.0\.0\.1:\d+",zone="obs\.test\."\} 1""", dnsPage);
        Assert.Matches("""gslbdns_dns_ecs_requests_total\{server="dns://127\.0\.0\.1:\d+",zone="obs\.test\."\} 1""", dnsPage);
        Assert.Matches("""gslbdns_gslb_answers_total\{service="web\.obs\.test",datacenter="eu-dc"\} [1-9]""", dnsPage);
        Assert.Matches("""gslbdns_api_requests_total\{method="PUT",route="/v1/datacenters/\{dc\}/drain",status="200"\} 1""", pages["api"]);
        Assert.DoesNotContain("127.0.0.1#", dnsPage, StringComparison.Ordinal);

        // Every process is ready: zones, snapshot, Consul watch (server, API), report written (prober).
        foreach (var ready in (Uri[])[new Uri(serverMetrics!, "/readyz"), new Uri($"http://127.0.0.1:{proberMetrics}/readyz"), new Uri(apiUrl, "/readyz")])
        {
            using var response = await http.GetAsync(ready);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{ready}: {(int)response.StatusCode} {body}");
            Assert.Contains("\"ready\":true", body, StringComparison.Ordinal);
        }
    }

    private static List<string> DashboardQueries()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Dashboard));
        return [.. dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)];
    }

    /// <summary>The <c>expr:</c> of every rule (single-line or a <c>|</c> block), read without a YAML library.</summary>
    private static IEnumerable<string> RuleExpressions()
    {
        var lines = File.ReadAllLines(Rules);
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart();
            if (!trimmed.StartsWith("expr:", StringComparison.Ordinal))
            {
                continue;
            }

            var rest = trimmed["expr:".Length..].Trim();
            if (rest != "|")
            {
                yield return rest;
                continue;
            }

            var indent = lines[i].Length - trimmed.Length;
            var block = new List<string>();
            while (i + 1 < lines.Length && (lines[i + 1].Trim().Length == 0 || lines[i + 1].Length - lines[i + 1].TrimStart().Length > indent))
            {
                block.Add(lines[++i]);
            }

            yield return string.Join('\n', block);
        }
    }

    /// <summary>obs.test with one load-balanced name: an endpoint in eu-dc that answers the TCP check, one in us-dc that does not.</summary>
    private static string WriteZones(string zones, int port)
    {
        File.WriteAllText(Path.Combine(zones, "obs.test.zone"), """
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
              IN TXT "observability test"
              IN HINFO "loopback" "linux"
            ns1 IN A 127.0.0.1
            """);
        File.WriteAllText(Path.Combine(zones, "obs.test.gslb.json"), $$"""
            {
              "regions": { "eu": { "latitude": 50.1, "longitude": 8.7 } },
              "dataCenters": {
                "eu-dc": { "latitude": 50.1, "longitude": 8.7, "region": "eu" },
                "us-dc": { "latitude": 39.0, "longitude": -77.5, "region": "eu" }
              },
              "services": {
                "web": {
                  "policy": [ { "type": "healthy" }, { "type": "first" } ],
                  "check": { "type": "tcp", "port": {{port}}, "interval": "200ms", "timeout": "150ms" },
                  "endpoints": [
                    { "dataCenter": "eu-dc", "address": "127.0.0.1" },
                    { "dataCenter": "us-dc", "address": "127.0.0.2" }
                  ]
                }
              }
            }
            """);
        return zones;
    }
}
