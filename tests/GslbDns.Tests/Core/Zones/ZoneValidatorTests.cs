using GslbDns.Dns;
using GslbDns.Zones;
using static GslbDns.Tests.Core.Zones.ZoneTestSupport;

namespace GslbDns.Tests.Core.Zones;

/// <summary>Zone-level rules: SOA and NS at the apex, owners inside the zone, CNAME exclusivity, RFC 2181 normalisation.</summary>
public sealed class ZoneValidatorTests
{
    [Fact]
    public void Owner_outside_the_zone_names_its_line()
    {
        var ex = Fails(Head + "ok A 192.0.2.2\nwww.example.net. A 192.0.2.3\n");
        Assert.Equal("t.zone:6: owner 'www.example.net.' is outside the zone 'example.com.'", ex.Message);

        ex = Fails(Head + "$ORIGIN com.\nnotexample A 192.0.2.3\n");
        Assert.Equal(6, ex.Location.Line);

        // A name that merely ends with the origin's text is not below it.
        ex = Fails(Head + "badexample.com. A 192.0.2.3\n");
        Assert.Contains("outside the zone", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Exactly_one_soa_and_only_at_the_origin()
    {
        var ex = Fails(Head + "sub SOA ns1 host 2 1 1 1 1\n");
        Assert.Equal(5, ex.Location.Line);
        Assert.Contains("SOA record at 'sub.example.com.', but a zone has its SOA only at its origin", ex.Reason, StringComparison.Ordinal);

        ex = Fails(Head + "@ SOA ns1 host 2 1 1 1 1\n");
        Assert.Equal("t.zone:5: second SOA record (the first is at t.zone:2); a zone has exactly one", ex.Message);

        ex = Fails("$TTL 1h\n@ NS ns1\nns1 A 192.0.2.1\n");
        Assert.Equal("t.zone:2: no SOA record at the zone origin 'example.com.' (a zone starts with its SOA; the first record is here)", ex.Message);
        Assert.Equal("t.zone:1: no SOA record at the zone origin 'example.com.' (a zone starts with its SOA; the first record is here)", Fails("; nothing but a comment\n").Message);

        // An identical second SOA is a duplicate, not a second SOA (RFC 2181 5).
        var zone = Read("@ SOA ns1 hostmaster 1 1h 15m 1w 5m\n");
        Assert.Single(zone.At("@", RecordType.SOA));
    }

    [Fact]
    public void At_least_one_ns_at_the_origin()
    {
        var ex = Fails("$TTL 1h\n@ SOA ns1 host 1 1 1 1 1\nsub NS ns1\nns1 A 192.0.2.1\n");
        Assert.Equal("t.zone:2: no NS record at the zone origin 'example.com.' beside its SOA here", ex.Message);
    }

    [Fact]
    public void Cname_shares_its_name_with_nothing_but_dnssec_records()
    {
        var ex = Fails(Head + "www CNAME ns1\nwww A 192.0.2.3\n");
        Assert.Equal(6, ex.Location.Line);
        Assert.Contains("A record at 'www.example.com.', which has a CNAME at t.zone:5", ex.Reason, StringComparison.Ordinal);

        ex = Fails(Head + "www TXT x\n\nwww CNAME ns1\n");
        Assert.Equal(7, ex.Location.Line);
        Assert.Contains("CNAME at 'www.example.com.', which already has TXT data at t.zone:5", ex.Reason, StringComparison.Ordinal);

        ex = Fails(Head + "www CNAME a\nwww CNAME b\n");
        Assert.Equal("t.zone:6: second CNAME at 'www.example.com.' (the first is at t.zone:5); a name has at most one (RFC 2181 10.1)", ex.Message);

        ex = Fails(Head + "@ CNAME elsewhere.example.net.\n");
        Assert.Equal(5, ex.Location.Line);
        Assert.Contains("CNAME at the zone apex", ex.Reason, StringComparison.Ordinal);

        // RRSIG and NSEC may sit beside a CNAME (RFC 4035 2.5); a repeated identical CNAME is a duplicate.
        var zone = Read("www CNAME ns1\nwww CNAME NS1\nwww RRSIG \\# 1 00\nwww NSEC \\# 1 00\nwww.sub CNAME www\n");
        Assert.Single(zone.At("www", RecordType.CNAME));
        Assert.Single(zone.At("www", RecordType.RRSIG));
    }

    [Fact]
    public void At_most_one_dname_per_name()
    {
        var ex = Fails(Head + "d DNAME a.example.net.\nd DNAME b.example.net.\n");
        Assert.Equal(6, ex.Location.Line);
        Assert.Contains("second DNAME", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Identical_records_collapse_to_one_with_a_warning()
    {
        var zone = Read("w A 192.0.2.5\nW.example.com. 60 IN A 192.0.2.5\nw A \\# 4 c0000205\nw A 192.0.2.6\nw TXT \"a\"\nw TXT a\n");
        Assert.Equal(2, zone.At("w", RecordType.A).Count());
        Assert.Single(zone.At("w", RecordType.TXT));
        Assert.Equal(3, zone.Warnings.Count(w => w.Contains("duplicate", StringComparison.Ordinal)));
        Assert.Contains("t.zone:6: duplicate A record at 'w.example.com.' ignored (first at t.zone:5)", zone.Warnings);
    }

    [Fact]
    public void Differing_ttls_in_an_rrset_take_the_first_with_a_warning()
    {
        var zone = Read("w 10 A 192.0.2.5\nw 20 A 192.0.2.6\nw 30 A 192.0.2.7\nw 20 TXT a\nx 5 A 192.0.2.8\n");
        Assert.All(zone.At("w", RecordType.A), r => Assert.Equal(10u, r.Ttl));
        Assert.Equal(20u, zone.Single("w", RecordType.TXT).Ttl);
        Assert.Equal(5u, zone.Single("x", RecordType.A).Ttl);
        Assert.Equal(2, zone.Warnings.Count);
        Assert.Equal(
            "t.zone:6: TTL 20 differs from the TTL 10 of the A RRset at 'w.example.com.' (first at t.zone:5); using 10",
            zone.Warnings[0]);
    }

    [Fact]
    public void Records_below_the_origin_and_wildcards_are_in_the_zone()
    {
        var zone = Read("a.b.c.d A 192.0.2.1\n*.w A 192.0.2.2\nsub NS ns.sub\nns.sub A 192.0.2.3\n");
        Assert.Equal(7, zone.Records.Count);
        Assert.True(zone.Single("*.w", RecordType.A).Owner.IsWildcard);
    }
}
