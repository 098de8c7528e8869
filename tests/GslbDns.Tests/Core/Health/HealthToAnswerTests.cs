using System.Net;
using DnsClient;
using DnsClient.Protocol;
using GslbDns.Gslb;
using GslbDns.Reports;
using GslbDns.Server.Hosting;
using GslbDns.Tests.Server;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using DnsServer = GslbDns.Server.Hosting.DnsServer;

namespace GslbDns.Tests.Core.Health;

/// <summary>
/// Prober reports handed to a real in-process server's health publisher reach the answers to real DNS queries (DnsClient
/// over UDP), before and after a reload that changes the endpoints: the health kept by endpoint slot moves to the new
/// config's slots in the reload's swap, so a failed-over name stays failed over, and the next report still reaches it.
/// </summary>
public sealed class HealthToAnswerTests : IAsyncLifetime
{
    private const string Primary = "fo.health.test/us-east/203.0.113.1";
    private const string Secondary = "fo.health.test/eu-west/203.0.113.2";
    private const string Added = "new.health.test/us-east/203.0.113.11";

    private readonly TempFolder _folder = new("health-to-answer");
    private DnsServer _server = null!;

    private string ZonesFolder => _folder.Folder("zones");

    public Task InitializeAsync()
    {
        File.WriteAllText(Path.Combine(ZonesFolder, "health.test.zone"), """
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            """);
        WriteConfig(withAddedService: false);
        _server = new DnsServer(
            new ServerOptions
            {
                ZonesFolder = ZonesFolder,
                DnsEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)],
                UdpThreads = 1,
                MetricsEndPoint = null,
                WatchZones = false,

                // The test hands the publisher its reports, as the Consul watch or the embedded prober would.
                EmbeddedProber = false,
            },
            NullLoggerFactory.Instance);
        _server.Start();
        Assert.Empty(_server.Builder.LastErrors);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task A_health_change_reaches_the_answers_and_survives_a_reload_that_changes_the_endpoints()
    {
        Assert.Equal("203.0.113.1", await AnswerAsync("fo.health.test"));

        // Two probers of three see the primary down: the majority fails it over.
        Publish(primaryUp: false, addedUp: true);
        await UntilAnswerAsync("fo.health.test", "203.0.113.2");
        AssertReadBySlot();

        // A reload adds a service (new endpoints, new slots): the verdicts move with it, nothing fails back.
        WriteConfig(withAddedService: true);
        Assert.Empty(_server.Builder.Reload());
        Assert.Equal("203.0.113.2", await AnswerAsync("fo.health.test"));
        AssertReadBySlot();

        // Reports after the reload reach the new service's answers and the old one's.
        Publish(primaryUp: true, addedUp: false);
        await UntilAnswerAsync("fo.health.test", "203.0.113.1");
        await UntilAnswerAsync("new.health.test", "203.0.113.12");
        AssertReadBySlot();
    }

    /// <summary>The state the answers read holds health by slot for the config they are answered with: no id lookups.</summary>
    private void AssertReadBySlot()
    {
        var snapshot = _server.Snapshots.Current;
        var health = Assert.IsType<ProbedHealth>(snapshot.State.Health);
        Assert.Same(snapshot.Gslb.Slots, health.Slots);
        Assert.All(snapshot.Gslb.Services.Values.SelectMany(s => s.Endpoints), e => Assert.Same(health.Slots, e.Slot.Table));
    }

    private void Publish(bool primaryUp, bool addedUp)
    {
        var now = DateTimeOffset.UtcNow;
        ProberReport Report(string prober, string region, bool primary) => new(
            new ProberInfo(prober, region, 0, 0, now),
            new Dictionary<string, EndpointObservation>(StringComparer.Ordinal)
            {
                [Primary] = Observation(primary, now),
                [Secondary] = Observation(true, now),
                [Added] = Observation(addedUp, now),
            },
            now);
        _server.HealthPublisher.OnReports([Report("p1", "eu", primaryUp), Report("p2", "us", primaryUp), Report("p3", "ap", true)]);
    }

    private static EndpointObservation Observation(bool up, DateTimeOffset at) => new(up, up ? 0 : 3, up ? 3 : 0, up ? 20 : null, at, up ? null : "refused");

    private async Task<string> AnswerAsync(string name)
    {
        var response = await Lookup.QueryAsync(_server.UdpListeners[0].LocalEndPoint, name, QueryType.A);
        Assert.False(response.HasError, response.ErrorMessage);
        return string.Join(",", response.Answers.OfType<ARecord>().Select(a => a.Address.ToString()));
    }

    private Task UntilAnswerAsync(string name, string expected) =>
        Deadline.PollAsync($"{name} answers {expected}", TimeSpan.FromSeconds(10), async () =>
        {
            var answer = await AnswerAsync(name);
            return (answer == expected, answer, answer);
        });

    private void WriteConfig(bool withAddedService)
    {
        var added = withAddedService
            ? """
              ,
                  "new": {
                    "policy": [{"type": "healthy"}, {"type": "failover"}],
                    "endpoints": [
                      {"dataCenter": "us-east", "address": "203.0.113.11", "priority": 1},
                      {"dataCenter": "eu-west", "address": "203.0.113.12", "priority": 2}
                    ]
                  }
              """
            : string.Empty;
        var path = Path.Combine(ZonesFolder, "health.test.gslb.json");
        File.WriteAllText(path + ".tmp", $$"""
            {
              "dataCenters": {
                "us-east": {"latitude": 39.04, "longitude": -77.49},
                "eu-west": {"latitude": 53.35, "longitude": -6.26}
              },
              "services": {
                "fo": {
                  "policy": [{"type": "healthy"}, {"type": "failover"}],
                  "endpoints": [
                    {"dataCenter": "us-east", "address": "203.0.113.1", "priority": 1},
                    {"dataCenter": "eu-west", "address": "203.0.113.2", "priority": 2}
                  ]
                }{{added}}
              }
            }
            """);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
