using System.Collections.Frozen;
using System.Globalization;

namespace GslbDns.Dns;

/// <summary>Resource record type codes (IANA registry) that the server treats specially or parses from text.</summary>
public static class RecordType
{
    public const ushort A = 1;
    public const ushort NS = 2;
    public const ushort CNAME = 5;
    public const ushort SOA = 6;
    public const ushort PTR = 12;
    public const ushort HINFO = 13;
    public const ushort MX = 15;
    public const ushort TXT = 16;
    public const ushort AAAA = 28;
    public const ushort SRV = 33;
    public const ushort NAPTR = 35;
    public const ushort DNAME = 39;
    public const ushort OPT = 41;
    public const ushort DS = 43;
    public const ushort RRSIG = 46;
    public const ushort NSEC = 47;
    public const ushort DNSKEY = 48;
    public const ushort NSEC3 = 50;
    public const ushort CDS = 59;
    public const ushort CDNSKEY = 60;

    /// <summary>RFC 9824 compact denial: in an NSEC type bitmap, "this name does not exist" (a meta type, never queried).</summary>
    public const ushort NXNAME = 128;
    public const ushort SVCB = 64;
    public const ushort HTTPS = 65;
    public const ushort IXFR = 251;
    public const ushort AXFR = 252;
    public const ushort MAILB = 253;
    public const ushort MAILA = 254;
    public const ushort ANY = 255;
    public const ushort CAA = 257;

    private static readonly FrozenDictionary<string, ushort> ByName = new Dictionary<string, ushort>(StringComparer.OrdinalIgnoreCase)
    {
        ["A"] = A, ["NS"] = NS, ["CNAME"] = CNAME, ["SOA"] = SOA, ["PTR"] = PTR, ["HINFO"] = HINFO,
        ["MX"] = MX, ["TXT"] = TXT, ["AAAA"] = AAAA, ["SRV"] = SRV, ["NAPTR"] = NAPTR, ["DNAME"] = DNAME,
        ["OPT"] = OPT, ["DS"] = DS, ["RRSIG"] = RRSIG, ["NSEC"] = NSEC, ["DNSKEY"] = DNSKEY, ["NSEC3"] = NSEC3, ["CDS"] = CDS, ["CDNSKEY"] = CDNSKEY,
        ["SVCB"] = SVCB, ["HTTPS"] = HTTPS, ["IXFR"] = IXFR, ["AXFR"] = AXFR, ["ANY"] = ANY, ["CAA"] = CAA,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<ushort, string> ByCode = ByName.ToFrozenDictionary(p => p.Value, p => p.Key);

    /// <summary>Parses a mnemonic or the RFC 3597 form <c>TYPEnnn</c>.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out ushort type)
    {
        if (ByName.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out type))
        {
            return true;
        }

        if (text.Length > 4 && text[..4].Equals("TYPE", StringComparison.OrdinalIgnoreCase)
            && ushort.TryParse(text[4..], NumberStyles.None, CultureInfo.InvariantCulture, out type))
        {
            return true;
        }

        type = 0;
        return false;
    }

    public static string ToText(ushort type) => ByCode.TryGetValue(type, out var name) ? name : "TYPE" + type.ToString(CultureInfo.InvariantCulture);

    /// <summary>Meta and question-only types (RFC 6895) never stored in a zone.</summary>
    public static bool IsMetaOrQuestionOnly(ushort type) => type is OPT or (>= 128 and <= 255);
}

public static class RecordClass
{
    public const ushort IN = 1;
    public const ushort CH = 3;
    public const ushort NONE = 254;
    public const ushort ANY = 255;
}

public static class ResponseCode
{
    public const int NoError = 0;
    public const int FormErr = 1;
    public const int ServFail = 2;
    public const int NXDomain = 3;
    public const int NotImp = 4;
    public const int Refused = 5;
    public const int BadVers = 16;

    /// <summary>RFC 7873 8: the server cookie is missing or wrong; the reply carries a fresh one to retry with.</summary>
    public const int BadCookie = 23;
}
