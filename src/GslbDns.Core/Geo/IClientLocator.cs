using System.Net;

namespace GslbDns.Geo;

/// <summary>
/// Places a DNS client (the ECS address, else the packet's source) for the GSLB policies.
/// Implementations are called on the query path: no locks, no I/O, no allocation in steady state.
/// </summary>
public interface IClientLocator
{
    /// <summary>
    /// Locates a client from its address in network byte order: 4 bytes (IPv4) or 16 bytes (IPv6;
    /// IPv4-mapped addresses are located as IPv4). An ECS address, which arrives truncated to its
    /// source prefix, must be zero-padded to 4 or 16 bytes first.
    /// </summary>
    /// <exception cref="ArgumentException">The span is neither 4 nor 16 bytes long.</exception>
    LocateResult Locate(ReadOnlySpan<byte> address);

    /// <summary>Convenience for callers that already hold an <see cref="IPAddress"/>.</summary>
    LocateResult Locate(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int written))
        {
            throw new ArgumentException($"Unsupported address {address}.", nameof(address));
        }

        return Locate(bytes[..written]);
    }
}
