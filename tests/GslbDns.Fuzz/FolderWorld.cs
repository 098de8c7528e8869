using System.Buffers.Binary;
using System.Net;
using GslbDns.Answers;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Query;
using GslbDns.Snapshots;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Fuzz;

/// <summary>
/// A zone folder and a geo-data folder in a temp directory, started as a copy of world/, into which a loader target
/// writes its input as one file; <see cref="Rebuild"/> then loads them with a fresh <see cref="SnapshotBuilder"/> (the
/// server's one loading path, so nothing of an earlier input stands in as "last good") and <see cref="Ask"/> puts queries
/// to what loaded, checking every reply with <see cref="ReplyChecks"/>.
/// </summary>
public sealed class FolderWorld : IDisposable
{
    private readonly GeoIpDatabase? _geoIp;
    private readonly QueryContext _udp = new(ushort.MaxValue);
    private readonly QueryContext _tcp = new(ushort.MaxValue) { OverTcp = true };

    /// <param name="zoneFiles">Files of world/zones to copy (by name); the rest of that folder is left out.</param>
    public FolderWorld(IEnumerable<string> zoneFiles, bool withGeoIp)
    {
        Root = Directory.CreateTempSubdirectory("gslbdns-fuzz-").FullName;
        Zones = Directory.CreateDirectory(Path.Combine(Root, "zones")).FullName;
        GeoData = Directory.CreateDirectory(Path.Combine(Root, "geo-data")).FullName;
        foreach (var file in zoneFiles)
        {
            File.Copy(Path.Combine(FuzzWorld.Folder, "zones", file), Path.Combine(Zones, file));
        }

        _geoIp = withGeoIp ? FuzzWorld.OpenGeoIp() : null;
        Engine = FuzzWorld.NewEngine(Snapshots);
    }

    public string Root { get; }

    public string Zones { get; }

    public string GeoData { get; }

    public SnapshotHolder Snapshots { get; } = new(ServerSnapshot.Empty);

    public QueryEngine Engine { get; }

    /// <summary>Queries answered and checked since this world was made.</summary>
    public int Questions { get; private set; }

    /// <summary>Loads the folders from scratch; every error must name a file and say why.</summary>
    public IReadOnlyList<LoadError> Rebuild()
    {
        Snapshots.Update(_ => ServerSnapshot.Empty);
        var errors = new SnapshotBuilder(Zones, GeoData, _geoIp, Snapshots, NullLogger.Instance).Reload();
        foreach (var error in errors)
        {
            Check.That(!string.IsNullOrWhiteSpace(error.File) && !string.IsNullOrWhiteSpace(error.Reason), $"an error without file or reason: '{error}'");
            Check.That(error.Line >= 0, $"an error with line {error.Line}: '{error}'");
        }

        return errors;
    }

    /// <summary>One query without EDNS and one with EDNS and the client subnet, each over UDP and TCP, every reply checked.</summary>
    public void Ask(DnsName name, ushort type, IPAddress client, int prefix)
    {
        AskOnce(Plain(name, type), client);
        AskOnce(Explainer.BuildQuery(name, type, client, prefix), client);
    }

    private void AskOnce(byte[] request, IPAddress client)
    {
        Span<byte> bytes = stackalloc byte[16];
        client.TryWriteBytes(bytes, out var written);
        foreach (var context in new[] { _udp, _tcp })
        {
            context.SourceIsIPv6 = written == 16;
            context.SourceAddress = written == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt128BigEndian(bytes);
        }

        Questions++;
        var udpLength = Engine.Process(request, _udp);
        var tcpLength = Engine.Process(request, _tcp);
        ReplyChecks.CheckPair(request, _udp.Response.Buffer.AsSpan(0, udpLength), _tcp.Response.Buffer.AsSpan(0, tcpLength), FuzzWorld.EngineOptions.MaxUdpPayload);
    }

    /// <summary>A query as the oldest clients send it: one question, class IN, no OPT.</summary>
    public static byte[] Plain(DnsName name, ushort type, ushort id = 0x1234)
    {
        var packet = new byte[12 + name.WireLength + 4];
        BinaryPrimitives.WriteUInt16BigEndian(packet, id);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), 1);
        name.Wire.CopyTo(packet.AsSpan(12));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(12 + name.WireLength), type);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(14 + name.WireLength), RecordClass.IN);
        return packet;
    }

    public void Dispose()
    {
        _geoIp?.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
