using System.Net;
using System.Text;

namespace GslbDns.Tests.Server;

/// <summary>
/// The zones the conformance tests serve, written as master files the way an operator would write them.
/// <list type="bullet">
/// <item>example.test: SOA TTL 3600 with MINIMUM 300 (negative TTL 300), NS at the apex, A/AAAA, a CNAME chain
/// of two hops inside the zone, one into other.test and one out of our zones, MX/SRV with in-zone targets, TXT
/// with several strings, a medium TXT RRset (over 512, under 1232 bytes) and a big one (over 1232), CAA, an
/// RFC 3597 record, RFC 4592's wildcard example under wild.example.test, the delegation sub.example.test with
/// in-bailiwick glue that points at a second server (the child) on port 53, and for size limits an MX host with 30
/// addresses and a delegation (big) with 12 name servers and their glue.</item>
/// <item>other.test: SOA TTL 120 with MINIMUM 600 (negative TTL 120, the other side of RFC 2308's min).</item>
/// <item>2.0.192.in-addr.arpa: a reverse zone with a PTR.</item>
/// <item>sub.example.test: the child zone, served by the child server only.</item>
/// </list>
/// </summary>
internal static class TestZones
{
    public const string Origin = "example.test.";
    public const string Other = "other.test.";
    public const string Reverse = "2.0.192.in-addr.arpa.";
    public const string Child = "sub.example.test.";

    public const uint ExampleNegativeTtl = 300;
    public const uint OtherNegativeTtl = 120;

    public static readonly string[] WwwV4 = ["192.0.2.10", "192.0.2.11"];
    public const string WwwV6 = "2001:db8::10";
    public const string OtherWww = "198.51.100.7";
    public const string ChildWww = "192.0.2.99";
    public const int MediumTxtStrings = 3;
    public const int BigTxtStrings = 7;
    public const int TxtStringLength = 200;
    public const int ManyAddresses = 30;
    public const int BigDelegationServers = 12;

    /// <summary>The RRset of medtxt: 3 records of 200 octets, about 690 bytes on the wire with its question.</summary>
    /// <summary>The long links of the nxchain CNAME chain, one 61-octet label each: its CNAMEs fit in 512 octets, not with the SOA.</summary>
    public static string NxChainName(int i) => new((char)('p' + i), 61);

    public static string MediumTxt(int i) => new((char)('a' + i), TxtStringLength);

    /// <summary>The RRset of bigtxt: 7 records of 200 octets, about 1530 bytes on the wire.</summary>
    public static string BigTxt(int i) => new((char)('m' + i), TxtStringLength);

    public static string ExampleZone(IPAddress glue)
    {
        var text = new StringBuilder();
        text.Append($$"""
            ; example.test, written by the conformance tests
            $ORIGIN example.test.
            $TTL 3600
            @       IN SOA  ns1.example.test. hostmaster.example.test. (
                            2024010101 ; serial
                            1h         ; refresh
                            15m        ; retry
                            1w         ; expire
                            300 )      ; negative-caching TTL
                    IN NS   ns1
                    IN NS   ns2
                    IN MX   10 mail
                    IN TXT  "v=spf1 mx -all"
                    IN CAA  0 issue "letsencrypt.org"
            ns1     IN A    127.0.0.1
            ns2     IN A    127.0.0.2
            mail    IN A    192.0.2.25
                    IN AAAA 2001:db8::25
            www     IN A    192.0.2.10
                    IN A    192.0.2.11
                    IN AAAA 2001:db8::10
            alias   IN CNAME alias2
            alias2  IN CNAME www
            cross   IN CNAME www.other.test.
            outside IN CNAME www.example.net.
            dangling IN CNAME nothere
            ; A chain to a name that does not exist, whose CNAMEs fit in 512 octets but not with the SOA of the NXDOMAIN.
            nxchain IN CNAME {{NxChainName(0)}}
            {{NxChainName(0)}} IN CNAME {{NxChainName(1)}}
            {{NxChainName(1)}} IN CNAME {{NxChainName(2)}}.{{new string('v', 40)}}
            _sip._udp IN SRV 10 60 5060 sip
            sip     IN A    192.0.2.50
            txt     IN TXT  "first string" "second string" "third"
            opaque  IN TYPE65280 \# 3 abcdef
            ; RFC 4592 section 2.2.1, moved below wild.example.test.
            *.wild      IN TXT "this is a wildcard"
            *.wild      IN MX  10 host1.wild
            sub.*.wild  IN TXT "this is not a wildcard"
            host1.wild  IN A   192.0.2.1
            _ssh._tcp.host1.wild IN SRV 0 0 22 host1.wild
            _ssh._tcp.host2.wild IN SRV 0 0 22 host2.wild
            subdel.wild IN NS  ns.other.test.
            ; The delegation: in-bailiwick glue pointing at the child server on port 53.
            sub     IN NS   ns1.sub
                    IN NS   ns2.sub
            ns1.sub IN A    {{glue}}
            ns2.sub IN AAAA 2001:db8::53

            """);
        for (var i = 0; i < MediumTxtStrings; i++)
        {
            text.Append($"medtxt  IN TXT \"{MediumTxt(i)}\"\n");
        }

        for (var i = 0; i < BigTxtStrings; i++)
        {
            text.Append($"bigtxt  IN TXT \"{BigTxt(i)}\"\n");
        }

        // An MX whose exchange has more addresses than fit in 512 bytes beside it: additional data, never split.
        text.Append("manymx  IN MX  10 many\n");
        for (var i = 1; i <= ManyAddresses; i++)
        {
            text.Append($"many    IN A   192.0.2.{100 + i}\n");
        }

        // A delegation whose in-domain glue (RFC 9471) does not fit in 512 bytes.
        for (var i = 1; i <= BigDelegationServers; i++)
        {
            text.Append($"big     IN NS  ns{i}.big\nns{i}.big IN A 198.51.100.{i}\nns{i}.big IN AAAA 2001:db8:b16::{i}\n");
        }

        return text.ToString();
    }

    public static string OtherZone(string www = OtherWww) => $"""
        $ORIGIN other.test.
        $TTL 600
        @   120 IN SOA ns1.example.test. hostmaster.other.test. ( 1 3600 900 604800 600 )
            IN NS  ns1.example.test.
        www IN A   {www}
        ns  IN A   198.51.100.53

        """;

    public const string ReverseZone = """
        $ORIGIN 2.0.192.in-addr.arpa.
        $TTL 3600
        @  IN SOA ns1.example.test. hostmaster.example.test. ( 1 3600 900 604800 300 )
           IN NS  ns1.example.test.
        10 IN PTR www.example.test.

        """;

    public static string ChildZone(IPAddress glue) => $"""
        $ORIGIN sub.example.test.
        $TTL 3600
        @   IN SOA ns1.sub.example.test. hostmaster.example.test. ( 1 3600 900 604800 300 )
            IN NS   ns1
            IN NS   ns2
        ns1 IN A    {glue}
        ns2 IN AAAA 2001:db8::53
        www IN A    {ChildWww}

        """;

    /// <summary>Writes the parent server's zones (example.test, other.test, the reverse zone) into <paramref name="folder"/>.</summary>
    public static void WriteParentZones(string folder, IPAddress glue)
    {
        File.WriteAllText(Path.Combine(folder, "example.test.zone"), ExampleZone(glue));
        File.WriteAllText(Path.Combine(folder, "other.test.zone"), OtherZone());
        File.WriteAllText(Path.Combine(folder, "2.0.192.in-addr.arpa.zone"), ReverseZone);
    }

    /// <summary>Replaces a file the way careful tools do: write a temporary file, then rename it over the old one.</summary>
    public static void WriteAtomically(string path, string text, DateTime? lastWriteUtc = null)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        if (lastWriteUtc is { } time)
        {
            File.SetLastWriteTimeUtc(temporary, time);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
