using GslbDns.Dns;
using GslbDns.Zones;
using static GslbDns.Tests.Core.Zones.ZoneTestSupport;

namespace GslbDns.Tests.Core.Zones;

/// <summary>RDATA presentation formats to wire octets, RFC 3597 generic RDATA, and each field error.</summary>
public sealed class RDataEncoderTests
{
    private static ZoneRecord One(string rr, ushort type, string owner = "w") => Read(rr + "\n").Single(owner, type);

    [Theory]
    [InlineData("w A 192.0.2.1", RecordType.A, "c0000201")]
    [InlineData("w A 0.0.0.0", RecordType.A, "00000000")]
    [InlineData("w A 255.255.255.255", RecordType.A, "ffffffff")]
    [InlineData("w AAAA ::", RecordType.AAAA, "00000000000000000000000000000000")]
    [InlineData("w AAAA 2001:DB8::1", RecordType.AAAA, "20010db8000000000000000000000001")]
    [InlineData("w AAAA ::ffff:192.0.2.1", RecordType.AAAA, "00000000000000000000ffffc0000201")]
    [InlineData("w AAAA 1:2:3:4:5:6:7:8", RecordType.AAAA, "00010002000300040005000600070008")]
    [InlineData("w NS ns.Example.NET.", RecordType.NS, "026e73076578616d706c65036e657400")]
    [InlineData("w CNAME x", RecordType.CNAME, "0178076578616d706c6503636f6d00")]
    [InlineData("w DNAME .", RecordType.DNAME, "00")]
    [InlineData("w PTR @", RecordType.PTR, "076578616d706c6503636f6d00")]
    [InlineData("w MX 0 .", RecordType.MX, "000000")]
    [InlineData("w MX 65535 mx.example.net.", RecordType.MX, "ffff026d78076578616d706c65036e657400")]
    [InlineData("w SRV 1 2 3 t.example.net.", RecordType.SRV, "00010002000301740" + "76578616d706c65036e657400")]
    [InlineData("w SRV 0 0 0 .", RecordType.SRV, "00000000000000")]
    [InlineData("w TXT \"\"", RecordType.TXT, "00")]
    [InlineData("w TXT a \"b c\" \"\\\"\\\\\\065\"", RecordType.TXT, "0161036220630322" + "5c41")]
    [InlineData("w HINFO \"INTEL-386\" Unix", RecordType.HINFO, "09494e54454c2d33383604556e6978")]
    [InlineData("w CAA 0 issue \"ca.example.net\"", RecordType.CAA, "0005697373756563612e6578616d706c652e6e6574")]
    [InlineData("w CAA 128 tbs \"\"", RecordType.CAA, "8003746273")]
    [InlineData("w CAA 0 Issue x", RecordType.CAA, "0005497373756578")]
    [InlineData("w CAA 0 issue \";\"", RecordType.CAA, "00056973737565" + "3b")]
    [InlineData("w NAPTR 100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:a@b!\" .", RecordType.NAPTR, "0064000a015507453255" + "2b7369700e215e2e2a24217369703a614062210" + "0")]
    [InlineData("w TYPE65280 \\# 3 abcDEF", (ushort)65280, "abcdef")]
    [InlineData("w TYPE65280 \\# 0", (ushort)65280, "")]
    [InlineData("w TYPE65280 \\# 4 ab cd ( ef\n 01 )", (ushort)65280, "abcdef01")]
    [InlineData("w DS \\# 4 01020304", RecordType.DS, "01020304")]
    public void Encodes_presentation_format_to_wire(string rr, ushort type, string hex)
    {
        Assert.Equal(hex, Hex(One(rr, type).RData));
    }

    [Fact]
    public void Soa_fields_and_times_with_units()
    {
        var soa = ZoneFileReader.ReadText("@ 1h SOA NS1 Host.Master ( 4294967295 1h 1m 1d 1w )\n@ NS ns1\nns1 A 192.0.2.1\n", "t.zone", Example)
            .Single("@", RecordType.SOA);
        var names = DnsName.Parse("ns1.example.com.").Wire.ToArray().Concat(DnsName.Parse("host.master.example.com.").Wire.ToArray()).ToArray();
        Assert.Equal(Hex(names) + "ffffffff" + "00000e10" + "0000003c" + "00015180" + "00093a80", Hex(soa.RData));
        Assert.Null(soa.Target);
    }

    [Fact]
    public void Target_is_the_name_answers_follow()
    {
        var zone = Read("c CNAME t1\nd DNAME t2.example.net.\nm MX 1 t3\ns SRV 1 1 1 t4\np PTR t5\nx TXT t6\nsub NS t7\n");
        Assert.Equal(DnsName.Parse("t1.example.com."), zone.Single("c", RecordType.CNAME).Target);
        Assert.Equal(DnsName.Parse("t2.example.net."), zone.Single("d", RecordType.DNAME).Target);
        Assert.Equal(DnsName.Parse("t3.example.com."), zone.Single("m", RecordType.MX).Target);
        Assert.Equal(DnsName.Parse("t4.example.com."), zone.Single("s", RecordType.SRV).Target);
        Assert.Equal(DnsName.Parse("t7.example.com."), zone.Single("sub", RecordType.NS).Target);
        Assert.Null(zone.Single("p", RecordType.PTR).Target);
        Assert.Null(zone.Single("x", RecordType.TXT).Target);
        Assert.Null(zone.Single("ns1", RecordType.A).Target);
    }

    [Fact]
    public void Txt_strings_up_to_255_octets_and_no_further()
    {
        var max = new string('x', 255);
        var txt = One($"w TXT \"{max}\" {max}", RecordType.TXT);
        Assert.Equal(512, txt.RData.Length);
        Assert.Equal(255, txt.RData[0]);

        // Escapes count as the octets they stand for.
        Assert.Equal(256, One($"w TXT \"{new string('x', 254)}\\065\"", RecordType.TXT).RData.Length);

        var ex = Fails(Head + $"w TXT \"ok\" \"{new string('x', 256)}\"\n");
        Assert.Equal(5, ex.Location.Line);
        Assert.Contains("TXT string is 256 octets; a character-string holds at most 255", ex.Reason, StringComparison.Ordinal);

        ex = Fails(Head + $"w TXT (\n  \"ok\"\n  {new string('y', 300)} )\n");
        Assert.Equal(7, ex.Location.Line);
        Assert.Contains("300 octets", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Generic_rdata_of_known_types_equals_their_presentation_form()
    {
        var zone = Read(
            "a A \\# 4 C0000201\nb A 192.0.2.1\n" +
            "m MX \\# 18 000A 024D58 076578616D706C65 03434F4D 00\nn MX 10 mx\n" +
            "c CNAME \\# 15 0154076578616D706C6503636F6D00\n" +
            "t TXT \\# 6 02 6869 02 6869\nu TXT hi hi\n");
        Assert.Equal(zone.Single("b", RecordType.A).RData, zone.Single("a", RecordType.A).RData);
        Assert.Equal(zone.Single("n", RecordType.MX).RData, zone.Single("m", RecordType.MX).RData);
        Assert.Equal(DnsName.Parse("mx.example.com."), zone.Single("m", RecordType.MX).Target);
        Assert.Equal(DnsName.Parse("t.example.com."), zone.Single("c", RecordType.CNAME).Target);
        Assert.Equal(zone.Single("u", RecordType.TXT).RData, zone.Single("t", RecordType.TXT).RData);

        // TYPEnnn for a known type takes either form, and a known mnemonic takes the generic form.
        var same = Read("x TYPE1 192.0.2.9\nx A \\# 4 c0000209\n");
        Assert.Single(same.At("x", RecordType.A));
    }

    [Theory]
    [InlineData("w A 1.2.3", "'1.2.3' is not an IPv4 address in dotted-quad form")]
    [InlineData("w A 1.2.3.4.5", "'1.2.3.4.5' is not an IPv4 address")]
    [InlineData("w A 256.1.1.1", "'256.1.1.1' is not an IPv4 address")]
    [InlineData("w A 01.2.3.4", "'01.2.3.4' is not an IPv4 address")]
    [InlineData("w A 1.2.3.", "'1.2.3.' is not an IPv4 address")]
    [InlineData("w A 0x7f.0.0.1", "is not an IPv4 address")]
    [InlineData("w A 2130706433", "is not an IPv4 address")]
    [InlineData("w A \"192.0.2.1\"", "is not an IPv4 address")]
    [InlineData("w A", "A record needs 1 RDATA field(s), found 0")]
    [InlineData("w A 192.0.2.1 192.0.2.2", "A record needs 1 RDATA field(s), found 2")]
    [InlineData("w AAAA 2001:db8::g", "'2001:db8::g' is not an IPv6 address")]
    [InlineData("w AAAA 1:2:3:4:5:6:7:8:9", "is not an IPv6 address")]
    [InlineData("w AAAA 1::2::3", "is not an IPv6 address")]
    [InlineData("w AAAA fe80::1%eth0", "is not an IPv6 address")]
    [InlineData("w AAAA [::1]", "is not an IPv6 address")]
    [InlineData("w AAAA 192.0.2.1", "is not an IPv6 address")]
    [InlineData("w MX 65536 mx", "MX preference '65536' is not a number 0-65535")]
    [InlineData("w MX -1 mx", "MX preference '-1' is not a number")]
    [InlineData("w MX mx", "MX record needs 2 RDATA field(s), found 1")]
    [InlineData("w SRV 1 2 x t", "SRV port 'x' is not a number")]
    [InlineData("w SOA ns1 host 1 1h 1h 1h", "SOA record needs 7 RDATA field(s), found 6")]
    [InlineData("w SOA ns1 host 4294967296 1 1 1 1", "SOA serial '4294967296' is not a number")]
    [InlineData("w SOA ns1 host 1h 1 1 1 1", "SOA serial '1h' is not a number")]
    [InlineData("w CNAME a..b", "bad name 'a..b': empty label")]
    [InlineData("w TXT", "TXT record needs at least one string")]
    [InlineData("w TXT \"\\1\"", "bad \\DDD escape")]
    [InlineData("w TXT \"\\256\"", "\\DDD escape above 255")]
    [InlineData("w HINFO one", "HINFO record needs 2 RDATA field(s), found 1")]
    [InlineData("w CAA 256 issue x", "CAA flags '256' is not a number 0-255")]
    [InlineData("w CAA 0 iss-ue x", "CAA tag 'iss-ue' must be 1-15 ASCII letters or digits")]
    [InlineData("w CAA 0 \"\" x", "CAA tag '' must be 1-15")]
    [InlineData("w CAA 0 abcdefghijklmnop x", "CAA tag 'abcdefghijklmnop' must be 1-15")]
    [InlineData("w NAPTR 1 2 a b c", "NAPTR record needs 6 RDATA field(s), found 5")]
    [InlineData("w A \\#", "'\\#' must be followed by the RDATA length")]
    [InlineData("w A \\# x", "'\\#' length 'x' is not a number 0-65535")]
    [InlineData("w A \\# 65536", "'\\#' length '65536' is not a number 0-65535")]
    [InlineData("w A \\# 3 0a0000", "'\\#' RDATA is not a valid A record: expected 4 octets, got 3")]
    [InlineData("w A \\# 4 0a0000", "'\\#' length says 4 octets but the hex gives 3")]
    [InlineData("w A \\# 4 0a00000102", "'\\#' RDATA has more hex than the 4 octets its length says")]
    [InlineData("w TYPE65280 \\# 2 abc", "odd number of hex digits")]
    [InlineData("w TYPE65280 \\# 2 abzz", "'abzz' is not hex")]
    [InlineData("w TYPE65280 \\# 1 \"ab\"", "quoted text in '\\#' RDATA")]
    [InlineData("w NS \\# 2 0161", "not a valid NS record: name runs past the end")]
    [InlineData("w NS \\# 4 C00C0000", "no compression")]
    [InlineData("w NS \\# 4 01610000", "not a valid NS record: 1 octet(s) after the last field")]
    [InlineData("w MX \\# 1 00", "shorter than its 2 fixed octets")]
    [InlineData("w TXT \\# 0", "TXT needs at least one character-string")]
    [InlineData("w TXT \\# 2 0561", "character-string runs past the end")]
    [InlineData("w SOA \\# 2 0000", "expected 20 octets, got 0")]
    [InlineData("w CAA \\# 3 00012d", "CAA tag must be 1-15 ASCII letters or digits")]
    public void Field_errors_name_the_line_and_reason(string rr, string reason)
    {
        var ex = Fails(Head + rr + "\n");
        Assert.Equal(5, ex.Location.Line);
        Assert.Contains(reason, ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_over_255_octets_or_labels_over_63_are_rejected_in_rdata()
    {
        var label63 = new string('a', 63);
        Assert.Single(Read($"w CNAME {label63}.example.net.\n").At("w", RecordType.CNAME));

        var ex = Fails(Head + $"w CNAME {label63}a.example.net.\n");
        Assert.Contains("label longer than 63 octets", ex.Reason, StringComparison.Ordinal);

        var longName = string.Join('.', Enumerable.Repeat(label63, 4)) + ".";
        ex = Fails(Head + $"w CNAME {longName}\n");
        Assert.Equal(5, ex.Location.Line);
        Assert.Contains("name too long", ex.Reason, StringComparison.Ordinal);
    }
}
