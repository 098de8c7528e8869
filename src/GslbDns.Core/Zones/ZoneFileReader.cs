using System.Text.Unicode;
using GslbDns.Dns;

namespace GslbDns.Zones;

/// <summary>
/// Reads an RFC 1035 master file (with the BIND extensions every server accepts: <c>$TTL</c>, TTL units)
/// into validated <see cref="ZoneRecord"/>s. Ours rather than ARSoft.Tools.Net's parser, which drops records
/// after a one-line SOA in parentheses, misreads owners named like types, rejects TTL units and loses
/// file and line in its errors. Every error is a <see cref="ZoneLoadException"/> naming file, line and reason.
/// </summary>
public static class ZoneFileReader
{
    /// <summary>How deep <c>$INCLUDE</c> may nest (an included file including another is depth 2).</summary>
    public const int MaxIncludeDepth = 8;

    /// <summary>
    /// The largest zone file, and the largest file it may <c>$INCLUDE</c>, in bytes: a million records are about
    /// 40 MB, so this only stops a mistake (or <c>$INCLUDE /dev/zero</c>'s cousins) from filling memory.
    /// </summary>
    public const long MaxFileBytes = 64L << 20;

    /// <summary>
    /// Reads and validates the zone in <paramref name="path"/>. Without <paramref name="origin"/> the origin is the
    /// file name less a <c>.zone</c> suffix (<c>example.com.zone</c> is <c>example.com.</c>).
    /// </summary>
    public static ParsedZone ReadFile(string path, DnsName? origin = null)
    {
        origin ??= OriginFromFileName(path);
        var text = ReadSource(path, new SourceLocation(path, 0), out var hash);
        return Read(text, path, origin) with { ContentHash = hash };
    }

    /// <summary>Reads and validates zone text as if it came from <paramref name="fileName"/> ($INCLUDE paths are relative to its directory).</summary>
    public static ParsedZone ReadText(string text, string fileName, DnsName origin) => Read(text, fileName, origin);

    /// <summary>The origin a file name implies: its name without directory and without a trailing <c>.zone</c>.</summary>
    public static DnsName OriginFromFileName(string path)
    {
        var name = Path.GetFileName(path);
        if (name.EndsWith(".zone", StringComparison.OrdinalIgnoreCase))
        {
            name = name[..^5];
        }

        if (!name.EndsWith('.'))
        {
            name += ".";
        }

        if (!DnsName.TryParse(name, null, out var origin, out var error))
        {
            throw new ZoneLoadException(new SourceLocation(path, 0), $"cannot take the zone origin from the file name: {error}; give the origin explicitly");
        }

        return origin;
    }

    private static ParsedZone Read(string text, string fileName, DnsName origin)
    {
        var parser = new ZoneParser(origin);
        parser.ParseTop(text, fileName);
        var records = parser.Finish();
        var warnings = parser.Warnings;
        var valid = ZoneValidator.Validate(origin, records, fileName, warnings);
        return new ParsedZone(origin, valid, fileName)
        {
            Warnings = warnings.ConvertAll(w => w.ToString()),
            Includes = parser.Includes,
        };
    }

    /// <summary>
    /// Reads a file as strict UTF-8 so that non-ASCII text in TXT records keeps its octets; invalid UTF-8 is an
    /// error with its line rather than a silent U+FFFD.
    /// </summary>
    /// <param name="contentHash"><see cref="IO.ContentHash"/> of the octets read, so a reload can tell whether this exact content was loaded before.</param>
    internal static string ReadSource(string path, SourceLocation blame, out byte[] contentHash)
    {
        byte[] bytes;
        try
        {
            bytes = IO.BoundedFile.ReadAllBytes(path, MaxFileBytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ZoneLoadException(blame, $"cannot read '{path}': {ex.Message}");
        }

        contentHash = IO.ContentHash.Of(bytes);
        var chars = new char[bytes.Length];
        var status = Utf8.ToUtf16(bytes, chars, out var read, out var written, replaceInvalidSequences: false);
        if (status != System.Buffers.OperationStatus.Done)
        {
            var line = 1 + bytes.AsSpan(0, read).Count((byte)'\n');
            throw new ZoneLoadException(new SourceLocation(path, line), "the file is not valid UTF-8 here; write other octets as \\DDD escapes");
        }

        return new string(chars, 0, written);
    }
}
