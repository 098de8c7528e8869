using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GslbDns.Tests.Api;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Fleet;

/// <summary>
/// External feeds in Consul mode (issue 15 item 4): a feed pushed to the API process with a <c>feed</c> token is stored in
/// Consul KV and reaches two DNS server processes through their state watches; each ends it at its expiry on its own
/// clock, with nobody writing again.
/// </summary>
public sealed class FeedConsulTests(ConsulDevAgent consul) : IClassFixture<ConsulDevAgent>
{
    private const string Zone = "fc.test";
    private const string App = "app.fc.test";
    private const string Prefix = "feedtest/";
    private const string FeedToken = "feed-token-0123456789-consulmode";

    [Fact]
    public async Task A_feed_in_Consul_reaches_every_DNS_server_and_expires_on_each()
    {
        using var folder = new TempFolder("feed-consul");
        var zones = folder.Folder("zones");
        File.WriteAllText(Path.Combine(zones, Zone + ".zone"), "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n  IN NS ns1\nns1 IN A 127.0.0.1\n");
        File.WriteAllText(Path.Combine(zones, Zone + ".gslb.json"), """
            {
              "dataCenters": { "dc-a": { "latitude": 53.35, "longitude": -6.26 }, "dc-b": { "latitude": 39.04, "longitude": -77.49 } },
              "ttl": { "default": 5, "min": 1, "max": 300 },
              "services": {
                "app": {
                  "policy": [ { "type": "healthy" }, { "type": "multivalue" } ],
                  "endpoints": [ { "dataCenter": "dc-a", "address": "127.0.0.41" }, { "dataCenter": "dc-b", "address": "127.0.0.42" } ]
                }
              }
            }
            """);
        var tokens = folder.File("tokens");
        File.WriteAllText(tokens, $"operator {InProcessApi.OperatorToken} alice\nfeed {FeedToken} monitor\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tokens, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var servers = new[]
        {
            FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [consul.HttpAddress], Prefix, metrics: false, readyZone: Zone),
            FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [consul.HttpAddress], Prefix, metrics: false, readyZone: Zone),
        };
        using var api = ApiProcess.Start(["--zones", zones, "--consul", consul.HttpAddress.ToString(), "--consul-prefix", Prefix, "--tokens-file", tokens]);
        var started = await Task.WhenAll(servers);
        using var first = started[0].Process;
        using var second = started[1].Process;
        using var http = new HttpClient { BaseAddress = new Uri(await ApiProcess.WaitForUrlAsync(api)), Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", FeedToken);

        async Task UntilBothAsync(string[] expected, TimeSpan within) =>
            await Deadline.UntilAsync($"both servers answering [{string.Join(", ", expected)}]", within, async () =>
            {
                var answers = new List<string>();
                foreach (var (process, dns, _) in started)
                {
                    if (process.HasExited)
                    {
                        throw new PollAbortedException("a server exited:\n" + process.Describe());
                    }

                    answers.Add(string.Join(",", (await FleetProcesses.AskAsync(dns, App, TimeSpan.FromSeconds(1)))?.Addresses ?? []));
                }

                return (answers.All(a => a == string.Join(",", expected)), string.Join(" | ", answers));
            }, TimeSpan.FromMilliseconds(50));

        await UntilBothAsync(["127.0.0.41", "127.0.0.42"], TimeSpan.FromSeconds(10));
        using (var put = await http.PutAsync(
            new Uri($"v1/endpoints/{App}/dc-a/127.0.0.41/feed", UriKind.Relative),
            new StringContent("""{"up": false, "expiresIn": "4s", "reason": "outside monitor"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        // Stored in Consul under the state prefix, as a forced verdict is.
        var kv = consul.CreateClient();
        var stored = await Deadline.PollAsync("the feed key in Consul", TimeSpan.FromSeconds(5), async () =>
        {
            var keys = await kv.KvKeysAsync(Prefix);
            var key = keys.FirstOrDefault(k => k.Contains("/feeds/", StringComparison.Ordinal) && k.EndsWith($"{App}/dc-a/127.0.0.41", StringComparison.Ordinal));
            return (key is not null, key ?? "", string.Join(", ", keys));
        });
        Assert.Contains("feeds", stored, StringComparison.Ordinal);

        await UntilBothAsync(["127.0.0.42"], TimeSpan.FromSeconds(5));

        // Nothing writes again: each server brings it back at the expiry, by its own clock.
        await UntilBothAsync(["127.0.0.41", "127.0.0.42"], TimeSpan.FromSeconds(10));
    }
}
