using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using GslbDns.Dnssec;
using GslbDns.Server.Hosting;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// What an operator sees of a signed zone's keys while a KSK rollover runs, each through its real interface: the
/// embedded API's GET /v1/dnssec over HTTP, /metrics (signatures, cache, next key event), and the gslbdns explain
/// command's JSON; plus the RFC 9824 3.5 answer to an explicit NXNAME query, asked with dig.
/// </summary>
public sealed partial class DnssecOperatorViewTests
{
    private const string Zone = "view.test";

    [Fact]
    public async Task A_KSK_rollover_shows_in_the_API_the_metrics_and_explain_with_each_key_phase_and_the_next_key_event()
    {
        using var folder = new TempFolder("dnssec-view");
        var zones = WriteZone(folder);
        var keys = Path.Combine(folder.Path, "state", "dnssec");
        var metricsPort = PortFinder.Take();
        var options = InProcessServer.Signed(zones, Zone, Path.Combine(folder.Path, "state")) with
        {
            DnssecTimings = new RolloverTimings(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(1), TimeSpan.FromDays(30)),
            ApiEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            ApiTokensFile = Api.ApiProcess.WriteTokensFile(folder.File("tokens")),
            MetricsEndPoint = new IPEndPoint(IPAddress.Loopback, metricsPort),
        };
        await using var server = await InProcessServer.StartAsync(options);
        using var http = new HttpClient { BaseAddress = server.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Api.InProcessApi.ReadToken);

        using var output = new StringWriter();
        using var errors = new StringWriter();
        Assert.True(await DnssecRolloverCommand.RunAsync(options, new CommandLine.RolloverRequest("ksk", false, false), output, errors) == 0, errors.ToString());
        var started = Regex.Match(output.ToString(), @"KSK (\d+) published published (\S+ \S+) ready (\S+ \S+)");
        Assert.True(started.Success, output.ToString());
        var newKsk = int.Parse(started.Groups[1].Value, CultureInfo.InvariantCulture);
        var ready = DateTimeOffset.Parse(started.Groups[3].Value, CultureInfo.InvariantCulture);

        // The API: the server's next pass over the key state shows both KSKs, the new one published with its ready time next.
        JsonElement zone = default;
        await Deadline.UntilAsync("the API showing the new KSK", TimeSpan.FromSeconds(5), async () =>
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri("/v1/dnssec", UriKind.Relative)));
            zone = document.RootElement.GetProperty("items").EnumerateArray().Single().Clone();
            return (zone.GetProperty("keys").EnumerateArray().Count(k => k.GetProperty("role").GetString() == "KSK") == 2, zone.ToString());
        }, TimeSpan.FromMilliseconds(50));
        Assert.Equal(Zone + ".", zone.GetProperty("zone").GetString());
        var view = zone.GetProperty("keys").EnumerateArray().ToArray();
        var kskView = Assert.Single(view, k => k.GetProperty("tag").GetInt32() == newKsk);
        Assert.Equal(("KSK", "published"), (kskView.GetProperty("role").GetString(), kskView.GetProperty("phase").GetString()));
        Assert.Equal(ready, kskView.GetProperty("nextEvent").GetDateTimeOffset());
        Assert.Equal(ready, zone.GetProperty("nextKeyEvent").GetDateTimeOffset());
        Assert.Single(view, k => k.GetProperty("role").GetString() == "KSK" && k.GetProperty("phase").GetString() == "active");
        Assert.Single(view, k => k.GetProperty("role").GetString() == "ZSK" && k.GetProperty("phase").GetString() == "active");

        // Metrics: signed answers count signatures; the next key event is the new KSK's ready time.
        var dns = server.UdpListeners[0].LocalEndPoint;
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(0, (await RawDnsClient.UdpQueryAsync(dns, $"lb.{Zone}", DnsWire.TypeA, new EdnsSpec(DnssecOk: true))).Rcode);
        }

        using var scrape = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var metrics = await scrape.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
        // The same load-balanced answer set three times: signed once (a miss), then served from the cache twice.
        Assert.True(Metric(metrics, "gslbdns_dnssec_signatures_total") >= 1, metrics);
        Assert.True(Metric(metrics, "gslbdns_dnssec_signature_cache_misses_total") >= 1, metrics);
        Assert.True(Metric(metrics, "gslbdns_dnssec_signature_cache_hits_total") >= 2, metrics);
        Assert.Equal(ready.ToUnixTimeSeconds(), Metric(metrics, "gslbdns_dnssec_next_key_event_timestamp_seconds"));

        // explain for a name in the signed zone: the zone's keys, as the command reads them from the key store.
        var explained = await ChildProcess.RunAsync(RepoLayout.DotnetHost, [RepoLayout.ServerDll, "explain", "--zones", zones, "--dnssec-zone", Zone, "--dnssec-keys", keys, "--dnssec-max-ttl", "60", "--dnssec-propagation-delay", "1", "--name", $"lb.{Zone}", "--client", "192.0.2.1", "--no-prober", "--api", "off", "--state", Path.Combine(folder.Path, "explain-state")], TimeSpan.FromSeconds(30));
        Assert.True(explained.ExitCode == 0, explained.ToString());
        using var json = JsonDocument.Parse(explained.StandardOutput);
        var dnssec = json.RootElement.GetProperty("Dnssec");
        Assert.Equal(Zone + ".", dnssec.GetProperty("Zone").GetString());
        Assert.Equal("published", Assert.Single(dnssec.GetProperty("Keys").EnumerateArray(), k => k.GetProperty("Tag").GetInt32() == newKsk).GetProperty("Phase").GetString());
    }

    [Fact]
    public async Task An_explicit_NXNAME_query_gets_FORMERR()
    {
        using var folder = new TempFolder("dnssec-view");
        await using var server = await InProcessServer.StartAsync(InProcessServer.Signed(WriteZone(folder), Zone, Path.Combine(folder.Path, "state")));
        var dns = server.UdpListeners[0].LocalEndPoint;
        foreach (var name in new[] { $"www.{Zone}", $"nope.{Zone}" })
        {
            var reply = await DigRunner.DigAsync(dns, name, "TYPE128", "+dnssec");
            Assert.True(reply.Status == "FORMERR", reply.Raw);
            Assert.Empty(reply.Answer);
        }

        // The type next to it is still an unimplemented meta-query, as before.
        Assert.Equal("NOTIMP", (await DigRunner.DigAsync(dns, $"www.{Zone}", "TYPE129")).Status);
    }

    private static string WriteZone(TempFolder folder)
    {
        var zones = folder.Folder("zones");
        File.WriteAllText(Path.Combine(zones, Zone + ".zone"), """
            $ORIGIN view.test.
            $TTL 60
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            www IN A 192.0.2.1
            """);
        File.WriteAllText(Path.Combine(zones, Zone + ".gslb.json"), """
            {
              "dataCenters": {"eu": {"latitude": 50.1, "longitude": 8.7, "region": "eu"}},
              "regions": {"eu": {"latitude": 50.1, "longitude": 8.7}},
              "services": {"lb": {"policy": [{"type": "first"}], "endpoints": [{"dataCenter": "eu", "address": "198.51.100.1"}]}}
            }
            """);
        return zones;
    }

    private static long Metric(string text, string series)
    {
        var match = Regex.Match(text, $"^{series}\\{{zone=\"{Regex.Escape(Zone)}\\.\"\\}} ([0-9.e+]+)$", RegexOptions.Multiline);
        Assert.True(match.Success, $"{series} not in:\n{text}");
        return (long)double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
