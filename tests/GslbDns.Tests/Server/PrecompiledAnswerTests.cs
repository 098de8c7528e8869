using System.Net;
using GslbDns.Dns;
using GslbDns.Query;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// Precompiled replies (<see cref="KnownName"/>) say exactly what the general path says: for every static RRset of the
/// test zones (and the chain of every CNAME), asked over real UDP of the shared parent server and of a second server
/// that serves the same zone files with <see cref="QueryEngineOptions.PrecompiledAnswers"/> off, in each of the forms
/// a query takes (no EDNS, EDNS with a large and with a 512-octet size, DO, QNAME in mixed case), both replies decoded
/// and compared field by field.
/// </summary>
[Collection(AuthServerCollection.Name)]
public sealed class PrecompiledAnswerTests(AuthServerFixture fixture)
{
    private static readonly (string Form, EdnsSpec? Edns, bool MixedCase)[] Forms =
    [
        ("no EDNS", null, false),
        ("EDNS 1232", new EdnsSpec(UdpSize: 1232), false),
        ("EDNS 512", new EdnsSpec(UdpSize: 512), false),
        ("EDNS DO", new EdnsSpec(UdpSize: 4096, DnssecOk: true), false),
        ("mixed case", new EdnsSpec(UdpSize: 1232), true),
    ];

    [Fact]
    public async Task Every_static_RRset_gets_the_general_paths_reply_from_its_precompiled_one()
    {
        var servers = fixture.Servers;
        await using var general = await InProcessServer.StartAsync(InProcessServer.Options(servers.ParentZones) with
        {
            Engine = new QueryEngineOptions { PrecompiledAnswers = false },
        });
        var generalEndPoint = general.UdpListeners[0].LocalEndPoint;

        var zones = servers.Parent.Snapshots.Current.Zones;
        var questions = zones.Zones
            .SelectMany(z => z.Source.Records)
            .SelectMany(r => r.Type == RecordType.CNAME ? new[] { (r.Owner, r.Type), (r.Owner, RecordType.A), (r.Owner, RecordType.AAAA) } : [(r.Owner, r.Type)])
            .Distinct()
            .ToList();

        // The comparison means something only if the precompiled replies are the ones being compared.
        var precompiled = questions.Where(q => zones.FindKnown(q.Owner.Wire)?.Find(q.Item2) is not null).ToList();
        Assert.Contains((DnsName.Parse("www.example.test."), RecordType.A), precompiled);
        Assert.Contains((DnsName.Parse("alias.example.test."), RecordType.A), precompiled);
        Assert.Contains((DnsName.Parse("manymx.example.test."), RecordType.MX), precompiled);
        Assert.Contains((DnsName.Parse("bigtxt.example.test."), RecordType.TXT), precompiled);
        Assert.Null(zones.FindKnown(DnsName.Parse("ns1.sub.example.test.").Wire));
        Assert.True(precompiled.Count >= questions.Count / 2, $"only {precompiled.Count} of {questions.Count} questions have a precompiled reply");

        var compared = 0;
        foreach (var (owner, type) in questions)
        {
            foreach (var (form, edns, mixedCase) in Forms)
            {
                var name = owner.ToString();
                if (mixedCase)
                {
                    name = string.Concat(name.Select((c, i) => i % 2 == 0 ? char.ToUpperInvariant(c) : c));
                }

                var fast = await RawDnsClient.UdpQueryAsync(servers.V4, name, type, edns);
                var slow = await RawDnsClient.UdpQueryAsync(generalEndPoint, name, type, edns);
                SameReply(slow, fast, $"{name} {type} ({form})");
                compared++;
            }
        }

        Assert.Equal(questions.Count * Forms.Length, compared);
    }

    private static void SameReply(RawReply expected, RawReply actual, string what)
    {
        Assert.True(expected.Flags == actual.Flags, $"{what}: flags {actual.Flags:X4}, general path {expected.Flags:X4}");
        Assert.True(expected.Rcode == actual.Rcode, $"{what}: rcode {actual.Rcode}, general path {expected.Rcode}");
        Assert.Equal(expected.Questions, actual.Questions);
        SameRecords(expected.Answers, actual.Answers, $"{what}: answer");
        SameRecords(expected.Authority, actual.Authority, $"{what}: authority");
        SameRecords(expected.Additional, actual.Additional, $"{what}: additional");
        Assert.True((expected.Opt is null) == (actual.Opt is null), $"{what}: OPT present {actual.Opt is not null}, general path {expected.Opt is not null}");
        if (expected.Opt is { } opt)
        {
            var got = actual.Opt!;
            Assert.True(opt.UdpSize == got.UdpSize && opt.DnssecOk == got.DnssecOk && opt.ExtendedRcode == got.ExtendedRcode && opt.Version == got.Version,
                $"{what}: OPT {got}, general path {opt}");
            Assert.Equal(opt.Options.Select(o => (o.Code, Convert.ToHexString(o.Data))), got.Options.Select(o => (o.Code, Convert.ToHexString(o.Data))));
        }

        Assert.True(expected.Size == actual.Size, $"{what}: {actual.Size} octets, general path {expected.Size}");
    }

    private static void SameRecords(List<RawRecord> expected, List<RawRecord> actual, string what)
    {
        Assert.True(expected.Count == actual.Count, $"{what}: {actual.Count} records, general path {expected.Count}:\n{string.Join("\n", actual)}\n--\n{string.Join("\n", expected)}");
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            Assert.True(e.Name == a.Name && e.Type == a.Type && e.Class == a.Class && e.Ttl == a.Ttl && e.RData.SequenceEqual(a.RData),
                $"{what} record {i}: {a}, general path {e}");
        }
    }
}
