using GslbDns.Query;

namespace GslbDns.Fuzz.Targets;

/// <summary>
/// One packet in, the whole answer path, the replies out: the packet goes through <see cref="QueryEngine.Process"/>
/// as a UDP listener and as a TCP connection would hand it over (from a client at 81.2.69.160, which GeoLite2
/// places in Europe), and <see cref="ReplyChecks.CheckPair"/> asserts every invariant of the two replies.
/// </summary>
public sealed class QueryTarget(FuzzWorld world) : IFuzzTarget
{
    /// <summary>81.2.69.160, MaxMind's test address: a client the GeoIP database knows.</summary>
    private const uint ClientAddress = (81u << 24) | (2u << 16) | (69u << 8) | 160u;

    private readonly QueryContext _udp = new(ushort.MaxValue) { SourceAddress = ClientAddress };
    private readonly QueryContext _tcp = new(ushort.MaxValue) { SourceAddress = ClientAddress, OverTcp = true };

    public void Run(ReadOnlySpan<byte> input)
    {
        var udpLength = world.Engine.Process(input, _udp);
        var tcpLength = world.Engine.Process(input, _tcp);
        ReplyChecks.CheckPair(input, _udp.Response.Buffer.AsSpan(0, udpLength), _tcp.Response.Buffer.AsSpan(0, tcpLength), FuzzWorld.EngineOptions.MaxUdpPayload);
    }
}
