using System.Diagnostics;
using GslbDns.Dns;

namespace GslbDns.Observability;

/// <summary>
/// The fixed label sets of the DNS series, as CoreDNS has them: the common query types by name and every other
/// type folded into <c>other</c>, RCODE names, and the histogram buckets (request and response sizes use
/// CoreDNS's buckets; durations start at 1 µs because an answer here takes microseconds, not milliseconds).
/// </summary>
public static class DnsLabels
{
    public static readonly string[] TypeNames =
        ["A", "AAAA", "MX", "SOA", "CNAME", "PTR", "TXT", "NS", "SRV", "DS", "DNSKEY", "RRSIG", "NSEC", "NSEC3", "HTTPS", "SVCB", "CAA", "IXFR", "AXFR", "ANY", "other"];

    public static readonly int TypeOther = TypeNames.Length - 1;

    /// <summary>RCODEs 0..23 (extended RCODEs up to BADCOOKIE); anything above is counted as 23's neighbour <c>other</c>.</summary>
    public const int RcodeCount = 25;

    /// <summary>Upper bounds in seconds: 1 µs doubling to about 0.5 s.</summary>
    public static readonly double[] DurationBounds = Enumerable.Range(0, 20).Select(i => 0.000_001 * Math.Pow(2, i)).ToArray();

    /// <summary>CoreDNS's size buckets, in bytes.</summary>
    public static readonly double[] SizeBounds = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];

    /// <summary><see cref="DurationBounds"/> in <see cref="Stopwatch"/> ticks, so the query path compares integers.</summary>
    internal static readonly long[] DurationBoundTicks = DurationBounds.Select(s => (long)Math.Ceiling(s * Stopwatch.Frequency)).ToArray();

    internal static readonly int[] SizeBoundBytes = SizeBounds.Select(b => (int)b).ToArray();

    public static int TypeBucket(ushort type) => type < 256 ? TypeBucketOf[type] : type == RecordType.CAA ? CaaBucket : TypeOther;

    public static string RcodeName(int rcode) => rcode switch
    {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        23 => "BADCOOKIE",
        >= RcodeCount - 1 => "other",
        _ => rcode.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static readonly ushort[] TypeCodes =
        [RecordType.A, RecordType.AAAA, RecordType.MX, RecordType.SOA, RecordType.CNAME, RecordType.PTR, RecordType.TXT, RecordType.NS, RecordType.SRV,
         RecordType.DS, RecordType.DNSKEY, RecordType.RRSIG, RecordType.NSEC, RecordType.NSEC3, RecordType.HTTPS, RecordType.SVCB, RecordType.CAA,
         RecordType.IXFR, RecordType.AXFR, RecordType.ANY];

    private static readonly byte[] TypeBucketOf = BuildTypeTable();

    private static readonly int CaaBucket = Array.IndexOf(TypeCodes, RecordType.CAA);

    private static byte[] BuildTypeTable()
    {
        var table = new byte[256];
        Array.Fill(table, (byte)TypeOther);
        for (var i = 0; i < TypeCodes.Length; i++)
        {
            if (TypeCodes[i] < 256)
            {
                table[TypeCodes[i]] = (byte)i;
            }
        }

        return table;
    }
}
