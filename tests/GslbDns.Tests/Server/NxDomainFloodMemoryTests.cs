using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using GslbDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace GslbDns.Tests.Server;

/// <summary>
/// A random-subdomain (NXDOMAIN) flood against the real server process grows nothing: the managed heap, the bytes
/// allocated (from /metrics) and the resident set (from /proc) are measured after a warm-up and after the flood; and
/// the process has no OpenSSL mapped.
/// </summary>
public sealed partial class NxDomainFloodMemoryTests(ITestOutputHelper output)
{
    private const int WarmUp = 30_000;
    private const int Flood = 100_000;

    [GeneratedRegex("""^(gslbdns_gc_heap_bytes|gslbdns_gc_allocated_bytes_total) ([0-9.e+]+)$""", RegexOptions.Multiline)]
    private static partial Regex MemoryMetric();

    [GeneratedRegex(@"^VmRSS:\s+(\d+) kB", RegexOptions.Multiline)]
    private static partial Regex Rss();

    private sealed record Memory(double Heap, double Allocated, long RssBytes)
    {
        public override string ToString() => $"heap {Heap / 1048576:0.00} MiB, allocated {Allocated / 1048576:0.00} MiB, RSS {RssBytes / 1048576.0:0.00} MiB";
    }

    private static async Task<Memory> MeasureAsync(HttpClient http, Uri metrics, int pid)
    {
        var text = await http.GetStringAsync(metrics);
        var values = MemoryMetric().Matches(text).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        var status = await File.ReadAllTextAsync($"/proc/{pid}/status");
        var rss = long.Parse(Rss().Match(status).Groups[1].Value, CultureInfo.InvariantCulture) * 1024;
        return new Memory(values["gslbdns_gc_heap_bytes"], values["gslbdns_gc_allocated_bytes_total"], rss);
    }

    /// <summary>Sends <paramref name="count"/> queries for random names under example.test in windows of 256, each window answered before the next.</summary>
    private static async Task<int> FloodAsync(IPEndPoint server, int count)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(server);
        var buffer = new byte[4096];
        var nxdomain = 0;
        for (var sent = 0; sent < count;)
        {
            var window = Math.Min(256, count - sent);
            for (var i = 0; i < window; i++)
            {
                var label = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()));
                socket.Send(DnsWire.Query($"{label}.example.test", DnsWire.TypeA, (ushort)(sent + i)));
            }

            sent += window;
            for (var i = 0; i < window; i++)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                nxdomain += (buffer[3] & 0xF) == 3 && n > 12 ? 1 : 0;
            }
        }

        return nxdomain;
    }

    [Fact]
    public async Task A_random_subdomain_flood_grows_neither_the_heap_nor_the_resident_set()
    {
        using var zones = new TempFolder("nxflood");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        using var server = await ServerProcess.StartAsync(zones.Path, "example.test", ["--udp-threads", "1", "--no-watch", "--no-prober", "--api", "off"], withMetrics: true, log: output.WriteLine);
        var dns = server.Dns;
        var metrics = server.Metrics!;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        Assert.Equal(WarmUp, await FloodAsync(dns, WarmUp));
        await MeasureAsync(http, metrics, server.Process.Pid); // the first scrape warms the metrics code too
        var before = await MeasureAsync(http, metrics, server.Process.Pid);
        Assert.Equal(Flood, await FloodAsync(dns, Flood));
        var after = await MeasureAsync(http, metrics, server.Process.Pid);
        output.WriteLine($"after {WarmUp} warm-up queries: {before}");
        output.WriteLine($"after {Flood} more NXDOMAIN queries: {after}");
        output.WriteLine($"allocated per query: {(after.Allocated - before.Allocated) / Flood:0.00} bytes");

        // Tolerances: a scrape allocates a few tens of KiB, and the runtime's own timers a little; a per-query leak of even
        // 20 bytes (one small object) would be 2 MB here.
        Assert.True(after.Allocated - before.Allocated < 1_000_000, $"{after.Allocated - before.Allocated:0} bytes allocated during the flood");
        Assert.True(after.Heap - before.Heap < 2_000_000, $"heap grew {after.Heap - before.Heap:0} bytes");
        Assert.True(after.RssBytes - before.RssBytes < 8 * 1048576, $"RSS grew {after.RssBytes - before.RssBytes} bytes");

        // Default settings (cookies on, a zone loaded and reloadable) use no cryptography: OpenSSL mapped in would be
        // ~5 MiB of resident memory (libcrypto, libssl, System.Security.Cryptography) for a secret and a content hash.
        var maps = await File.ReadAllLinesAsync($"/proc/{server.Process.Pid}/maps");
        Assert.DoesNotContain(maps, line => line.Contains("libcrypto", StringComparison.Ordinal) || line.Contains("libssl", StringComparison.Ordinal));
    }
}
