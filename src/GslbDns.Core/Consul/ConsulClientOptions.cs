using System.Text;

namespace GslbDns.Consul;

/// <summary>Where and how <see cref="ConsulClient"/> talks to Consul.</summary>
public sealed record ConsulClientOptions
{
    /// <summary>
    /// Agents to talk to, in order of preference. On a connection failure, a timeout or a 5xx the client
    /// tries the next one and keeps using whichever answered, so one dead agent costs one failed attempt,
    /// not one per request.
    /// </summary>
    public required IReadOnlyList<Uri> Addresses { get; init; }

    /// <summary>ACL token, sent as <c>X-Consul-Token</c>. Redacted from <see cref="ToString"/>, logs and exceptions.</summary>
    public string? Token { get; init; }

    /// <summary>Datacenter (<c>dc=</c>); null means the agent's own.</summary>
    public string? Datacenter { get; init; }

    /// <summary>
    /// Budget for one attempt against one agent. A blocking query gets this on top of its wait plus
    /// Consul's wait/16 jitter, so a healthy long poll is never cut short.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws when the options cannot work, so a bad configuration fails at start-up rather than on the first request.</summary>
    public void Validate()
    {
        if (Addresses is null || Addresses.Count == 0)
        {
            throw new ArgumentException("at least one Consul address is required", nameof(Addresses));
        }

        foreach (var address in Addresses)
        {
            if (address is null || !address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException($"Consul address '{address}' must be an absolute http or https URI", nameof(Addresses));
            }
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RequestTimeout), RequestTimeout, "must be positive");
        }
    }

    // The compiler-generated ToString would print the token; records use PrintMembers for ToString.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Addresses = [").AppendJoin(", ", Addresses ?? []).Append(']');
        builder.Append(", Token = ").Append(Token is null ? "null" : "<redacted>");
        builder.Append(", Datacenter = ").Append(Datacenter ?? "null");
        builder.Append(", RequestTimeout = ").Append(RequestTimeout);
        return true;
    }
}
