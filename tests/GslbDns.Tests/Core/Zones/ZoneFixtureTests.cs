using System.Text.RegularExpressions;
using GslbDns.Dns;
using GslbDns.Zones;
using static GslbDns.Tests.Core.Zones.ZoneTestSupport;

namespace GslbDns.Tests.Core.Zones;

/// <summary>
/// Cross-checks the reader against Knot's kzonecheck and ldns-read-zone on the fixture files: good fixtures
/// must pass kzonecheck and give the same RR set as ldns's canonical output; bad ones must fail in both.
/// </summary>
public sealed partial class ZoneFixtureTests
{
    public static TheoryData<string> GoodFixtures => [.. FixtureNames("good")];

    public static TheoryData<string> BadFixtures => [.. FixtureNames("bad")];

    [Theory]
    [MemberData(nameof(GoodFixtures))]
    public void Good_fixture_passes_kzonecheck(string name)
    {
        var path = Fixture("good", name);
        var (exit, output) = KzoneCheck(path, ZoneFileReader.OriginFromFileName(path));
        Assert.True(exit == 0, $"kzonecheck rejected {name}: {output}");
    }

    [Theory]
    [MemberData(nameof(GoodFixtures))]
    public void Good_fixture_matches_ldns_canonical_output(string name)
    {
        var path = Fixture("good", name);
        var ours = ZoneFileReader.ReadFile(path);

        // ldns keeps duplicates and per-record TTLs; re-reading its output through our reader applies the same
        // RFC 2181 normalisation, so what remains compared is how each record's text became owner, TTL and octets.
        var canonical = LdnsCanonical(path, ours.Origin);
        var theirs = ZoneFileReader.ReadText(canonical, name + ".ldns", ours.Origin);

        Assert.Equal(RRset(theirs), RRset(ours));
        Assert.True(ours.Records.Count >= 7);
    }

    [Theory]
    [MemberData(nameof(BadFixtures))]
    public void Bad_fixture_is_rejected_by_us_with_its_line_and_reason(string name)
    {
        var path = Fixture("bad", name);
        var expect = ExpectLine().Match(File.ReadLines(path).First());
        Assert.True(expect.Success, $"{name} lacks its '; expect LINE: reason' first line");

        var ex = Assert.Throws<ZoneLoadException>(() => ZoneFileReader.ReadFile(path));
        Assert.Equal(path, ex.Location.File);
        Assert.Equal(int.Parse(expect.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), ex.Location.Line);
        Assert.Contains(expect.Groups[2].Value, ex.Reason, StringComparison.Ordinal);
        Assert.StartsWith($"{path}:{ex.Location.Line}: ", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadFixtures))]
    public void Bad_fixture_is_rejected_by_kzonecheck(string name)
    {
        var path = Fixture("bad", name);
        var (exit, output) = KzoneCheck(path, ZoneFileReader.OriginFromFileName(path));
        Assert.True(exit != 0, $"kzonecheck accepted {name}: {output}");
    }

    [Fact]
    public void Fixture_sets_are_not_empty()
    {
        Assert.True(GoodFixtures.Count >= 3);
        Assert.True(BadFixtures.Count >= 15);
    }

    [Fact]
    public void Reverse_zone_fixture_reads_numeric_relative_owners()
    {
        var zone = ZoneFileReader.ReadFile(Fixture("good", "1.168.192.in-addr.arpa.zone"));
        Assert.Equal(DnsName.Parse("1.168.192.in-addr.arpa."), zone.Origin);
        var ptr = zone.Single("1", RecordType.PTR);
        Assert.Equal("1.1.168.192.in-addr.arpa.", ptr.Owner.ToString());
        Assert.Equal(DnsName.Parse("host.example.com.").Wire.ToArray(), ptr.RData);
        Assert.Null(ptr.Target);
        Assert.Equal(3600u, zone.Single("10", RecordType.PTR).Ttl);
        Assert.Equal(86400u, zone.Single("2", RecordType.PTR).Ttl);
        Assert.Equal(2, zone.At("@", RecordType.NS).Count());
        Assert.Equal(3, zone.Single("@", RecordType.SOA).Source.Line);
    }

    [Fact]
    public void Example_fixture_keeps_every_record_after_a_one_line_soa()
    {
        var zone = ZoneFileReader.ReadFile(Fixture("good", "example.com.zone"));
        Assert.Equal(Example, zone.Origin);
        Assert.Single(zone.At("@", RecordType.SOA));
        Assert.Equal(2, zone.At("@", RecordType.NS).Count());
        Assert.Equal(2, zone.At("@", RecordType.MX).Count());
        foreach (var owner in new[] { "ns1", "ns", "mx", "a", "in", "after", "host.sub" })
        {
            Assert.Single(zone.At(owner, RecordType.A));
        }

        Assert.Single(zone.At("a\\.b", RecordType.A));
        Assert.Single(zone.At("c\\.d", RecordType.TXT));
        Assert.Single(zone.At("mixed", RecordType.A));
        Assert.Equal(788645u, zone.Single("t4", RecordType.A).Ttl);
        Assert.Equal(93600u, zone.Single("t3", RecordType.A).Ttl);
        Assert.Equal(2, zone.At("gen", RecordType.A).Count());
        Assert.Single(zone.At("dup", RecordType.A));
        Assert.All(zone.At("ttl", RecordType.A), r => Assert.Equal(10u, r.Ttl));
        Assert.Contains(zone.Warnings, w => w.Contains("duplicate A record", StringComparison.Ordinal));
        Assert.Contains(zone.Warnings, w => w.Contains("TTL 20 differs", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"^; expect (\d+): (.*)$")]
    private static partial Regex ExpectLine();
}
