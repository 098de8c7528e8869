using System.Collections.Concurrent;
using System.Net;
using GslbDns.Server.Hosting;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// Zone reloads on a running server: explicit (what SIGHUP does), through the file watcher, a bad edit that must
/// leave the last good data serving, and queries racing 50 reloads that must never see half of a change.
/// Each test has its own server and zone folder, since they rewrite zones.
/// </summary>
public sealed class ReloadTests
{
    private const string Mix0 = """
        $ORIGIN example.test.
        $TTL 60
        @    IN SOA ns1 hostmaster ( 1 3600 900 604800 60 )
             IN NS  ns1
        ns1  IN A   127.0.0.1
        mix  IN A   10.0.0.1
             IN A   10.0.0.2
        ver  IN TXT "v0"

        """;

    private static string Version(int version) => Mix0
        .Replace("10.0.0.", $"10.{version % 2}.0.", StringComparison.Ordinal)
        .Replace("\"v0\"", $"\"v{version % 2}\"", StringComparison.Ordinal)
        .Replace("( 1 ", $"( {version + 1} ", StringComparison.Ordinal);

    private static readonly string[][] MixSets = [["10.0.0.1", "10.0.0.2"], ["10.1.0.1", "10.1.0.2"]];

    private sealed class ReloadServer : IAsyncDisposable
    {
        private readonly TempFolder _zones;

        private ReloadServer(TempFolder zones, DnsServer server)
        {
            _zones = zones;
            Server = server;
        }

        public DnsServer Server { get; }

        public IPEndPoint EndPoint => Server.UdpListeners[0].LocalEndPoint;

        public string Example => _zones.File("example.test.zone");

        public string Other => _zones.File("other.test.zone");

        public static async Task<ReloadServer> StartAsync(bool watch)
        {
            var zones = new TempFolder("reload");
            File.WriteAllText(zones.File("example.test.zone"), Mix0);
            File.WriteAllText(zones.File("other.test.zone"), TestZones.OtherZone());
            var server = await InProcessServer.StartAsync(InProcessServer.Options(zones.Path) with { WatchZones = watch });
            return new ReloadServer(zones, server);
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            _zones.Dispose();
        }
    }

    private static async Task<string[]> AddressesAsync(IPEndPoint server, string name)
    {
        var reply = await RawDnsClient.UdpQueryAsync(server, name, DnsWire.TypeA);
        return [.. reply.Answers.Where(a => a.Type == DnsWire.TypeA).Select(a => a.Address.ToString()).Order()];
    }

    [Fact]
    public async Task Explicit_reload_serves_the_rewritten_zone_at_once()
    {
        await using var s = await ReloadServer.StartAsync(watch: false);
        Assert.Equal(MixSets[0], await AddressesAsync(s.EndPoint, "mix.example.test"));

        TestZones.WriteAtomically(s.Example, Version(1).Replace("ver  IN TXT", "new  IN A 10.9.9.9\nver  IN TXT", StringComparison.Ordinal));
        Assert.Empty(s.Server.Builder.Reload());
        Assert.Empty(s.Server.Builder.LastErrors);
        Assert.Equal(MixSets[1], await AddressesAsync(s.EndPoint, "mix.example.test"));
        Assert.Equal(["10.9.9.9"], await AddressesAsync(s.EndPoint, "new.example.test"));

        // A removed zone stops being served: REFUSED, not stale data.
        File.Delete(s.Other);
        Assert.Empty(s.Server.Builder.Reload());
        Assert.Equal(5, (await RawDnsClient.UdpQueryAsync(s.EndPoint, "www.other.test", DnsWire.TypeA)).Rcode);
    }

    [Fact]
    public async Task File_watcher_picks_up_an_edit_without_a_signal()
    {
        await using var s = await ReloadServer.StartAsync(watch: true);
        Assert.Equal([TestZones.OtherWww], await AddressesAsync(s.EndPoint, "www.other.test"));

        // In place, as an editor that truncates and writes would.
        File.WriteAllText(s.Other, TestZones.OtherZone(www: "198.51.100.77"));
        await Deadline.UntilAsync("the watcher reloading other.test", TimeSpan.FromSeconds(10), async () =>
        {
            var seen = await AddressesAsync(s.EndPoint, "www.other.test");
            return (seen.SequenceEqual(["198.51.100.77"]), string.Join(",", seen));
        }, TimeSpan.FromMilliseconds(50));

        // By rename, as careful tools do.
        TestZones.WriteAtomically(s.Example, Version(1));
        await Deadline.UntilAsync("the watcher reloading example.test", TimeSpan.FromSeconds(10), async () =>
        {
            var seen = await AddressesAsync(s.EndPoint, "mix.example.test");
            return (seen.SequenceEqual(MixSets[1]), string.Join(",", seen));
        }, TimeSpan.FromMilliseconds(50));

        // A new zone file appears.
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(s.Example)!, "2.0.192.in-addr.arpa.zone"), TestZones.ReverseZone);
        await Deadline.UntilAsync("the watcher loading a new zone", TimeSpan.FromSeconds(10), async () =>
        {
            var reply = await RawDnsClient.UdpQueryAsync(s.EndPoint, "10.2.0.192.in-addr.arpa", DnsWire.TypePTR);
            return (reply.Rcode == 0 && reply.Answers.Count == 1, reply.ToString());
        }, TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Bad_edit_keeps_the_old_data_serving_names_file_and_line_and_other_zones_move_on()
    {
        await using var s = await ReloadServer.StartAsync(watch: false);

        // Line 8 gets a type that does not exist; other.test gets a good change in the same reload.
        var lines = Version(1).Split('\n').ToList();
        lines.Insert(7, "broken IN AAA 192.0.2.1");
        TestZones.WriteAtomically(s.Example, string.Join('\n', lines));
        TestZones.WriteAtomically(s.Other, TestZones.OtherZone(www: "198.51.100.88"));
        var errors = s.Server.Builder.Reload();

        var error = Assert.Single(s.Server.Builder.LastErrors);
        Assert.Equal(errors, s.Server.Builder.LastErrors);
        Assert.Equal("example.test.zone", Path.GetFileName(error.File));
        Assert.Equal(8, error.Line);
        Assert.Contains("AAA", error.Reason, StringComparison.Ordinal);
        Assert.Contains("example.test.zone:8", error.ToString(), StringComparison.Ordinal);

        Assert.Equal(MixSets[0], await AddressesAsync(s.EndPoint, "mix.example.test")); // the last good version
        Assert.Equal(["198.51.100.88"], await AddressesAsync(s.EndPoint, "www.other.test"));
        Assert.Equal(3, (await RawDnsClient.UdpQueryAsync(s.EndPoint, "broken.example.test", DnsWire.TypeA)).Rcode);

        // Fixed: served, and the error is gone.
        TestZones.WriteAtomically(s.Example, Version(1));
        Assert.Empty(s.Server.Builder.Reload());
        Assert.Empty(s.Server.Builder.LastErrors);
        Assert.Equal(MixSets[1], await AddressesAsync(s.EndPoint, "mix.example.test"));
    }

    [Fact]
    public async Task Queries_racing_50_reloads_see_the_old_or_the_new_RRset_never_a_mix()
    {
        await using var s = await ReloadServer.StartAsync(watch: false);
        using var stop = new CancellationTokenSource();
        var seen = new ConcurrentDictionary<string, int>();
        var bad = new ConcurrentQueue<string>();

        async Task QueryLoop(bool tcp)
        {
            while (!stop.IsCancellationRequested)
            {
                var reply = tcp
                    ? await RawDnsClient.TcpQueryAsync(s.EndPoint, "mix.example.test", DnsWire.TypeA)
                    : await RawDnsClient.UdpQueryAsync(s.EndPoint, "mix.example.test", DnsWire.TypeA);
                var set = string.Join(",", reply.Answers.Select(a => a.Address.ToString()).Order());
                if (reply.Rcode != 0 || !MixSets.Any(m => string.Join(",", m) == set))
                {
                    bad.Enqueue($"rcode {reply.Rcode}, [{set}]");
                }

                seen.AddOrUpdate(set, 1, (_, n) => n + 1);
            }
        }

        var loops = new[] { Task.Run(() => QueryLoop(false)), Task.Run(() => QueryLoop(false)), Task.Run(() => QueryLoop(true)) };
        var start = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 1; i <= 50; i++)
        {
            // Same size each time, so give every version its own write time: the catalog skips files whose
            // size and time are unchanged, and two writes within one clock tick can share a time.
            TestZones.WriteAtomically(s.Example, Version(i), start.AddSeconds(i));
            Assert.Empty(s.Server.Builder.Reload());
            Assert.Equal(MixSets[i % 2], await AddressesAsync(s.EndPoint, "mix.example.test"));
        }

        await stop.CancelAsync();
        await Deadline.Within(Task.WhenAll(loops), TimeSpan.FromSeconds(10), "query loops");
        Assert.True(bad.IsEmpty, string.Join("\n", bad.Take(20)));
        Assert.NotEmpty(seen);
    }
}
