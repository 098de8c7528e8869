using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GslbDns.Consul;
using static GslbDns.Tests.Core.Consul.ConsulTestSupport;

namespace GslbDns.Tests.Core.Consul;

[Collection(ConsulDevAgentCollection.Name)]
public sealed class ConsulFailoverTests(ConsulDevAgent agent)
{
    private static Uri DeadAddress() => new($"http://127.0.0.1:{FreePorts.Take(1)[0]}/");

    [Fact]
    public async Task Refused_first_address_fails_over_and_the_working_one_is_remembered()
    {
        var logger = new ListLogger<ConsulClient>();
        var client = Client([DeadAddress(), agent.HttpAddress], logger: logger);
        var key = UniquePrefix("failover") + "k";

        await client.KvPutAsync(key, Utf8("v"));
        Assert.Equal(agent.HttpAddress, client.CurrentAddress);
        Assert.Contains(logger.Lines, l => l.Contains("trying the next agent"));

        // Remembered: later calls go straight to the working agent, no new failure logged.
        var failures = logger.Lines.Count(l => l.Contains("trying the next agent"));
        Assert.Equal("v", Text(await client.KvGetAsync(key)));
        Assert.Equal(failures, logger.Lines.Count(l => l.Contains("trying the next agent")));
    }

    [Fact]
    public async Task Hung_first_address_times_out_then_fails_over()
    {
        // Accepts TCP (the kernel completes the handshake into the backlog) but never answers HTTP.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var hung = new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/");
        var client = Client([hung, agent.HttpAddress], requestTimeout: TimeSpan.FromMilliseconds(500));

        var clock = Stopwatch.StartNew();
        Assert.NotNull(await client.StatusLeaderAsync());
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(3));
        Assert.Equal(agent.HttpAddress, client.CurrentAddress);

        clock.Restart();
        Assert.NotNull(await client.StatusLeaderAsync());
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(450), $"second call took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_5xx_from_one_agent_fails_over_to_the_next()
    {
        // A second real agent that keeps Consul's default 10 s session_ttl_min: it answers a 2 s TTL with
        // 500 "Invalid Session TTL", which the shared agent (1 s minimum) accepts.
        var strict = new ConsulDevAgent("session_ttl_min = \"10s\"", null);
        await strict.InitializeAsync();
        try
        {
            var logger = new ListLogger<ConsulClient>();
            var client = Client([strict.HttpAddress, agent.HttpAddress], logger: logger);
            var id = await client.SessionCreateAsync("failover", TimeSpan.FromSeconds(2));
            Assert.Equal(agent.HttpAddress, client.CurrentAddress);
            Assert.Contains(logger.Lines, l => l.Contains("Invalid Session TTL"));
            await client.SessionDestroyAsync(id);

            // Every agent answering 5xx is an API error carrying the last status, not "unreachable".
            var ex = await Assert.ThrowsAsync<ConsulException>(() => Client([strict.HttpAddress]).SessionCreateAsync("x", TimeSpan.FromSeconds(2)));
            Assert.False(ex.IsUnreachable);
            Assert.Equal(HttpStatusCode.InternalServerError, ex.StatusCode);
        }
        finally
        {
            await strict.DisposeAsync();
        }
    }

    [Fact]
    public async Task All_addresses_dead_is_unreachable_without_status()
    {
        var dead = new[] { DeadAddress(), DeadAddress() };
        var client = Client(dead);
        var ex = await Assert.ThrowsAsync<ConsulException>(() => client.KvGetAsync("k"));
        Assert.True(ex.IsUnreachable);
        Assert.Null(ex.StatusCode);
        Assert.Null(ex.ConsulMessage);
        Assert.Contains(dead[0].Authority, ex.Message);
        Assert.Contains(dead[1].Authority, ex.Message);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_failover()
    {
        var logger = new ListLogger<ConsulClient>();
        var client = Client([agent.HttpAddress, DeadAddress()], logger: logger);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.KvGetAsync("k", cts.Token));
        Assert.Empty(logger.Lines);
        Assert.Equal(agent.HttpAddress, client.CurrentAddress);
    }
}
