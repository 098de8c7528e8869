using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using GslbDns.Tests.Api;
using GslbDns.Tests.Core.Gslb.Policies;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Fleet;

/// <summary>
/// External health and load feeds (issue 15 item 4) and capacity-aware load shedding (item 5) on the real embedded
/// server: feeds set through its REST API with a <c>feed</c> token change real DNS answers (vote, veto), expire on
/// their own, show in the endpoint view, explain and /metrics; a load figure from a probe header, then from the feed,
/// sheds a share of ECS client subnets from the nearest data center to the next, measured through DNS; and geofencing
/// (item 6): a geofenced geo-proximity step keeps answers in the client's region when it is down, and geolocation
/// honours a data center pinned by a geo-data override.
/// </summary>
public sealed partial class FeedProcessTests(FeedProcessTests.Server server) : IClassFixture<FeedProcessTests.Server>
{
    private const string Zone = "ft.test";
    private const string App = "app.ft.test";
    private const string Veto = "veto.ft.test";
    private const string Shed = "shed.ft.test";
    private const string FeedToken = "feed-token-0123456789-abcdefghij";

    [Fact]
    public async Task A_feed_vote_takes_an_unprobed_endpoint_out_until_it_expires_and_is_visible_everywhere()
    {
        // No probers check app: a vote feed alone decides.
        await server.UntilAnswerAsync(App, ["127.0.0.21", "127.0.0.22"]);
        using (var put = await server.Feed.PutAsync(FeedUri(App, "dc-a", "127.0.0.21"), Json(new { up = false, load = 0.4, expiresIn = "4s", reason = "synthetic monitor: checkout failing" })))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        await server.UntilAnswerAsync(App, ["127.0.0.22"]);

        using (var view = JsonDocument.Parse(await server.Read.GetStringAsync(new Uri($"v1/endpoints/{App}/dc-a/127.0.0.21", UriKind.Relative))))
        {
            var feed = view.RootElement.GetProperty("feed");
            Assert.False(feed.GetProperty("up").GetBoolean());
            Assert.Equal("vote", feed.GetProperty("mode").GetString());
            Assert.True(feed.GetProperty("counted").GetBoolean());
            Assert.Equal("monitor", feed.GetProperty("by").GetString());
            Assert.False(view.RootElement.GetProperty("usable").GetBoolean());
            Assert.Equal("feed", view.RootElement.GetProperty("load").GetProperty("source").GetString());
        }

        var explain = await server.ExplainNoteAsync(App, "healthy");
        Assert.Contains($"{App}/dc-a/127.0.0.21 feed down (vote; no prober votes, probed healthy) -> unhealthy", explain, StringComparison.Ordinal);
        var metrics = await server.MetricsAsync();
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("gslbdns_feed_up{", StringComparison.Ordinal) && l.Contains($"endpoint=\"{App}/dc-a/127.0.0.21\"", StringComparison.Ordinal) && l.EndsWith(" 0", StringComparison.Ordinal));
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("gslbdns_feed_load{", StringComparison.Ordinal) && l.Contains($"endpoint=\"{App}/dc-a/127.0.0.21\"", StringComparison.Ordinal) && l.EndsWith(" 0.4", StringComparison.Ordinal));

        // The audit log has the feed write, by the feed token's name.
        using (var audit = JsonDocument.Parse(await server.Read.GetStringAsync(new Uri($"v1/audit?kind=feed&object={App}/dc-a/127.0.0.21", UriKind.Relative))))
        {
            var entry = Assert.Single(audit.RootElement.GetProperty("entries").EnumerateArray());
            Assert.Equal("monitor", entry.GetProperty("actor").GetString());
            Assert.Equal("set", entry.GetProperty("action").GetString());
        }

        // Nobody writes again: the DNS server ends it at its expiry on its own clock.
        await server.UntilAnswerAsync(App, ["127.0.0.21", "127.0.0.22"], TimeSpan.FromSeconds(10));
        var after = await server.MetricsAsync();
        Assert.DoesNotContain(after.Split('\n'), l => l.StartsWith("gslbdns_feed_up{", StringComparison.Ordinal) && l.Contains($"endpoint=\"{App}/dc-a/127.0.0.21\"", StringComparison.Ordinal));

        // DELETE clears one that has not expired.
        using (await server.Feed.PutAsync(FeedUri(App, "dc-b", "127.0.0.22"), Json(new { up = false, expiresIn = "10m" })))
        {
        }

        await server.UntilAnswerAsync(App, ["127.0.0.21"]);
        using (var delete = await server.Feed.DeleteAsync(FeedUri(App, "dc-b", "127.0.0.22")))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        }

        await server.UntilAnswerAsync(App, ["127.0.0.21", "127.0.0.22"]);
    }

    [Fact]
    public async Task A_veto_feed_down_overrules_healthy_probes_and_up_does_not_overrule_failing_ones()
    {
        await server.UntilAnswerAsync(Veto, ["127.0.0.23", "127.0.0.24"]);
        using (await server.Feed.PutAsync(FeedUri(Veto, "dc-a", "127.0.0.23"), Json(new { up = false, expiresIn = "5m" })))
        {
        }

        await server.UntilAnswerAsync(Veto, ["127.0.0.24"]);
        using (await server.Feed.PutAsync(FeedUri(Veto, "dc-a", "127.0.0.23"), Json(new { up = true, expiresIn = "5m" })))
        {
        }

        await server.UntilAnswerAsync(Veto, ["127.0.0.23", "127.0.0.24"]);
        using (await server.Feed.DeleteAsync(FeedUri(Veto, "dc-a", "127.0.0.23")))
        {
        }
    }

    [Fact]
    public async Task Feed_writes_are_validated_and_authorised()
    {
        var uri = FeedUri(App, "dc-a", "127.0.0.21");
        (object Body, string Field)[] bad =
        [
            (new { up = true }, "expiresIn"),
            (new { up = true, expiresIn = "2d" }, "expiresIn"),
            (new { up = true, expiresIn = "soon" }, "expiresIn"),
            (new { load = -1, expiresIn = "60s" }, "load"),
            (new { expiresIn = "60s" }, "up"),
            (new { up = "yes", expiresIn = "60s" }, "up"),
            (new { up = true, expiresIn = "60s", weight = 3 }, "weight"),
        ];
        foreach (var (body, field) in bad)
        {
            using var response = await server.Feed.PutAsync(uri, Json(body));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), $"{JsonSerializer.Serialize(body)}: {problem.RootElement}");
        }

        // A feed token may push feeds and nothing else; a read token may not push them.
        using (var drain = await server.Feed.PutAsync(new Uri($"v1/endpoints/{App}/dc-a/127.0.0.21/drain", UriKind.Relative), Json(new { reason = "no" })))
        {
            Assert.Equal(HttpStatusCode.Forbidden, drain.StatusCode);
        }

        using (var read = await server.Feed.GetAsync(new Uri("v1/services", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, read.StatusCode);
        }

        using (var readPut = await server.Read.PutAsync(uri, Json(new { up = true, expiresIn = "60s" })))
        {
            Assert.Equal(HttpStatusCode.Forbidden, readPut.StatusCode);
        }

        using (var unknown = await server.Feed.PutAsync(FeedUri(App, "dc-a", "127.0.0.99"), Json(new { up = true, expiresIn = "60s" })))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }
    }

    [Fact]
    public async Task Load_from_a_probe_header_then_from_the_feed_sheds_that_share_of_client_subnets_to_the_next_data_center()
    {
        // dc-a's health backend reports 0.7 of capacity 1: watermarks 0.5..0.9 shed half of dc-a's clients.
        server.HealthA.ExtraHeaders = "X-Load: 0.7\r\n";
        await Deadline.UntilAsync("the probed load in the endpoint view", TimeSpan.FromSeconds(15), async () =>
        {
            using var view = JsonDocument.Parse(await server.Read.GetStringAsync(new Uri($"v1/endpoints/{Shed}/dc-a/127.0.0.25", UriKind.Relative)));
            return (view.RootElement.TryGetProperty("load", out var load) && load.GetProperty("load").GetDouble() == 0.7 && load.GetProperty("source").GetString() == "probe", view.RootElement.ToString());
        }, TimeSpan.FromMilliseconds(100));

        const int Subnets = 300;
        var half = await ShedCountAsync(Subnets);
        PolicyTestSupport.AssertBinomial(half, Subnets, 0.5, "subnets answered from dc-b at a load of 0.7");

        var note = await server.ExplainNoteAsync(Shed, "geo-proximity", "10.0.0.0/24");
        Assert.Contains("load shedding: dc-a at 70% of capacity (watermarks 0.5..0.9) sheds 50% of clients", note, StringComparison.Ordinal);

        // The feed's figure wins over the probe's while it lives: 0.8 sheds three quarters.
        using (await server.Feed.PutAsync(FeedUri(Shed, "dc-a", "127.0.0.25"), Json(new { load = 0.8, expiresIn = "5m" })))
        {
        }

        await Deadline.UntilAsync("the fed load in force", TimeSpan.FromSeconds(10), async () =>
        {
            var text = await server.ExplainNoteAsync(Shed, "geo-proximity", "10.0.0.0/24");
            return (text.Contains("at 80% of capacity", StringComparison.Ordinal), text);
        }, TimeSpan.FromMilliseconds(100));
        var threeQuarters = await ShedCountAsync(Subnets);
        PolicyTestSupport.AssertBinomial(threeQuarters, Subnets, 0.75, "subnets answered from dc-b at a fed load of 0.8");
        Assert.True(threeQuarters > half, $"{threeQuarters} shed at 0.8, {half} at 0.7");

        // Below the low watermark nothing is shed.
        using (await server.Feed.PutAsync(FeedUri(Shed, "dc-a", "127.0.0.25"), Json(new { load = 0.3, expiresIn = "5m" })))
        {
        }

        await Deadline.UntilAsync("no shedding at 0.3", TimeSpan.FromSeconds(10), async () => (await ShedCountAsync(50) == 0, "still shedding"), TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, await ShedCountAsync(Subnets));
        using (await server.Feed.DeleteAsync(FeedUri(Shed, "dc-a", "127.0.0.25")))
        {
        }

        server.HealthA.ExtraHeaders = "";
    }

    [Fact]
    public async Task A_geofence_keeps_answers_in_the_clients_region_when_it_is_down_and_geolocation_honours_a_pinned_data_center()
    {
        var client = IPAddress.Parse("10.0.0.0");
        async Task UntilAsync(string name, string expected) =>
            await Deadline.UntilAsync($"{name} answering {expected}", TimeSpan.FromSeconds(10), async () =>
            {
                var answer = await server.AskAsync(name, client);
                return (answer.SequenceEqual([expected]), $"answer [{string.Join(", ", answer)}]");
            }, TimeSpan.FromMilliseconds(50));

        // Nearest is dc-a (eu); down, the fence keeps the next-nearest in eu (dc-c), not us.
        await UntilAsync("fence.ft.test", "127.0.0.51");
        using (await server.Feed.PutAsync(FeedUri("fence.ft.test", "dc-a", "127.0.0.51"), Json(new { up = false, expiresIn = "5m" })))
        {
        }

        await UntilAsync("fence.ft.test", "127.0.0.52");

        // The whole of eu down: fail open inside eu (its nearest endpoint, down as it is), never dc-b.
        using (await server.Feed.PutAsync(FeedUri("fence.ft.test", "dc-c", "127.0.0.52"), Json(new { up = false, expiresIn = "5m" })))
        {
        }

        await UntilAsync("fence.ft.test", "127.0.0.51");
        var note = await server.ExplainNoteAsync("fence.ft.test", "geo-proximity", "10.0.0.0/24");
        Assert.Contains("geofence: region eu has no usable endpoint: failing open inside it", note, StringComparison.Ordinal);
        using (var view = JsonDocument.Parse(await server.Read.GetStringAsync(new Uri("v1/services/fence.ft.test", UriKind.Relative))))
        {
            var step = view.RootElement.GetProperty("policies").EnumerateArray().Single(p => p.GetProperty("type").GetString() == "geo-proximity");
            Assert.True(step.GetProperty("options").GetProperty("geofence").GetBoolean());
        }

        // With whenAllUnhealthy fallback, the region's fallback is the service's fallback addresses.
        await UntilAsync("fencefb.ft.test", "127.0.0.54");
        using (await server.Feed.PutAsync(FeedUri("fencefb.ft.test", "dc-a", "127.0.0.54"), Json(new { up = false, expiresIn = "5m" })))
        {
        }

        await UntilAsync("fencefb.ft.test", "127.0.0.99");

        // Geolocation: no rule matches these clients (no continent in the override), so the default dc-a answers,
        // except for the network a geo-data override pins to dc-b.
        await UntilAsync("loc.ft.test", "127.0.0.56");
        client = IPAddress.Parse("10.200.7.0");
        await UntilAsync("loc.ft.test", "127.0.0.57");
        Assert.Contains("forced to data center dc-b by a geo-data override", await server.ExplainNoteAsync("loc.ft.test", "geolocation", "10.200.7.0/24"), StringComparison.Ordinal);

        foreach (var (service, dc, address) in new[] { ("fence.ft.test", "dc-a", "127.0.0.51"), ("fence.ft.test", "dc-c", "127.0.0.52"), ("fencefb.ft.test", "dc-a", "127.0.0.54") })
        {
            using (await server.Feed.DeleteAsync(FeedUri(service, dc, address)))
            {
            }
        }
    }

    /// <summary>How many of <paramref name="subnets"/> client /24s (10.0.0.0/24, 10.0.1.0/24, ..., all placed near dc-a) dc-b answers.</summary>
    private async Task<int> ShedCountAsync(int subnets)
    {
        var shed = 0;
        for (var i = 0; i < subnets; i++)
        {
            var answer = await server.AskAsync(Shed, IPAddress.Parse($"10.{i / 256}.{i % 256}.0"));
            shed += answer.SequenceEqual(["127.0.0.26"]) ? 1 : answer.SequenceEqual(["127.0.0.25"]) ? 0 : throw new InvalidOperationException($"answer [{string.Join(", ", answer)}]");
        }

        return shed;
    }

    private static Uri FeedUri(string service, string dc, string address) => new($"v1/endpoints/{service}/{dc}/{address}/feed", UriKind.Relative);

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    [GeneratedRegex(@"REST API on (http://\S+/)")]
    private static partial Regex ApiLine();

    /// <summary>The embedded server (DNS, REST API, metrics, in-process prober) with the three services and two health backends.</summary>
    public sealed class Server : IAsyncLifetime
    {
        private readonly TempFolder _folder = new("feed-process");
        private ChildProcess? _process;
        private System.Net.IPEndPoint _dns = null!;
        private Uri _metrics = null!;

        internal HttpBackend HealthA { get; private set; } = null!;

        internal HttpBackend HealthB { get; private set; } = null!;

        public HttpClient Read { get; private set; } = null!;

        public HttpClient Feed { get; private set; } = null!;

        private readonly HttpClient _plain = new() { Timeout = TimeSpan.FromSeconds(5) };

        public async Task InitializeAsync()
        {
            HealthA = HttpBackend.Start(IPAddress.Parse("127.0.0.31"), 0);
            HealthB = HttpBackend.Start(IPAddress.Parse("127.0.0.32"), 0);
            var zones = _folder.Folder("zones");
            File.WriteAllText(Path.Combine(zones, Zone + ".zone"), "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n  IN NS ns1\nns1 IN A 127.0.0.1\n");
            File.WriteAllText(Path.Combine(zones, Zone + ".gslb.json"), $$"""
                {
                  "dataCenters": {
                    "dc-a": { "latitude": 53.35, "longitude": -6.26, "region": "eu" },
                    "dc-b": { "latitude": 39.04, "longitude": -77.49, "region": "us" },
                    "dc-c": { "latitude": 48.86, "longitude": 2.35, "region": "eu" }
                  },
                  "ttl": { "default": 5, "min": 1, "max": 300 },
                  "services": {
                    "app": {
                      "policy": [ { "type": "healthy" }, { "type": "multivalue" } ],
                      "endpoints": [ { "dataCenter": "dc-a", "address": "127.0.0.21" }, { "dataCenter": "dc-b", "address": "127.0.0.22" } ]
                    },
                    "veto": {
                      "feed": "veto",
                      "policy": [ { "type": "healthy" }, { "type": "multivalue" } ],
                      "check": { "type": "http", "port": {{HealthA.Port}}, "path": "/health", "interval": "200ms", "failureThreshold": 1, "successThreshold": 1 },
                      "endpoints": [
                        { "dataCenter": "dc-a", "address": "127.0.0.23", "check": { "address": "127.0.0.31" } },
                        { "dataCenter": "dc-b", "address": "127.0.0.24", "check": { "address": "127.0.0.32", "port": {{HealthB.Port}} } }
                      ]
                    },
                    "fence": {
                      "policy": [ { "type": "healthy" }, { "type": "geo-proximity", "geofence": true } ],
                      "endpoints": [ { "dataCenter": "dc-a", "address": "127.0.0.51" }, { "dataCenter": "dc-c", "address": "127.0.0.52" }, { "dataCenter": "dc-b", "address": "127.0.0.53" } ]
                    },
                    "fencefb": {
                      "policy": [ { "type": "healthy" }, { "type": "geo-proximity", "geofence": true } ],
                      "whenAllUnhealthy": "fallback",
                      "fallback": [ "127.0.0.99" ],
                      "endpoints": [ { "dataCenter": "dc-a", "address": "127.0.0.54" }, { "dataCenter": "dc-b", "address": "127.0.0.55" } ]
                    },
                    "loc": {
                      "policy": [ { "type": "healthy" }, { "type": "geolocation", "rules": [ { "continent": "NA", "dataCenters": [ "dc-b" ] } ], "default": [ "dc-a" ] } ],
                      "endpoints": [ { "dataCenter": "dc-a", "address": "127.0.0.56" }, { "dataCenter": "dc-b", "address": "127.0.0.57" } ]
                    },
                    "shed": {
                      "policy": [ { "type": "healthy" }, { "type": "geo-proximity", "count": 1 } ],
                      "loadShedding": { "lowWatermark": 0.5, "highWatermark": 0.9 },
                      "check": { "type": "http", "port": {{HealthA.Port}}, "path": "/health", "interval": "200ms", "load": { "header": "X-Load" } },
                      "endpoints": [
                        { "dataCenter": "dc-a", "address": "127.0.0.25", "check": { "address": "127.0.0.31" } },
                        { "dataCenter": "dc-b", "address": "127.0.0.26", "check": { "address": "127.0.0.32", "port": {{HealthB.Port}} } }
                      ]
                    }
                  }
                }
                """);
            var geoData = _folder.Folder("geo-data");
            File.WriteAllText(Path.Combine(geoData, "clients.txt"), "# every test client near dc-a, but one network pinned to dc-b\n10.0.0.0/8 53.3,-6.2\n10.200.0.0/16 53.3,-6.2 dc=dc-b\n");
            var tokens = _folder.File("tokens");
            File.WriteAllText(
                tokens,
                $"operator {InProcessApi.OperatorToken} alice\nread {InProcessApi.ReadToken} grafana\nfeed {FeedToken} monitor\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(tokens, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            (_process, _dns, var metrics) = await FleetProcesses.StartServerAsync(
                RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [], null, metrics: true, geoData,
                extraArguments: ["--api", "127.0.0.1:0", "--state", _folder.Folder("state"), "--api-tokens-file", tokens], readyZone: Zone);
            _metrics = metrics!;
            var api = await Deadline.PollAsync("the REST API line", TimeSpan.FromSeconds(15), () =>
            {
                var match = ApiLine().Match(_process.StandardError + _process.StandardOutput);
                return Task.FromResult((match.Success, match.Success ? match.Groups[1].Value : "", _process.Describe()));
            });
            Read = Client(api, InProcessApi.ReadToken);
            Feed = Client(api, FeedToken);
        }

        public async Task DisposeAsync()
        {
            Read?.Dispose();
            Feed?.Dispose();
            _plain.Dispose();
            _process?.Dispose();
            await HealthA.DisposeAsync();
            await HealthB.DisposeAsync();
            _folder.Dispose();
        }

        public async Task<IReadOnlyList<string>> AskAsync(string name, IPAddress? clientSubnet = null)
        {
            if (_process!.HasExited)
            {
                throw new PollAbortedException("the server exited:\n" + _process.Describe());
            }

            var answer = await FleetProcesses.AskAsync(_dns, name, TimeSpan.FromSeconds(1), clientSubnet);
            return answer?.Addresses ?? [];
        }

        public Task UntilAnswerAsync(string name, string[] expected, TimeSpan? within = null) =>
            Deadline.UntilAsync($"{name} answering [{string.Join(", ", expected)}]", within ?? TimeSpan.FromSeconds(10), async () =>
            {
                var answer = await AskAsync(name);
                return (answer.Order(StringComparer.Ordinal).SequenceEqual(expected), $"answer [{string.Join(", ", answer)}]");
            }, TimeSpan.FromMilliseconds(50));

        public async Task<string> ExplainNoteAsync(string name, string policy, string client = "127.0.0.1")
        {
            using var explain = JsonDocument.Parse(await Read.GetStringAsync(new Uri($"v1/explain?name={name}&client={client}", UriKind.Relative)));
            var step = explain.RootElement.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("policy").GetString() == policy);
            return step.TryGetProperty("note", out var note) ? note.GetString() ?? "" : "";
        }

        public Task<string> MetricsAsync() => _plain.GetStringAsync(_metrics);

        private static HttpClient Client(string baseAddress, string token)
        {
            var client = new HttpClient { BaseAddress = new Uri(baseAddress), Timeout = TimeSpan.FromSeconds(5) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return client;
        }
    }
}
