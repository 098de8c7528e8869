using System.Buffers.Binary;
using System.Net;

namespace GslbDns.Geo;

/// <summary>Addresses as integers (IPv4 as a host-order uint, IPv6 as a big-endian UInt128 value).</summary>
internal static class AddressBits
{
    /// <summary>::ffff:0:0/96.</summary>
    public static bool IsV4Mapped(UInt128 address) => (address >> 32) == 0xFFFF;

    // prefix 0 is special-cased because C# takes a shift count modulo the width: x << 32 == x for uint.
    public static uint Mask(uint value, int prefix) =>
        prefix == 0 ? 0 : value & (uint.MaxValue << (32 - prefix));

    public static UInt128 Mask(UInt128 value, int prefix) =>
        prefix == 0 ? UInt128.Zero : value & (UInt128.MaxValue << (128 - prefix));

    public static UInt128 ReadV6(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }
}
