using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using GslbDns.Dnssec;
using GslbDns.Server.Hosting;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// A ZSK rollover with second-scale timings (TTL 1 s, --dnssec-max-ttl 1, --dnssec-propagation-delay 1) started by
/// the real <c>gslbdns dnssec-rollover</c> command against a running server, while a validating Unbound (trust
/// anchor: the KSK; every cache capped at 1 s) resolves a positive answer, a compact-denial NXDOMAIN (NOERROR and an NSEC with NXNAME, RFC 9824) and the DNSKEY
/// RRset one after another, each as soon as the last is answered: every answer from before the rollover until the old key is gone must validate.
/// </summary>
public sealed class DnssecRolloverTests
{
    private const string Zone = "roll.test";
    private const ushort AuthenticData = 0x0020;
    private const ushort Dnskey = 48;
    private const ushort Rrsig = 46;

    [Fact]
    public async Task A_ZSK_rollover_under_a_validating_resolver_never_fails_validation_and_ends_with_only_the_new_ZSK()
    {
        using var folder = new TempFolder("dnssec-roll");
        var zones = folder.Folder("zones");
        File.WriteAllText(Path.Combine(zones, "roll.test.zone"), """
            $ORIGIN roll.test.
            $TTL 1
            @ 1 IN SOA ns1 hostmaster 1 3600 600 86400 1
              IN NS ns1
            ns1 IN A 127.0.0.1
            www IN A 192.0.2.1
            """);
        var keys = Path.Combine(folder.Path, "state", "dnssec");
        var options = InProcessServer.Options(zones, new IPEndPoint(IPAddress.Loopback, 0)) with
        {
            DnssecZones = [GslbDns.Dns.DnsName.Parse(Zone + ".")],
            DnssecKeysFolder = keys,
            DnssecTimings = new RolloverTimings(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromDays(30)),
            EmbeddedProber = false,
            ApiEndPoint = null,
            StateFolder = Path.Combine(folder.Path, "state"),
        };
        await using var server = await InProcessServer.StartAsync(options);
        var authority = server.UdpListeners[0].LocalEndPoint;

        var before = await DnskeySet(authority, Zone);
        var ksk = Convert.ToBase64String(Assert.Single(before, k => k.Flags == 257).Key);
        var oldZsk = Assert.Single(before, k => k.Flags == 256).Tag;
        var (unbound, resolver) = await UnboundProcess.StartAsync(folder, port => UnboundConfig(folder.Path, port, Zone, ksk, (Zone, authority)), Zone);
        using var _ = unbound;

        using var stop = new CancellationTokenSource();
        var answers = new List<string>();
        var failures = new List<string>();
        var resolving = Task.Run(() => ResolveContinuouslyAsync(resolver, [("www.roll.test", DnsWire.TypeA), ("nope.roll.test", DnsWire.TypeA), (Zone, Dnskey)], answers, failures, stop.Token));

        // Validated answers before the rollover starts, so the resolver holds the old DNSKEY RRset and signatures.
        await Deadline.UntilAsync("validated answers before the rollover", TimeSpan.FromSeconds(5), () => Task.FromResult((Count(answers) >= 6, $"{Count(answers)} answers")), TimeSpan.FromMilliseconds(50));

        var started = await ChildProcess.RunAsync(RepoLayout.DotnetHost, [RepoLayout.ServerDll, "dnssec-rollover", "--dnssec-zone", Zone, "--dnssec-keys", keys, "--key", "zsk", "--dnssec-max-ttl", "1", "--dnssec-propagation-delay", "1"], TimeSpan.FromSeconds(30));
        Assert.True(started.ExitCode == 0, started.ToString());
        Assert.Contains($"ZSK {oldZsk} active", started.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(" published published ", started.StandardOutput, StringComparison.Ordinal);

        // Pre-publication: the new ZSK is in the DNSKEY RRset while the old one still signs.
        IReadOnlyList<(ushort Flags, ushort Tag, byte[] Key)> published = [];
        await Deadline.UntilAsync("the new ZSK published", TimeSpan.FromSeconds(5), async () =>
        {
            published = await DnskeySet(authority, Zone);
            return (published.Count(k => k.Flags == 256) == 2, Describe(published));
        }, TimeSpan.FromMilliseconds(50));
        var newZsk = Assert.Single(published, k => k.Flags == 256 && k.Tag != oldZsk).Tag;
        Assert.Equal(oldZsk, await SigningTag(authority));

        // DNSKEY TTL + propagation later the new one signs, and the old one stays published (retired).
        await Deadline.UntilAsync("the new ZSK signing", TimeSpan.FromSeconds(6), async () =>
        {
            var tag = await SigningTag(authority);
            return (tag == newZsk, $"signed by {tag}, waiting for {newZsk}");
        }, TimeSpan.FromMilliseconds(50));
        Assert.Contains(await DnskeySet(authority, Zone), k => k.Tag == oldZsk);

        // Max TTL + propagation after that the old key leaves the DNSKEY RRset: KSK and the new ZSK only.
        IReadOnlyList<(ushort Flags, ushort Tag, byte[] Key)> after = [];
        await Deadline.UntilAsync("the old ZSK removed", TimeSpan.FromSeconds(6), async () =>
        {
            after = await DnskeySet(authority, Zone);
            return (after.All(k => k.Tag != oldZsk), Describe(after));
        }, TimeSpan.FromMilliseconds(50));
        Assert.Equal([(256, newZsk), (257, before.Single(k => k.Flags == 257).Tag)], after.Select(k => ((int)k.Flags, k.Tag)).Order());
        Assert.False(File.Exists(Path.Combine(keys, Zone, "zsk.pem")));

        // Resolution through the resolver's next refresh of everything (caches capped at 1 s) after the removal.
        var atRemoval = Count(answers);
        await Deadline.UntilAsync("answers after the removal", TimeSpan.FromSeconds(5), () => Task.FromResult((Count(answers) >= atRemoval + 15, $"{Count(answers) - atRemoval} answers")), TimeSpan.FromMilliseconds(50));
        await stop.CancelAsync();
        await resolving;

        lock (failures)
        {
            Assert.True(failures.Count == 0, $"{failures.Count} of {Count(answers)} answers did not validate:\n{string.Join("\n", failures.Take(10))}\n{unbound.Describe()}");
        }
    }

    internal static string Describe(IEnumerable<(ushort Flags, ushort Tag, byte[] Key)> set) => string.Join(", ", set.Select(k => $"{k.Flags}/{k.Tag}"));

    internal static int Count(List<string> answers)
    {
        lock (answers)
        {
            return answers.Count;
        }
    }

    /// <summary>Asks the questions in turn, each as soon as the last is answered; an answer that is not NOERROR with AD is a failure.</summary>
    internal static async Task ResolveContinuouslyAsync(IPEndPoint resolver, (string Name, ushort Type)[] questions, List<string> answers, List<string> failures, CancellationToken stop)
    {
        const int rcode = 0;
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var (name, type) = questions[i % questions.Length];
            var id = DnsWire.NewId();
            var reply = await RawDnsClient.UdpQueryAsync(resolver, DnsWire.Query(name, type, id, new EdnsSpec(DnssecOk: true), recursionDesired: true), id, TimeSpan.FromSeconds(3));
            var line = $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {name}/{type}: {reply}";
            lock (answers)
            {
                answers.Add(line);
            }

            if (reply.Rcode != rcode || (reply.Flags & AuthenticData) == 0)
            {
                lock (failures)
                {
                    failures.Add(line);
                }
            }
        }
    }

    internal static async Task<IReadOnlyList<(ushort Flags, ushort Tag, byte[] Key)>> DnskeySet(IPEndPoint authority, string zone)
    {
        var reply = await RawDnsClient.UdpQueryAsync(authority, zone, Dnskey, new EdnsSpec());
        return [.. reply.Answers.Where(r => r.Type == Dnskey).Select(r => (BinaryPrimitives.ReadUInt16BigEndian(r.RData), KeyTag(r.RData), r.RData[4..].ToArray()))];
    }

    /// <summary>The key tag in the RRSIG of www's A RRset, asked of the server directly.</summary>
    private static async Task<ushort> SigningTag(IPEndPoint authority)
    {
        var reply = await RawDnsClient.UdpQueryAsync(authority, "www.roll.test", DnsWire.TypeA, new EdnsSpec(DnssecOk: true));
        return BinaryPrimitives.ReadUInt16BigEndian(Assert.Single(reply.Answers, r => r.Type == Rrsig).RData[16..]);
    }

    /// <summary>RFC 4034 appendix B, computed here rather than taken from the code under test.</summary>
    internal static ushort KeyTag(ReadOnlySpan<byte> rdata)
    {
        uint ac = 0;
        for (var i = 0; i < rdata.Length; i++)
        {
            ac += (i & 1) != 0 ? rdata[i] : (uint)rdata[i] << 8;
        }

        ac += (ac >> 16) & 0xFFFF;
        return (ushort)(ac & 0xFFFF);
    }

    /// <summary>A validator trusting <paramref name="anchorZone"/>'s KSK, every cache capped at 1 s, each zone asked of its own server.</summary>
    internal static string UnboundConfig(string directory, int port, string anchorZone, string ksk, params (string Zone, IPEndPoint Server)[] stubs) => UnboundProcess.ServerSection(directory, port) + $"""
            module-config: "validator iterator"
            prefetch: no
            cache-max-ttl: 1
            cache-max-negative-ttl: 1
            val-log-level: 2
            trust-anchor: "{anchorZone}. DNSKEY 257 3 13 {ksk}"
            local-zone: "test." nodefault
        remote-control:
            control-enable: no

        """ + string.Concat(stubs.Select(stub => $"""
        stub-zone:
            name: "{stub.Zone}"
            stub-addr: {stub.Server.Address}@{stub.Server.Port.ToString(CultureInfo.InvariantCulture)}

        """));
}
