using GslbDns.Dns;

namespace GslbDns.Zones;

/// <summary>
/// One resource record as read from a master file. RDATA is the uncompressed wire form
/// (names inside it lower-cased, never compressed), so the query path copies it as it is.
/// </summary>
/// <param name="Owner">Absolute owner name.</param>
/// <param name="Type">Type code (<see cref="RecordType"/>).</param>
/// <param name="Class">Class code, IN for zone data.</param>
/// <param name="Ttl">TTL in seconds.</param>
/// <param name="RData">Uncompressed wire RDATA.</param>
/// <param name="Target">
/// The name inside RDATA that answers follow or complete: CNAME/DNAME target, NS host, MX exchange,
/// SRV target; null for other types.
/// </param>
/// <param name="Source">Where the record was read, for error messages.</param>
public sealed record ZoneRecord(DnsName Owner, ushort Type, ushort Class, uint Ttl, byte[] RData, DnsName? Target, SourceLocation Source);

/// <summary>A file and 1-based line number.</summary>
public readonly record struct SourceLocation(string File, int Line)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>A zone or config file that cannot be loaded; the message names file, line and reason.</summary>
public sealed class ZoneLoadException : Exception
{
    public ZoneLoadException(SourceLocation location, string reason)
        : base($"{location}: {reason}")
    {
        Location = location;
        Reason = reason;
    }

    public ZoneLoadException()
    {
        Reason = string.Empty;
    }

    public ZoneLoadException(string message)
        : base(message)
    {
        Reason = message;
    }

    public ZoneLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = message;
    }

    public SourceLocation Location { get; }

    public string Reason { get; }
}

/// <summary>The records of one zone as read and validated from its master file.</summary>
public sealed record ParsedZone(DnsName Origin, IReadOnlyList<ZoneRecord> Records, string File)
{
    /// <summary>Things worth an operator's attention that did not stop the load (e.g. TTLs that differ inside an RRset).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Files pulled in by $INCLUDE, with the hash of what was read, so a reload notices when only an included file changed.</summary>
    public IReadOnlyList<IncludedFile> Includes { get; init; } = [];

    /// <summary>IO.ContentHash of the zone file's octets as parsed; empty for zones read from text.</summary>
    public byte[] ContentHash { get; init; } = [];
}

/// <summary>A file read through $INCLUDE, with the IO.ContentHash of its octets as parsed (content, not mtime: a same-size edit within one clock tick still counts).</summary>
public sealed record IncludedFile(string Path, byte[] ContentHash);
