namespace GslbDns.Server.Dnstap;

/// <summary>Where dnstap goes: a file (unidirectional Frame Streams) or a reader's UNIX socket (bidirectional).</summary>
internal sealed record DnstapTarget(string Path, bool IsSocket)
{
    public const string SocketPrefix = "unix:";

    /// <summary><c>FILE</c> or <c>unix:PATH</c>; throws <see cref="FormatException"/> with the reason.</summary>
    public static DnstapTarget Parse(string text)
    {
        var isSocket = text.StartsWith(SocketPrefix, StringComparison.Ordinal);
        var path = isSocket ? text[SocketPrefix.Length..] : text;
        return path.Length == 0 ? throw new FormatException("needs a path (FILE or unix:PATH)") : new DnstapTarget(path, isSocket);
    }

    public override string ToString() => IsSocket ? SocketPrefix + Path : Path;
}

/// <summary>The query log's settings; the server runs none unless <c>--dnstap</c> is given.</summary>
internal sealed record DnstapOptions(DnstapTarget Target, int SampleEvery)
{
    /// <summary>Slots in the ring between the query threads and the writer (a power of two).</summary>
    public int RingSlots { get; init; } = 4096;

    /// <summary>Room for a query and its response; a larger pair (a big TCP answer) is dropped and counted.</summary>
    public int BytesPerSlot { get; init; } = 4096;

    /// <summary>The dnstap identity field (the server's --identity, else the host name).</summary>
    public string Identity { get; init; } = Environment.MachineName;
}
