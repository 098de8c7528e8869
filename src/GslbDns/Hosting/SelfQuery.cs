using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using GslbDns.Dns;

namespace GslbDns.Server.Hosting;

/// <summary>
/// The DNS server's own liveness check for the systemd watchdog: one SOA query for a served zone's apex through a
/// UDP listener, as any client would send it, answered with the same ID. Proves the serving threads still take
/// queries off the socket and answer them, which a timer in the process could not. Any RCODE counts: what the
/// zones say is /readyz's business; a restart would not mend a zone that was removed.
/// </summary>
internal static class SelfQuery
{
    /// <returns>null when answered; a socket error is thrown, and the cancellation ends an unanswered wait.</returns>
    public static async Task<string?> AskAsync(IPEndPoint listener, string zone, CancellationToken cancel)
    {
        // A wildcard listener is reached through the loopback of its family.
        var target = listener.Address.Equals(IPAddress.Any) ? new IPEndPoint(IPAddress.Loopback, listener.Port)
            : listener.Address.Equals(IPAddress.IPv6Any) ? new IPEndPoint(IPAddress.IPv6Loopback, listener.Port)
            : listener;
        var id = (ushort)Random.Shared.Next(ushort.MaxValue + 1);
        var name = DnsName.Parse(zone);
        var query = new byte[12 + name.WireLength + 4];
        BinaryPrimitives.WriteUInt16BigEndian(query, id);
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(4), 1);
        name.Wire.CopyTo(query.AsSpan(12));
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(12 + name.WireLength), RecordType.SOA);
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(14 + name.WireLength), RecordClass.IN);

        using var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(target, cancel);
        await socket.SendAsync(query, SocketFlags.None, cancel);
        var reply = new byte[512];
        while (true)
        {
            // A stale reply to an earlier, timed-out check has another ID: skip it.
            var length = await socket.ReceiveAsync(reply, SocketFlags.None, cancel);
            if (length >= 12 && BinaryPrimitives.ReadUInt16BigEndian(reply) == id && (reply[2] & 0x80) != 0)
            {
                return null;
            }
        }
    }
}
