using GslbDns.Dns;
using GslbDns.Zones;
using static GslbDns.Tests.Core.Zones.ZoneTestSupport;

namespace GslbDns.Tests.Core.Zones;

/// <summary>Master-file syntax: tokens, owners, TTL and class fields, directives, and where errors point.</summary>
public sealed class ZoneFileReaderTests
{
    [Fact]
    public void One_line_soa_with_parentheses_is_followed_by_more_records()
    {
        var zone = ZoneFileReader.ReadText(
            "$TTL 300\n@ IN SOA ns1 host ( 1 2 3 4 5 )\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n", "t.zone", Example);
        Assert.Equal(4, zone.Records.Count);
        var soa = zone.Single("@", RecordType.SOA);
        Assert.Equal("0000000100000002000000030000000400000005", Hex(soa.RData)[^40..]);
        Assert.Equal(5, zone.Single("www", RecordType.A).Source.Line);
    }

    [Fact]
    public void Soa_over_several_lines_with_comments_inside_the_parentheses()
    {
        var zone = ZoneFileReader.ReadText(
            "$TTL 300\n@ IN SOA ns1 host (\n  7 ; serial\n  1h ; refresh ( not a paren\n  2m\n  3d\n  4w ) ; done\n@ NS ns1\nns1 A 192.0.2.1\n",
            "t.zone",
            Example);
        var soa = zone.Single("@", RecordType.SOA);
        Assert.Equal(2, soa.Source.Line);
        Assert.Equal("00000007" + "00000e10" + "00000078" + "0003f480" + "0024ea00", Hex(soa.RData)[^40..]);
        Assert.Equal(8, zone.Single("@", RecordType.NS).Source.Line);
    }

    [Theory]
    [InlineData("mx")]
    [InlineData("ns")]
    [InlineData("a")]
    [InlineData("in")]
    [InlineData("txt")]
    [InlineData("soa")]
    [InlineData("ch")]
    [InlineData("CLASS1")]
    [InlineData("TYPE1")]
    public void First_column_token_is_always_the_owner(string owner)
    {
        var zone = Read($"{owner} A 192.0.2.7\n{owner} MX 10 {owner}\n");
        var a = zone.Single(owner, RecordType.A);
        Assert.Equal(DnsName.Parse(owner + ".example.com."), a.Owner);
        Assert.Equal(a.Owner, zone.Single(owner, RecordType.MX).Target);
    }

    [Fact]
    public void Blank_at_line_start_reuses_the_previous_owner()
    {
        var zone = Read("host A 192.0.2.7\n  A 192.0.2.8\n\t300 TXT \"x\"\n; comment\n\n  AAAA ::1\n");
        Assert.Equal(2, zone.At("host", RecordType.A).Count());
        Assert.Equal(300u, zone.Single("host", RecordType.TXT).Ttl);
        Assert.Single(zone.At("host", RecordType.AAAA));
    }

    [Fact]
    public void Owner_reuse_without_a_previous_owner_names_the_line()
    {
        var ex = Fails("; first\n  A 192.0.2.1\n");
        Assert.Equal("t.zone:2: line starts with a blank, so it reuses the previous owner, but there is none", ex.Message);
    }

    [Fact]
    public void Ttl_and_class_in_either_order_and_both_optional()
    {
        var text = Head + "t1 300 IN A 192.0.2.1\nt2 IN 300 A 192.0.2.2\nt3 IN A 192.0.2.3\nt4 300 A 192.0.2.4\nt5 A 192.0.2.5\nt6 in 1H a 192.0.2.6\n";
        var zone = ZoneFileReader.ReadText(text, "t.zone", Example);
        foreach (var (owner, ttl) in new[] { ("t1", 300u), ("t2", 300u), ("t3", 3600u), ("t4", 300u), ("t5", 3600u), ("t6", 3600u) })
        {
            var record = zone.Single(owner, RecordType.A);
            Assert.Equal(ttl, record.Ttl);
            Assert.Equal(RecordClass.IN, record.Class);
        }

        // Knot accepts both orders too (ldns-read-zone 1.8 does not, so this is not in the ldns-checked fixtures).
        var (exit, output) = KzoneCheckText(text, Example);
        Assert.True(exit == 0, output);
    }

    [Fact]
    public void Class1_is_in()
    {
        var zone = Read("w CLASS1 A 192.0.2.1\nv 60 class1 A 192.0.2.2\n");
        Assert.Equal(RecordClass.IN, zone.Single("w", RecordType.A).Class);
        Assert.Equal(60u, zone.Single("v", RecordType.A).Ttl);
    }

    [Theory]
    [InlineData("w CH A 192.0.2.1", "class CH is not supported")]
    [InlineData("w 60 HS A 192.0.2.1", "class HS is not supported")]
    [InlineData("w CS A 192.0.2.1", "class CS is not supported")]
    [InlineData("w CLASS3 A 192.0.2.1", "class CLASS3 is not supported")]
    [InlineData("w ANY A 192.0.2.1", "class ANY is not supported")]
    [InlineData("w NONE A 192.0.2.1", "class NONE is not supported")]
    [InlineData("w IN IN A 192.0.2.1", "second class 'IN'")]
    [InlineData("w 1 2 A 192.0.2.1", "second TTL '2'")]
    [InlineData("w 1 IN 2 A 192.0.2.1", "second TTL '2'")]
    [InlineData("w 2147483648 A 192.0.2.1", "above the maximum 2147483647")]
    [InlineData("w 1h30 A 192.0.2.1", "number without a unit")]
    [InlineData("w 60 IN", "record has no type")]
    [InlineData("w", "record has no type")]
    [InlineData("w SPF \"v=spf1 -all\"", "unknown record type 'SPF'")]
    [InlineData("w \"A\" 192.0.2.1", "unknown record type 'A'")]
    [InlineData("w ANY \\# 0", "class ANY is not supported")]
    [InlineData("w AXFR \\# 0", "AXFR is a meta or question-only type")]
    [InlineData("w OPT \\# 0", "OPT is a meta or question-only type")]
    [InlineData("w TYPE0 \\# 0", "TYPE0 is a meta or question-only type")]
    [InlineData("w TYPE65536 \\# 0", "unknown record type 'TYPE65536'")]
    [InlineData("w DS 1 2 3 abcd", "no presentation format for type DS here")]
    [InlineData("bad..name A 192.0.2.1", "bad owner name 'bad..name': empty label")]
    [InlineData("$GENERATE 1-3 h$ A 192.0.2.$", "$GENERATE is not supported")]
    [InlineData("$FOO bar", "unknown directive '$FOO'")]
    [InlineData("$TTL", "$TTL takes 1 argument(s), found 0")]
    [InlineData("$TTL 1h 2h", "$TTL takes 1 argument(s), found 2")]
    [InlineData("$TTL 1y", "$TTL: bad time value '1y': unknown unit 'y'")]
    [InlineData("$ORIGIN", "$ORIGIN takes 1 argument(s), found 0")]
    [InlineData("$INCLUDE", "$INCLUDE takes 1 or 2 argument(s), found 0")]
    [InlineData("  $TTL 1h", "directive $TTL must start in the first column")]
    public void Record_line_errors_name_the_line_and_reason(string line, string reason)
    {
        var ex = Fails(Head + "ok A 192.0.2.9\n" + line + "\n");
        Assert.Equal(6, ex.Location.Line);
        Assert.Equal("t.zone", ex.Location.File);
        Assert.Contains(reason, ex.Reason, StringComparison.Ordinal);
        Assert.Equal($"t.zone:6: {ex.Reason}", ex.Message);
    }

    [Fact]
    public void Ttl_units_like_bind()
    {
        var zone = ZoneFileReader.ReadText(
            "$TTL 1W2d\n@ SOA ns1 host ( 1 1H 15m 1w 5M )\n@ NS ns1\nns1 1w2d3h4m5s A 192.0.2.1\nx 90s A 192.0.2.2\n", "t.zone", Example);
        Assert.Equal(777600u, zone.Single("@", RecordType.SOA).Ttl);
        Assert.Equal(788645u, zone.Single("ns1", RecordType.A).Ttl);
        Assert.Equal(90u, zone.Single("x", RecordType.A).Ttl);
        Assert.Equal("00000001" + "00000e10" + "00000384" + "00093a80" + "0000012c", Hex(zone.Single("@", RecordType.SOA).RData)[^40..]);
    }

    [Fact]
    public void Default_ttl_is_dollar_ttl_then_last_explicit_then_soa_minimum_with_a_warning()
    {
        // No $TTL and no TTL yet: the SOA and the NS take the SOA MINIMUM (BIND's rule), with one warning.
        var zone = ZoneFileReader.ReadText(
            "@ SOA ns1 host ( 1 1h 15m 1w 7m )\n@ NS ns1\nns1 120 A 192.0.2.1\nx A 192.0.2.2\n$TTL 1d\ny A 192.0.2.3\nz 5 A 192.0.2.4\nq A 192.0.2.5\n",
            "t.zone",
            Example);
        Assert.Equal(420u, zone.Single("@", RecordType.SOA).Ttl);
        Assert.Equal(420u, zone.Single("@", RecordType.NS).Ttl);
        Assert.Equal(120u, zone.Single("x", RecordType.A).Ttl);
        Assert.Equal(86400u, zone.Single("y", RecordType.A).Ttl);
        Assert.Equal(5u, zone.Single("z", RecordType.A).Ttl);
        Assert.Equal(86400u, zone.Single("q", RecordType.A).Ttl);
        var warning = Assert.Single(zone.Warnings);
        Assert.StartsWith("t.zone:1: no $TTL and no earlier TTL: 2 record(s)", warning, StringComparison.Ordinal);
        Assert.Contains("SOA MINIMUM 420", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Records_before_the_soa_without_any_ttl_also_get_the_soa_minimum()
    {
        var zone = ZoneFileReader.ReadText("ns1 A 192.0.2.1\n@ NS ns1\n@ SOA ns1 host 1 1 1 1 99\n", "t.zone", Example);
        Assert.All(zone.Records, r => Assert.Equal(99u, r.Ttl));
    }

    [Fact]
    public void Origin_directive_changes_how_relative_names_complete()
    {
        var zone = Read("$ORIGIN sub\nwww A 192.0.2.1\n@ MX 1 mail\n$ORIGIN example.com.\nwww A 192.0.2.2\n");
        Assert.Single(zone.At("www.sub", RecordType.A));
        Assert.Equal(DnsName.Parse("mail.sub.example.com."), zone.Single("sub", RecordType.MX).Target);
        Assert.Single(zone.At("www", RecordType.A));
    }

    [Fact]
    public void Escaped_dots_and_decimal_escapes_stay_inside_a_label()
    {
        var zone = Read("a\\.b A 192.0.2.1\nc\\046d A 192.0.2.2\nsp\\032ace A 192.0.2.3\nx PTR e\\.f.example.net.\n");
        var owner = zone.Single("a\\.b", RecordType.A).Owner;
        Assert.Equal(3, owner.LabelCount);
        Assert.Equal("03612e62076578616d706c6503636f6d00", Hex(owner.Wire.ToArray()));
        Assert.Equal(3, zone.Single("c\\.d", RecordType.A).Owner.LabelCount);
        Assert.Equal("sp\\032ace.example.com.", zone.Single("sp\\032ace", RecordType.A).Owner.ToString());
        Assert.Equal("03652e66076578616d706c65036e657400", Hex(zone.Single("x", RecordType.PTR).RData));
    }

    [Fact]
    public void Escaped_delimiters_do_not_split_or_comment()
    {
        var zone = Read("semi\\;colon TXT a\\;b\\ c\\(d\\)\n");
        var txt = zone.Single("semi\\;colon", RecordType.TXT);
        Assert.Equal("08" + Hex("a;b c(d)"u8.ToArray()), Hex(txt.RData));
    }

    [Fact]
    public void Names_are_case_folded_and_at_means_origin()
    {
        var zone = Read("WWW.Example.COM. A 192.0.2.1\n@ MX 5 MAIL\n");
        Assert.Single(zone.At("www", RecordType.A));
        Assert.Equal("0005046d61696c076578616d706c6503636f6d00", Hex(zone.Single("@", RecordType.MX).RData));
    }

    [Fact]
    public void Crlf_line_endings_and_a_byte_order_mark_are_accepted()
    {
        var zone = ZoneFileReader.ReadText("\uFEFF" + Head.Replace("\n", "\r\n", StringComparison.Ordinal) + "w A 192.0.2.5\r\n  TXT \"x\"\r\n", "t.zone", Example);
        Assert.Single(zone.At("w", RecordType.TXT));
        Assert.Equal(5, zone.Records.Count);
    }

    [Theory]
    [InlineData("w TXT ( \"a\"\n\"b\"\n", 6, "'(' is never closed")]
    [InlineData("w TXT ( \"a\" ( \"b\" )\n", 6, "nested '('")]
    [InlineData("w A 192.0.2.1 )\n", 6, "')' without a matching '('")]
    [InlineData("w TXT \"abc\nx A 192.0.2.1\n", 6, "quoted string is not closed")]
    [InlineData("w TXT abc\\\nx A 192.0.2.1\n", 6, "backslash at the end of a line")]
    [InlineData("w TXT (\n \"a\"\n bad\\", 8, "backslash at the end of a line")]
    public void Tokenizer_errors_name_the_line(string body, int line, string reason)
    {
        var ex = Fails(Head + "ok A 192.0.2.9\n" + body);
        Assert.Equal(line, ex.Location.Line);
        Assert.Contains(reason, ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_inside_a_multi_line_record_point_at_the_bad_field()
    {
        var ex = Fails(Head + "@ SOA ns1 host (\n 1\n 1h\n 1x\n 1w\n 1d )\n");
        Assert.Equal(8, ex.Location.Line);
        Assert.Contains("SOA retry: bad time value '1x'", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Origin_comes_from_the_file_name()
    {
        Assert.Equal(DnsName.Parse("example.com."), ZoneFileReader.OriginFromFileName("/zones/example.com.zone"));
        Assert.Equal(DnsName.Parse("1.168.192.in-addr.arpa."), ZoneFileReader.OriginFromFileName("1.168.192.in-addr.arpa.zone"));
        Assert.Equal(DnsName.Parse("example.org."), ZoneFileReader.OriginFromFileName("zones/Example.Org.ZONE"));
        Assert.Equal(DnsName.Parse("example.net."), ZoneFileReader.OriginFromFileName("example.net."));
        var ex = Assert.Throws<ZoneLoadException>(() => ZoneFileReader.OriginFromFileName("a..b.zone"));
        Assert.Contains("cannot take the zone origin from the file name", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_file_with_an_explicit_origin_overrides_the_file_name()
    {
        var dir = TempDirectory();
        try
        {
            var path = Path.Combine(dir, "whatever.txt");
            File.WriteAllText(path, Head);
            var zone = ZoneFileReader.ReadFile(path, Example);
            Assert.Equal(Example, zone.Origin);
            Assert.Equal(path, zone.File);
            Assert.Equal(path, zone.Records[0].Source.File);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Missing_file_and_invalid_utf8_are_zone_load_errors_naming_the_file()
    {
        var dir = TempDirectory();
        try
        {
            var missing = Path.Combine(dir, "example.com.zone");
            var ex = Assert.Throws<ZoneLoadException>(() => ZoneFileReader.ReadFile(missing));
            Assert.Equal(missing, ex.Location.File);
            Assert.Contains("cannot read", ex.Reason, StringComparison.Ordinal);

            File.WriteAllBytes(missing, [.. System.Text.Encoding.ASCII.GetBytes(Head + "w TXT \""), 0xff, (byte)'"', (byte)'\n']);
            ex = Assert.Throws<ZoneLoadException>(() => ZoneFileReader.ReadFile(missing));
            Assert.Equal(5, ex.Location.Line);
            Assert.Contains("not valid UTF-8", ex.Reason, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Non_ascii_text_is_kept_as_utf8_octets()
    {
        var zone = Read("w TXT \"caf\u00e9 \U0001F600\"\n");
        Assert.Equal("0a" + Hex(System.Text.Encoding.UTF8.GetBytes("caf\u00e9 \U0001F600")), Hex(zone.Single("w", RecordType.TXT).RData));
        var ex = Fails(Head + "caf\u00e9 A 192.0.2.1\n");
        Assert.Contains("non-ASCII", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Records_keep_their_source_line_and_file_order()
    {
        var zone = Read("b A 192.0.2.2\n\na A 192.0.2.1\n");
        Assert.Equal([2, 3, 4, 5, 7], zone.Records.Select(r => r.Source.Line));
        Assert.Equal("b.example.com.", zone.Records[^2].Owner.ToString());
    }
}
