using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace GslbDns.Server.Listeners;

/// <summary>Reads the client address straight out of a native sockaddr, so the UDP loop needs no IPEndPoint per packet.</summary>
internal static class SocketAddressReader
{
    /// <summary>sizeof(struct sockaddr_in): the shortest address a UDP datagram's sender has.</summary>
    public const int MinimumLength = 16;

    public static void Read(SocketAddress address, out UInt128 value, out bool isIPv6)
        => Read(address.Buffer.Span, address.Family == AddressFamily.InterNetworkV6, out value, out isIPv6);

    /// <summary>A raw sockaddr as recvmmsg wrote it: sa_family in host byte order first (AF_INET6 = 10 on Linux).</summary>
    public static void Read(ReadOnlySpan<byte> sockaddr, out UInt128 value, out bool isIPv6)
        => Read(sockaddr, BitConverter.ToUInt16(sockaddr) == LinuxUdp.AfInet6, out value, out isIPv6);

    private static void Read(ReadOnlySpan<byte> buffer, bool family6, out UInt128 value, out bool isIPv6)
    {
        if (family6)
        {
            // sockaddr_in6: family(2) port(2) flowinfo(4) addr(16) scope(4)
            value = BinaryPrimitives.ReadUInt128BigEndian(buffer.Slice(8, 16));
            if (value >> 32 == 0xFFFF)
            {
                // IPv4-mapped: treat as the IPv4 client it is.
                value &= 0xFFFF_FFFF;
                isIPv6 = false;
                return;
            }

            isIPv6 = true;
            return;
        }

        // sockaddr_in: family(2) port(2) addr(4)
        value = BinaryPrimitives.ReadUInt32BigEndian(buffer.Slice(4, 4));
        isIPv6 = false;
    }

    /// <summary>The port of a native sockaddr_in or sockaddr_in6 (both keep it in bytes 2-3, network order).</summary>
    public static int Port(SocketAddress address) => Port(address.Buffer.Span);

    public static int Port(ReadOnlySpan<byte> sockaddr) => BinaryPrimitives.ReadUInt16BigEndian(sockaddr.Slice(2, 2));

    public static void Read(EndPoint? endPoint, out UInt128 value, out bool isIPv6)
    {
        value = 0;
        isIPv6 = false;
        if (endPoint is not IPEndPoint ip)
        {
            return;
        }

        var address = ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        if (written == 4)
        {
            value = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        }
        else
        {
            value = BinaryPrimitives.ReadUInt128BigEndian(bytes);
            isIPv6 = true;
        }
    }
}
