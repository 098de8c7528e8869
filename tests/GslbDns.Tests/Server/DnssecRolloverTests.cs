using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using GslbDns.Dnssec;
using GslbDns.Server.Hosting;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// A ZSK rollover with second-scale timings (TTL 1 s, --dnssec-max-ttl 2, --dnssec-propagation-delay 1: 3 s from
/// publication to signing and from retirement to removal) started by the real <c>gslbdns dnssec-rollover</c> command
/// against a running server, while a validating Unbound (trust anchor: the KSK; every cache capped at 1 s) resolves a
/// positive answer, a compact-denial NXDOMAIN (NOERROR and an NSEC with NXNAME, RFC 9824) and the DNSKEY RRset one
/// after another, each as soon as the last is answered: every answer from before the rollover until the old key is
/// gone must validate.
/// </summary>
/// <remarks>
/// Unbound alone cannot tell a pre-publication from a new key that signs at once: a signature by a key missing from
/// its cached DNSKEY RRset makes it fetch the RRset again, which then holds the key. So the timings are pinned by
/// what any client sees: kdig +dnssec and a DNSKEY query, sampled back to back over real sockets, must show no RRSIG
/// by the new ZSK until well after the last DNSKEY RRset without it was served, and the old ZSK still in the DNSKEY
/// RRset well after the last RRSIG it made (the bounds allow a second of server timer lag and the state's one-second
/// resolution; a key that signs on publication, or leaves on retirement, misses them by two seconds).
/// </remarks>
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
        var options = InProcessServer.Signed(zones, Zone, Path.Combine(folder.Path, "state")) with
        {
            DnssecTimings = new RolloverTimings(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), TimeSpan.FromDays(30)),
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
        var samples = new List<Sample>();
        var sampling = Task.Run(() => SampleAsync(authority, samples, stop.Token));

        // Validated answers before the rollover starts, so the resolver holds the old DNSKEY RRset and signatures.
        await Deadline.UntilAsync("validated answers before the rollover", TimeSpan.FromSeconds(5), () => Task.FromResult((Count(answers) >= 6, $"{Count(answers)} answers")), TimeSpan.FromMilliseconds(50));

        var started = await ChildProcess.RunAsync(RepoLayout.DotnetHost, [RepoLayout.ServerDll, "dnssec-rollover", "--dnssec-zone", Zone, "--dnssec-keys", keys, "--key", "zsk", "--dnssec-max-ttl", "2", "--dnssec-propagation-delay", "1"], TimeSpan.FromSeconds(30));
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

        // DNSKEY TTL + propagation later the new one signs, and the old one stays published (retired).
        await Deadline.UntilAsync("the new ZSK signing", TimeSpan.FromSeconds(8), async () =>
        {
            var tag = await SigningTag(authority);
            return (tag == newZsk, $"signed by {tag}, waiting for {newZsk}");
        }, TimeSpan.FromMilliseconds(50));
        Assert.Contains(await DnskeySet(authority, Zone), k => k.Tag == oldZsk);

        // Max TTL + propagation after that the old key leaves the DNSKEY RRset: KSK and the new ZSK only.
        IReadOnlyList<(ushort Flags, ushort Tag, byte[] Key)> after = [];
        await Deadline.UntilAsync("the old ZSK removed", TimeSpan.FromSeconds(8), async () =>
        {
            after = await DnskeySet(authority, Zone);
            return (after.All(k => k.Tag != oldZsk), Describe(after));
        }, TimeSpan.FromMilliseconds(50));
        Assert.Equal([(256, newZsk), (257, before.Single(k => k.Flags == 257).Tag)], after.Select(k => ((int)k.Flags, k.Tag)).Order());

        // The key file goes in the same pass that drops the key, after the new zone is installed: wait for it too.
        var oldKeyFile = Path.Combine(keys, Zone, "zsk.pem");
        await Deadline.UntilAsync("the old ZSK's file deleted", TimeSpan.FromSeconds(5), () => Task.FromResult((!File.Exists(oldKeyFile), $"{oldKeyFile} still there")), TimeSpan.FromMilliseconds(50));

        // Resolution through the resolver's next refresh of everything (caches capped at 1 s) after the removal.
        var atRemoval = Count(answers);
        await Deadline.UntilAsync("answers after the removal", TimeSpan.FromSeconds(5), () => Task.FromResult((Count(answers) >= atRemoval + 15, $"{Count(answers) - atRemoval} answers")), TimeSpan.FromMilliseconds(50));
        await stop.CancelAsync();
        await resolving;
        await sampling;

        lock (failures)
        {
            Assert.True(failures.Count == 0, $"{failures.Count} of {Count(answers)} answers did not validate:\n{string.Join("\n", failures.Take(10))}\n{unbound.Describe()}");
        }

        // Pre-publication as clients saw it: the gap between the last DNSKEY RRset without the new ZSK and its first RRSIG,
        // and between the old ZSK's last RRSIG and the first DNSKEY RRset without it (3 s each; at least 2 s after
        // a second of timer lag and the stored times' truncation to seconds; about 0 s if a key signed at once or went at once).
        var firstNewSignature = samples.First(s => s.Signatures && s.Tags.Contains(newZsk));
        var lastUnpublished = samples.Last(s => !s.Signatures && !s.Tags.Contains(newZsk) && s.Received <= firstNewSignature.Sent);
        Assert.True(firstNewSignature.Received - lastUnpublished.Sent >= TimeSpan.FromSeconds(1), $"the new ZSK signed {(firstNewSignature.Received - lastUnpublished.Sent).TotalSeconds:F2} s after its publication:\n{Timeline(samples, lastUnpublished, firstNewSignature)}");
        var lastOldSignature = samples.Last(s => s.Signatures && s.Tags.Contains(oldZsk));
        var firstRemoved = samples.First(s => !s.Signatures && !s.Tags.Contains(oldZsk) && s.Sent >= lastOldSignature.Sent);
        Assert.True(firstRemoved.Received - lastOldSignature.Sent >= TimeSpan.FromSeconds(2), $"the old ZSK left the DNSKEY RRset {(firstRemoved.Received - lastOldSignature.Sent).TotalSeconds:F2} s after its last signature:\n{Timeline(samples, lastOldSignature, firstRemoved)}");
    }

    /// <summary>The samples from a little before <paramref name="from"/> to <paramref name="to"/>, one a line, for a failure message.</summary>
    private static string Timeline(List<Sample> samples, Sample from, Sample to) =>
        string.Join("\n", samples.Where(s => s.Sent >= from.Sent - TimeSpan.FromMilliseconds(300) && s.Sent <= to.Sent).Select(s => s.ToString()));

    /// <summary>One look at the authority: the ZSK tags of its DNSKEY RRset, or the key tags of the RRSIGs over www's A RRset.</summary>
    private sealed record Sample(DateTimeOffset Sent, DateTimeOffset Received, bool Signatures, ushort[] Tags)
    {
        public override string ToString() => $"{Sent:HH:mm:ss.fff}-{Received:HH:mm:ss.fff} {(Signatures ? "RRSIG by" : "DNSKEY ZSKs")} {string.Join(' ', Tags)}";
    }

    /// <summary>Asks the authority back to back: its DNSKEY RRset (our raw client), then www A with kdig +dnssec (the RRSIGs' key tags as kdig prints them).</summary>
    private static async Task SampleAsync(IPEndPoint authority, List<Sample> samples, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var sent = DateTimeOffset.UtcNow;
            var zsks = (await DnskeySet(authority, Zone)).Where(k => k.Flags == 256).Select(k => k.Tag).ToArray();
            var received = DateTimeOffset.UtcNow;
            var signed = await DigRunner.KdigAsync(authority, "www.roll.test", "A", "+dnssec");
            var signers = signed.Answer.Where(r => r.Type == "RRSIG").Select(r => ushort.Parse(r.Data.Split(' ', StringSplitOptions.RemoveEmptyEntries)[6], CultureInfo.InvariantCulture)).ToArray();
            lock (samples)
            {
                samples.Add(new Sample(sent, received, false, zsks));
                samples.Add(new Sample(received, DateTimeOffset.UtcNow, true, signers));
            }
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
