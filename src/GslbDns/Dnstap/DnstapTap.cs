using System.Net;
using System.Net.Sockets;
using GslbDns.Query;

namespace GslbDns.Server.Dnstap;

/// <summary>
/// A listener's handle on the dnstap log: its own address, port and protocol, which every message from it
/// carries. A listener holds null when dnstap is off, so the off path is one null test.
/// </summary>
internal sealed class DnstapTap
{
    private readonly DnstapLog _log;

    internal DnstapTap(DnstapLog log, IPEndPoint local, bool overTcp)
    {
        _log = log;
        var address = local.Address.IsIPv4MappedToIPv6 ? local.Address.MapToIPv4() : local.Address;
        LocalAddress = address.GetAddressBytes();
        LocalPort = local.Port;
        OverTcp = overTcp;
        IsIPv6 = address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    public byte[] LocalAddress { get; }

    public int LocalPort { get; }

    public bool OverTcp { get; }

    public bool IsIPv6 { get; }

    /// <summary>
    /// Offers one answered query (the client is <paramref name="context"/>'s source and <paramref name="clientPort"/>);
    /// <paramref name="response"/> is empty when no reply was sent. Copies and returns at once: never blocks,
    /// never allocates; a full ring drops the query and counts it.
    /// </summary>
    public void Record(ReadOnlySpan<byte> query, ReadOnlySpan<byte> response, QueryContext context, int clientPort) =>
        _log.Offer(this, query, response, context, clientPort);
}
