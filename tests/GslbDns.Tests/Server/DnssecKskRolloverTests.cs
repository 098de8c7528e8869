using System.Buffers.Binary;
using System.Net;
using GslbDns.Dnssec;
using GslbDns.Server.Hosting;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// A KSK rollover end to end with second-scale timings (TTLs 1 s, --dnssec-max-ttl 1, --dnssec-propagation-delay 1,
/// --dnssec-parent-ds-ttl 1): the parent zone kpar.test (signed, our server) holds the DS of its child ksk.kpar.test
/// (signed, another server); a validating Unbound trusts only the parent's KSK, so each answer it marks AD was
/// validated through the DS. The test runs dnssec-rollover --key ksk, swaps the parent's DS when the child's CDS
/// shows the new KSK, confirms with --ds-published, and every answer from start to after the old KSK's removal
/// must validate.
/// </summary>
public sealed class DnssecKskRolloverTests
{
    private const string Parent = "kpar.test";
    private const string Child = "ksk.kpar.test";
    private const ushort Dnskey = 48;
    private const ushort Rrsig = 46;
    private const ushort Cds = 59;
    private const ushort Ds = 43;

    [Fact]
    public async Task A_KSK_rollover_with_the_parent_DS_swapped_on_CDS_validates_throughout_and_ends_with_only_the_new_KSK()
    {
        using var folder = new TempFolder("dnssec-ksk");
        var childZones = folder.Folder("child");
        File.WriteAllText(Path.Combine(childZones, Child + ".zone"), """
            $ORIGIN ksk.kpar.test.
            $TTL 1
            @ 1 IN SOA ns1 hostmaster 1 3600 600 86400 1
              IN NS ns1
            ns1 IN A 127.0.0.1
            www IN A 192.0.2.7
            """);
        var childKeys = Path.Combine(folder.Path, "child-state", "dnssec");
        var childOptions = InProcessServer.Signed(childZones, Child, Path.Combine(folder.Path, "child-state")) with
        {
            DnssecTimings = new RolloverTimings(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromDays(30)) { ParentDsTtl = TimeSpan.FromSeconds(1) },
        };
        await using var child = await InProcessServer.StartAsync(childOptions);
        var childServer = child.UdpListeners[0].LocalEndPoint;
        var oldKsk = Assert.Single(await DnssecRolloverTests.DnskeySet(childServer, Child), k => k.Flags == 257).Tag;

        var parentZones = folder.Folder("parent");
        var parentZone = Path.Combine(parentZones, Parent + ".zone");
        File.WriteAllText(parentZone, ParentZoneText(1, await CdsText(childServer)));
        await using var parent = await InProcessServer.StartAsync(InProcessServer.Signed(parentZones, Parent, Path.Combine(folder.Path, "parent-state")));
        var parentServer = parent.UdpListeners[0].LocalEndPoint;
        var anchor = Convert.ToBase64String(Assert.Single(await DnssecRolloverTests.DnskeySet(parentServer, Parent), k => k.Flags == 257).Key);
        var (unbound, resolver) = await UnboundProcess.StartAsync(folder, port => DnssecRolloverTests.UnboundConfig(folder.Path, port, Parent, anchor, (Parent, parentServer), (Child, childServer)), Parent);
        using var _ = unbound;

        using var stop = new CancellationTokenSource();
        var answers = new List<string>();
        var failures = new List<string>();
        var resolving = Task.Run(() => DnssecRolloverTests.ResolveContinuouslyAsync(resolver, [("www." + Child, DnsWire.TypeA), ("nope." + Child, DnsWire.TypeA), (Child, Dnskey), (Child, Ds)], answers, failures, stop.Token));
        await AnswersAsync(answers, "before the rollover");

        // Started: the new KSK is published and co-signs the DNSKEY RRset; CDS still names the old KSK.
        var (code, output, errors) = await RolloverAsync(childOptions, dsPublished: false);
        Assert.True(code == 0, errors);
        Assert.Contains($"KSK {oldKsk} active", output, StringComparison.Ordinal);
        var newKsk = ushort.Parse(System.Text.RegularExpressions.Regex.Match(output, @"KSK (\d+) published").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        await Deadline.UntilAsync("the new KSK published and co-signing", TimeSpan.FromSeconds(5), async () =>
        {
            var signers = await DnskeySigners(childServer);
            return (signers.Order().SequenceEqual(new[] { oldKsk, newKsk }.Order()), $"DNSKEY RRset signed by {string.Join(' ', signers)}");
        }, TimeSpan.FromMilliseconds(50));
        Assert.Equal(oldKsk, await CdsTag(childServer));
        await AnswersAsync(answers, "while the new KSK is published");

        // A DS confirmation before the new KSK is ready is refused (--dnssec-max-ttl + propagation = 2 s after the start).
        var early = await RolloverAsync(childOptions, dsPublished: true);
        Assert.Equal(1, early.Code);
        Assert.Contains($"KSK {newKsk} is not ready yet", early.Errors, StringComparison.Ordinal);

        // Ready: CDS names the new KSK. The "parent operator" puts its DS in place of the old one.
        await Deadline.UntilAsync("CDS naming the new KSK", TimeSpan.FromSeconds(5), async () =>
        {
            var tag = await CdsTag(childServer);
            return (tag == newKsk, $"CDS names {tag}");
        }, TimeSpan.FromMilliseconds(50));
        File.WriteAllText(parentZone, ParentZoneText(2, await CdsText(childServer)));
        Assert.Empty(parent.Builder.Reload());
        await Deadline.UntilAsync("the resolver holding the new DS", TimeSpan.FromSeconds(5), async () =>
        {
            var id = DnsWire.NewId();
            var reply = await RawDnsClient.UdpQueryAsync(resolver, DnsWire.Query(Child, Ds, id, new EdnsSpec(DnssecOk: true), recursionDesired: true), id, TimeSpan.FromSeconds(3));
            var tags = reply.Answers.Where(r => r.Type == Ds).Select(r => BinaryPrimitives.ReadUInt16BigEndian(r.RData)).ToArray();
            return (tags.SequenceEqual([newKsk]), $"DS {string.Join(' ', tags)}");
        }, TimeSpan.FromMilliseconds(50));
        await AnswersAsync(answers, "with the new DS at the parent");

        // Confirmed: the old KSK retires, stays (and co-signs) for DS TTL + propagation, then leaves the DNSKEY RRset and its file goes.
        var confirmed = await RolloverAsync(childOptions, dsPublished: true);
        Assert.True(confirmed.Code == 0, confirmed.Errors);
        Assert.Contains($"KSK {oldKsk} retired", confirmed.Output, StringComparison.Ordinal);
        Assert.Contains($"KSK {newKsk} active", confirmed.Output, StringComparison.Ordinal);
        Assert.Contains(await DnskeySigners(childServer), t => t == oldKsk);
        await AnswersAsync(answers, "while the old KSK is retired");
        await Deadline.UntilAsync("the old KSK removed", TimeSpan.FromSeconds(6), async () =>
        {
            var set = await DnssecRolloverTests.DnskeySet(childServer, Child);
            return (set.All(k => k.Tag != oldKsk), DnssecRolloverTests.Describe(set));
        }, TimeSpan.FromMilliseconds(50));
        Assert.Equal([newKsk], await DnskeySigners(childServer));
        Assert.Equal(newKsk, Assert.Single(await DnssecRolloverTests.DnskeySet(childServer, Child), k => k.Flags == 257).Tag);
        Assert.False(File.Exists(Path.Combine(childKeys, Child, "ksk.pem")));
        Assert.True(File.Exists(Path.Combine(childKeys, Child, $"ksk-{newKsk}.pem")));

        // Through the resolver's next refresh of everything (caches capped at 1 s) after the removal.
        await AnswersAsync(answers, "after the removal", 16);
        await stop.CancelAsync();
        await resolving;
        lock (failures)
        {
            Assert.True(failures.Count == 0, $"{failures.Count} of {DnssecRolloverTests.Count(answers)} answers did not validate:\n{string.Join("\n", failures.Take(10))}\n{unbound.Describe()}");
        }
    }

    /// <summary>Waits until the resolver loop has given <paramref name="more"/> more answers (each question at least once).</summary>
    private static async Task AnswersAsync(List<string> answers, string phase, int more = 8)
    {
        var from = DnssecRolloverTests.Count(answers);
        await Deadline.UntilAsync($"answers {phase}", TimeSpan.FromSeconds(5), () => Task.FromResult((DnssecRolloverTests.Count(answers) >= from + more, $"{DnssecRolloverTests.Count(answers) - from} answers")), TimeSpan.FromMilliseconds(20));
    }

    /// <summary>dnssec-rollover --key ksk [--ds-published], the command's own code run in this process against the child's key folder.</summary>
    private static async Task<(int Code, string Output, string Errors)> RolloverAsync(GslbDns.Server.Hosting.ServerOptions options, bool dsPublished)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        var code = await DnssecRolloverCommand.RunAsync(options, new CommandLine.RolloverRequest("ksk", dsPublished, Status: false), output, errors);
        return (code, output.ToString(), errors.ToString());
    }

    /// <summary>The key tags of the RRSIGs over the child's DNSKEY RRset, asked of the child directly.</summary>
    private static async Task<ushort[]> DnskeySigners(IPEndPoint server)
    {
        var reply = await RawDnsClient.UdpQueryAsync(server, Child, Dnskey, new EdnsSpec(DnssecOk: true));
        return [.. reply.Answers.Where(r => r.Type == Rrsig).Select(r => BinaryPrimitives.ReadUInt16BigEndian(r.RData[16..]))];
    }

    private static async Task<ushort> CdsTag(IPEndPoint server) =>
        BinaryPrimitives.ReadUInt16BigEndian(Assert.Single((await RawDnsClient.UdpQueryAsync(server, Child, Cds, new EdnsSpec())).Answers, r => r.Type == Cds).RData);

    /// <summary>The child's CDS RDATA as the parent's DS, in RFC 3597 form (what our zone files take for DS).</summary>
    private static async Task<string> CdsText(IPEndPoint server)
    {
        var rdata = Assert.Single((await RawDnsClient.UdpQueryAsync(server, Child, Cds, new EdnsSpec())).Answers, r => r.Type == Cds).RData;
        return $"\\# {rdata.Length} {Convert.ToHexString(rdata)}";
    }

    private static string ParentZoneText(int serial, string ds) => $"""
        $ORIGIN kpar.test.
        $TTL 1
        @ 1 IN SOA ns1 hostmaster {serial} 3600 600 86400 1
          IN NS ns1
        ns1 IN A 127.0.0.1
        ksk IN NS ns1.ksk
        ns1.ksk IN A 127.0.0.1
        ksk IN DS {ds}
        """;
}
