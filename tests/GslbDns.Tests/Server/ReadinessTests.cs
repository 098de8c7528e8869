using System.Net;
using System.Text.Json;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// /readyz and /healthz on the DNS server's metrics listener, over real HTTP: not ready (503, JSON naming what)
/// without zones, ready once a reload loads one; with Consul unreachable, not ready until the watch has read once,
/// while /healthz stays 200 (alive, keep it running; just out of rotation).
/// </summary>
public sealed class ReadinessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Readyz_is_503_naming_zones_until_a_zone_loads_then_200()
    {
        using var zones = new TempFolder("ready-zones");
        var metrics = PortFinder.Take();
        await using var server = await InProcessServer.StartAsync(InProcessServer.Options(zones.Path) with { MetricsEndPoint = new IPEndPoint(IPAddress.Loopback, metrics), EmbeddedProber = false });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var readyz = new Uri($"http://127.0.0.1:{metrics}/readyz");

        var (status, body) = await GetAsync(http, readyz);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains(zones.Path, NotReady(body)["zones"], StringComparison.Ordinal);
        Assert.Equal("ok\n", await http.GetStringAsync(new Uri($"http://127.0.0.1:{metrics}/healthz")));

        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        Assert.Empty(server.Builder.Reload());
        (status, body) = await GetAsync(http, readyz);
        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Empty(NotReady(body));
    }

    [Fact]
    public async Task Readyz_is_503_naming_the_consul_watch_while_consul_has_never_answered()
    {
        using var zones = new TempFolder("ready-consul");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        var metrics = PortFinder.Take();
        var deadConsul = new Uri($"http://127.0.0.1:{PortFinder.Take()}");
        await using var server = await InProcessServer.StartAsync(InProcessServer.Options(zones.Path) with
        {
            MetricsEndPoint = new IPEndPoint(IPAddress.Loopback, metrics),
            ConsulAddresses = [deadConsul],
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        var (status, body) = await GetAsync(http, new Uri($"http://127.0.0.1:{metrics}/readyz"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var notReady = NotReady(body);
        Assert.Contains("prober reports", notReady["consul_watch"], StringComparison.Ordinal);
        Assert.Contains("operator state", notReady["operator_state"], StringComparison.Ordinal);
        Assert.False(notReady.ContainsKey("zones"), body);
        Assert.Equal("ok\n", await http.GetStringAsync(new Uri($"http://127.0.0.1:{metrics}/healthz")));

        // The failed reads are counted for the Consul-unreachable alert.
        await Deadline.UntilAsync("watch errors counted", Patience, async () =>
        {
            var page = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metrics}/metrics"));
            return (System.Text.RegularExpressions.Regex.IsMatch(page, "gslbdns_consul_watch_errors_total\\{watch=\"health\"\\} [1-9]"), page.Length > 300 ? page[..300] : page);
        });
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, Uri uri)
    {
        using var response = await http.GetAsync(uri);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static Dictionary<string, string> NotReady(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("notReady").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }
}
