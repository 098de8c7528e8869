namespace GslbDns.Geo;

/// <summary>A geo-data file and 1-based line; line 0 means the file or folder as a whole.</summary>
public readonly record struct GeoDataLine(string File, int Line)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>
/// Geo-data that cannot be loaded: a bad or duplicate rule, an unreadable file, a missing folder. Its own
/// type, not the zone reader's, so Geo needs nothing from Zones and callers can tell the two sources apart.
/// The message is <c>file:line: reason</c>.
/// </summary>
public sealed class GeoDataException : Exception
{
    public GeoDataException(GeoDataLine at, string reason)
        : base($"{at}: {reason}")
    {
        File = at.File;
        Line = at.Line;
        Reason = reason;
    }

    public GeoDataException()
    {
        File = string.Empty;
        Reason = string.Empty;
    }

    public GeoDataException(string message)
        : base(message)
    {
        File = string.Empty;
        Reason = message;
    }

    public GeoDataException(string message, Exception innerException)
        : base(message, innerException)
    {
        File = string.Empty;
        Reason = message;
    }

    /// <summary>The geo-data file (or folder) at fault.</summary>
    public string File { get; }

    /// <summary>1-based line of the bad rule; 0 when the whole file or folder is at fault.</summary>
    public int Line { get; }

    public string Reason { get; }
}
