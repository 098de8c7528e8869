using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ARSoft.Tools.Net.Dns;
using GslbDns.Api;
using GslbDns.Api.Auth;
using GslbDns.Consul;
using GslbDns.Server.Hosting;
using GslbDns.State;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using DnsServer = GslbDns.Server.Hosting.DnsServer;

namespace GslbDns.Tests.Api;

/// <summary>
/// A weight change through the API shifts the answers a real DNS server gives, measured with real UDP
/// queries, within a second: through Consul (API and DNS server each with their own store client and
/// snapshot, as separate processes would be) and in embedded mode (one process, SQLite).
/// </summary>
[Collection(ApiConsulCollection.Name)]
public sealed class EndToEndTests
{
    private static readonly TimeSpan ApplyBudget = TimeSpan.FromSeconds(1);
    private readonly ConsulDevAgent _consul;

    public EndToEndTests(ConsulDevAgent consul)
    {
        _consul = consul;
    }

    [Fact]
    public async Task Through_Consul_a_weight_change_shifts_the_DNS_answers_within_a_second()
    {
        var prefix = ConsulTestSupport.UniquePrefix("api-e2e");
        await using var api = await InProcessApi.StartAsync("consul", _consul, prefix);

        // The DNS server, wired as in Consul mode: its own Consul client, store and watcher.
        await using var server = StartDnsServer(api.ZonesFolder, [_consul.HttpAddress], prefix);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var store = new ConsulOperatorStateStore(new ConsulClient(http, new ConsulClientOptions { Addresses = [_consul.HttpAddress] }), prefix);
        await using var watcher = new OperatorStateWatcher(store, new OperatorStatePublisher(server.Snapshots), NullLogger.Instance);
        watcher.Start();
        await Deadline.UntilAsync("the DNS server's state watch", TimeSpan.FromSeconds(10), () => Task.FromResult((watcher.Connected, "not connected")));

        await AssertWeightChangeShiftsAnswersAsync(api.Http, InProcessApi.OperatorToken, server.UdpListeners[0].LocalEndPoint);
    }

    [Fact]
    public async Task Embedded_a_weight_change_shifts_the_DNS_answers_within_a_second()
    {
        using var folder = new TempFolder("api-e2e-embedded");
        var zones = folder.Folder("zones");
        ApiTestZones.Write(zones);
        var tokens = folder.File("tokens");
        File.WriteAllText(tokens, $"operator {InProcessApi.OperatorToken} alice\nread {InProcessApi.ReadToken}\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tokens, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        // What the DNS server does in embedded mode: one call, against its own snapshot, engine and health.
        await using var server = StartDnsServer(zones, [], GslbDns.Reports.HealthKeys.DefaultPrefix);
        await using var embedded = await EmbeddedApi.StartAsync(
            new EmbeddedApiOptions { StateFolder = folder.Folder("state"), Listen = [new IPEndPoint(IPAddress.Loopback, 0)], TokensFile = tokens, Logger = Serilog.Core.Logger.None },
            server.Snapshots,
            server.Engine,
            server.HealthPublisher);
        using var client = new HttpClient { BaseAddress = embedded.Host.BaseAddress };

        await AssertWeightChangeShiftsAnswersAsync(client, InProcessApi.OperatorToken, server.UdpListeners[0].LocalEndPoint);

        // Non-loopback addresses are refused in embedded mode.
        await Assert.ThrowsAsync<ArgumentException>(() => ApiHost.StartAsync(
            new ApiHostOptions { Listen = [new IPEndPoint(IPAddress.Any, 0)], LoopbackOnly = true, Tokens = ApiTokens.FromTokens() },
            embedded.Store,
            server.Snapshots,
            server.Engine,
            null,
            embedded.Watcher));
    }

    private static DnsServer StartDnsServer(string zones, IReadOnlyList<Uri> consul, string prefix)
    {
        var server = new DnsServer(
            new ServerOptions
            {
                ZonesFolder = zones,
                DnsEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)],
                UdpThreads = 1,
                MetricsEndPoint = null,
                WatchZones = false,
                ConsulAddresses = consul,
                ConsulPrefix = prefix,
            },
            NullLoggerFactory.Instance);
        server.Start();
        return server;
    }

    private static async Task AssertWeightChangeShiftsAnswersAsync(HttpClient api, string token, IPEndPoint dns)
    {
        // Before: weights 100/100/100, all three data centers answer.
        var before = await CountAsync(dns, 300);
        Assert.True(before.Keys.Count == 3 && before.Values.All(n => n >= 40), Describe(before));

        // dc-a to weight 0: from the acknowledgement on, it must stop being answered within a second.
        using (var put = await ApiCalls.SendAsync(api, HttpMethod.Put, ApiCalls.EndpointPath(ApiTestZones.WeightedId("dc-a")) + "/weight", token, new { weight = 0, reason = "e2e" }))
        {
            Assert.True(put.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(put));
        }

        var clock = Stopwatch.StartNew();
        await Deadline.UntilAsync("dc-a to leave the answers", ApplyBudget, async () =>
        {
            var batch = await CountAsync(dns, 20);
            return (!batch.ContainsKey("dc-a"), Describe(batch));
        }, TimeSpan.Zero);
        var shifted = clock.Elapsed;
        Assert.True(shifted <= ApplyBudget, $"the answers shifted after {shifted.TotalMilliseconds:0} ms");
        var after = await CountAsync(dns, 300);
        Assert.False(after.ContainsKey("dc-a"), Describe(after));

        // dc-a to 1000 against 100 and 100: it should get 1000/1200 of the answers (within 5 standard deviations).
        using (var put = await ApiCalls.SendAsync(api, HttpMethod.Put, ApiCalls.EndpointPath(ApiTestZones.WeightedId("dc-a")) + "/weight", token, new { weight = 1000, reason = "e2e" }))
        {
            Assert.True(put.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(put));
        }

        clock.Restart();
        await Deadline.UntilAsync("dc-a to come back", ApplyBudget, async () =>
        {
            var batch = await CountAsync(dns, 20);
            return (batch.GetValueOrDefault("dc-a") >= 10, Describe(batch));
        }, TimeSpan.Zero);
        var heavy = await CountAsync(dns, 600);
        var share = heavy.GetValueOrDefault("dc-a") / 600.0;
        Assert.InRange(share, 0.76, 0.91);
    }

    private static string Describe(Dictionary<string, int> counts) => string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}"));

    /// <summary>Sends <paramref name="queries"/> A queries for the weighted service, one UDP socket each, and counts answers by data center.</summary>
    private static async Task<Dictionary<string, int>> CountAsync(IPEndPoint dns, int queries)
    {
        var byAddress = new[] { "dc-a", "dc-b", "dc-c" }.ToDictionary(ApiTestZones.WeightedAddress, dc => dc);
        var counts = new Dictionary<string, int>();
        using var udp = new UdpClient(AddressFamily.InterNetwork);
        udp.Connect(dns);
        for (var i = 0; i < queries; i++)
        {
            var id = (ushort)Random.Shared.Next(ushort.MaxValue);
            var packet = GslbDns.Answers.Explainer.BuildQuery(GslbDns.Dns.DnsName.Parse(ApiTestZones.Weighted + "."), (ushort)RecordType.A, IPAddress.Parse("198.51.100.0"), 24, id);
            await udp.SendAsync(packet);
            DnsMessage reply;
            do
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                reply = DnsMessage.Parse((await udp.ReceiveAsync(timeout.Token)).Buffer);
            }
            while (reply.TransactionID != id);

            var address = Assert.Single(reply.AnswerRecords.OfType<ARecord>()).Address.ToString();
            counts[byAddress[address]] = counts.GetValueOrDefault(byAddress[address]) + 1;
        }

        return counts;
    }
}
