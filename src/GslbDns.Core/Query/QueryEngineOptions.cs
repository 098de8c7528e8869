using System.Text;

namespace GslbDns.Query;

/// <summary>Answer-shaping settings that do not change per zone.</summary>
public sealed record QueryEngineOptions
{
    /// <summary>Largest UDP reply we send with EDNS (RFC 6891 / DNS flag day 2020: 1232 avoids fragmentation).</summary>
    public ushort MaxUdpPayload { get; init; } = 1232;

    /// <summary>RFC 5001 NSID returned to clients that ask; null to stay silent.</summary>
    public string? Nsid { get; init; }

    /// <summary>Answer for CHAOS version.bind/version.server; null refuses, so the version is not revealed.</summary>
    public string? Version { get; init; }

    /// <summary>Answer for CHAOS hostname.bind/id.server; null refuses.</summary>
    public string? Identity { get; init; }

    /// <summary>
    /// Known names and precompiled replies (<see cref="KnownName"/>); false sends every query down the general path,
    /// which the tests compare the precompiled replies with.
    /// </summary>
    public bool PrecompiledAnswers { get; init; } = true;

    public byte[] NsidBytes => Nsid is null ? [] : Encoding.UTF8.GetBytes(Nsid);
}
