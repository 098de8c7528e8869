using System.Collections.Frozen;
using System.Net;
using System.Text.Json;
using ARSoft.Tools.Net.Dns;
using GslbDns.Consul;
using GslbDns.Reports;
using GslbDns.Server.Hosting;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.Core.Gslb.Answers;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using DnsServer = GslbDns.Server.Hosting.DnsServer;

namespace GslbDns.Tests.Core.Health;

/// <summary>
/// The DNS server reading prober reports from a real Consul agent: quorum, expiry of a dead prober's
/// reports with its session, and static stability when Consul goes away. The probers here are
/// stand-ins that write reports the way the prober does (same key, same session rules); the prober
/// process itself has its own tests.
/// </summary>
[Collection(ConsulDevAgentCollection.Name)]
public sealed class ConsulHealthTests : IAsyncLifetime
{
    private const string Failover = "fo.gslb.test";
    private const string Primary = "fo.gslb.test/us-east/203.0.113.1";
    private const string Secondary = "fo.gslb.test/eu-west/203.0.113.2";

    private readonly ConsulDevAgent _agent;
    private readonly GslbServerFixture _dns = new();
    private readonly string _prefix = $"t/health/{Guid.NewGuid():N}/";
    private ConsulClient _client = null!;

    public ConsulHealthTests(ConsulDevAgent agent)
    {
        _agent = agent;
    }

    public async Task InitializeAsync()
    {
        _client = _agent.CreateClient();
        _dns.ConsulAddresses = [_agent.HttpAddress];
        _dns.ConsulPrefix = _prefix;
        await _dns.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _dns.DisposeAsync();
        await _client.KvDeleteTreeAsync(_prefix);
    }

    [Fact]
    public async Task One_prober_of_three_seeing_a_data_center_down_causes_no_failover_two_do()
    {
        await using var p1 = StandIn("p1", "eu", primaryUp: false);
        await using var p2 = StandIn("p2", "us", primaryUp: true);
        await using var p3 = StandIn("p3", "ap", primaryUp: true);
        await UntilLiveProbersAsync(3);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("203.0.113.1", await AnswerAsync());
        }

        p2.PrimaryUp = false;
        await Deadline.UntilAsync("failover after a majority sees the primary down", TimeSpan.FromSeconds(5), async () =>
        {
            var answer = await AnswerAsync();
            return (answer == "203.0.113.2", answer);
        });
    }

    [Fact]
    public async Task A_dead_probers_reports_expire_with_its_session_and_quorum_moves_to_the_rest()
    {
        // Two probers see the primary down, one sees it up: 2 of 3, failed over.
        await using var p1 = StandIn("p1", "eu", primaryUp: false);
        await using var p2 = StandIn("p2", "us", primaryUp: true);
        var p3 = StandIn("p3", "ap", primaryUp: false);
        await UntilLiveProbersAsync(3);
        await Deadline.UntilAsync("failed over", TimeSpan.FromSeconds(5), async () =>
        {
            var answer = await AnswerAsync();
            return (answer == "203.0.113.2", answer);
        });

        // p3 dies: no more reports, no more renewals. It stops voting (its key deleted by Consul between 1x and 2x the
        // session TTL after the last renewal (setup-notes), or its report stale, whichever comes first). 1 of 2 is a tie,
        // which keeps the primary.
        await p3.DisposeAsync();
        await Deadline.UntilAsync("quorum over the two live probers restores the primary", TimeSpan.FromSeconds(10), async () =>
        {
            var answer = await AnswerAsync();
            var live = _dns.Server.HealthPublisher.Current.LiveProbers.Count;
            return (answer == "203.0.113.1" && live == 2, $"{answer}, live={live}");
        });
        await Deadline.UntilAsync("p3's key expires with its session", TimeSpan.FromSeconds(2 * StandInProber.Ttl.TotalSeconds + 5), async () =>
        {
            var pair = await _client.KvGetAsync(HealthKeys.ProberReport(_prefix, "p3"));
            return (pair is null, pair is null ? "gone" : "still there");
        });
    }

    [Fact]
    public async Task Losing_every_prober_keeps_the_last_verdicts()
    {
        var solo = StandIn("solo", "eu", primaryUp: false);
        await Deadline.UntilAsync("primary failed over", TimeSpan.FromSeconds(5), async () =>
        {
            var answer = await AnswerAsync();
            return (answer == "203.0.113.2", answer);
        });

        await solo.DisposeAsync(destroySession: true);
        await Deadline.UntilAsync("no live prober", TimeSpan.FromSeconds(5), () =>
            Task.FromResult((_dns.Server.HealthPublisher.Current.LiveProbers.Count == 0, $"live={_dns.Server.HealthPublisher.Current.LiveProbers.Count}")));

        // Static stability: with nobody probing, the last known verdict stands.
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("203.0.113.2", await AnswerAsync());
        }

        Assert.False(_dns.Server.Snapshots.Current.State.Health[Primary]);
    }

    private async Task<string> AnswerAsync()
    {
        var reply = await _dns.QueryAsync(Failover, RecordType.A);
        Assert.Equal(ReturnCode.NoError, reply.ReturnCode);
        return Assert.Single(reply.AnswerRecords.OfType<ARecord>()).Address.ToString();
    }

    private async Task UntilLiveProbersAsync(int count)
        => await Deadline.UntilAsync($"{count} live probers", TimeSpan.FromSeconds(5), () =>
            Task.FromResult((_dns.Server.HealthPublisher.Current.LiveProbers.Count == count, $"live={_dns.Server.HealthPublisher.Current.LiveProbers.Count}")));

    private StandInProber StandIn(string id, string region, bool primaryUp) => new(_client, _prefix, id, region) { PrimaryUp = primaryUp };

    /// <summary>
    /// Publishes reports the way the prober does: JSON under probers/ID, acquired by a session with a
    /// TTL that it renews, every half second, until it dies.
    /// </summary>
    private sealed class StandInProber : IAsyncDisposable
    {
        /// <summary>
        /// The fleet probers' TTL (the agent allows 1 s minimum): a dead stand-in's key goes 2-4 s after its last renewal,
        /// where 10 s cost the expiry test up to 20 s of waiting. Renewed every half second, a live one has 4 renewals per TTL.
        /// </summary>
        public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);

        private readonly ConsulClient _client;
        private readonly string _key;
        private readonly string _id;
        private readonly string _region;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private string? _session;

        public StandInProber(ConsulClient client, string prefix, string id, string region)
        {
            _client = client;
            _id = id;
            _region = region;
            _key = HealthKeys.ProberReport(prefix, id);
            _loop = RunAsync();
        }

        private volatile bool _primaryUp;

        public bool PrimaryUp
        {
            get => _primaryUp;
            set => _primaryUp = value;
        }

        private async Task RunAsync()
        {
            _session = await _client.SessionCreateAsync($"prober-{_id}", Ttl);
            while (!_stop.IsCancellationRequested)
            {
                await _client.SessionRenewAsync(_session);
                var report = QuorumHealthTests.Report(_id, _region, DateTimeOffset.UtcNow, (Primary, PrimaryUp, PrimaryUp ? 10.0 : null), (Secondary, true, 20.0));
                var json = JsonSerializer.SerializeToUtf8Bytes(report, HealthJsonContext.Default.ProberReport);
                await _client.KvAcquireAsync(_key, json, _session);
                try
                {
                    await Task.Delay(500, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        public ValueTask DisposeAsync() => DisposeAsync(destroySession: false);

        public async ValueTask DisposeAsync(bool destroySession)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            await _stop.CancelAsync();
            await _loop;
            if (destroySession && _session is not null)
            {
                await _client.SessionDestroyAsync(_session);
            }
        }
    }
}
