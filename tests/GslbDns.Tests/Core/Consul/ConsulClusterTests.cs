using System.Diagnostics;
using GslbDns.Consul;
using Xunit.Abstractions;
using static GslbDns.Tests.Core.Consul.ConsulTestSupport;

namespace GslbDns.Tests.Core.Consul;

/// <summary>A 3-server cluster; the one test here kills its leader.</summary>
public sealed class ConsulClusterTests(ConsulCluster cluster, ITestOutputHelper output) : IClassFixture<ConsulCluster>
{
    [Fact]
    public async Task Client_on_all_servers_keeps_working_after_the_leader_is_killed()
    {
        // The leader first, so the client is using exactly the server that dies.
        var leader = await cluster.LeaderAsync();
        var ordered = new[] { leader }.Concat(Enumerable.Range(0, ConsulCluster.Size).Where(i => i != leader)).ToArray();
        var client = Client(ordered.Select(i => cluster.HttpAddresses[i]), requestTimeout: TimeSpan.FromSeconds(2));

        Assert.Equal(ConsulCluster.Size, (await client.StatusPeersAsync()).Count);
        var prefix = UniquePrefix("cluster");
        await client.KvPutAsync(prefix + "before", Utf8("v1"));
        Assert.Equal(cluster.HttpAddresses[leader], client.CurrentAddress);

        var killed = await cluster.KillLeaderAsync();
        var clock = Stopwatch.StartNew();

        // What a caller does: retry with backoff. During the election the survivors answer 500
        // "No cluster leader" and the dead one refuses, so each attempt fails over through all three.
        var attempts = 0;
        while (true)
        {
            attempts++;
            try
            {
                // A plain put is idempotent, so repeating one whose answer was lost is harmless.
                await client.KvPutAsync(prefix + "after", Utf8("v2"));
                break;
            }
            catch (ConsulException) when (clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }
        }

        var writable = clock.Elapsed;
        var newLeader = await cluster.WaitForNewLeaderAsync(killed, TimeSpan.FromSeconds(30));
        output.WriteLine($"killed server {killed}; writable again after {writable.TotalSeconds:F1} s and {attempts} attempts; new leader {newLeader}");

        Assert.NotEqual(killed, newLeader);
        Assert.NotEqual(cluster.HttpAddresses[killed], client.CurrentAddress);
        Assert.Equal("v1", Text(await client.KvGetAsync(prefix + "before")));
        Assert.Equal("v2", Text(await client.KvGetAsync(prefix + "after")));
        Assert.Equal(ConsulCluster.Size, (await client.StatusPeersAsync()).Count); // the dead one is still a voter

        // Blocking queries work against the new leader too.
        var watchStart = await client.KvGetAsync(prefix + "after", new ConsulBlockingQuery(0, TimeSpan.FromSeconds(1)));
        var watch = client.KvGetAsync(prefix + "after", new ConsulBlockingQuery(watchStart.Index, TimeSpan.FromSeconds(20)));
        await client.KvPutAsync(prefix + "after", Utf8("v3"));
        Assert.Equal("v3", Text((await watch.WaitAsync(TimeSpan.FromSeconds(5))).Value));
    }
}
