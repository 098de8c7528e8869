using System.Net;
using System.Net.Sockets;

namespace GslbDns.Gslb.Config;

/// <summary>
/// Strict IP address text for endpoints and fallbacks. IPAddress.TryParse alone accepts "10.1"
/// (as 10.0.0.1), "1" and octal-looking forms that an operator almost certainly did not mean, and
/// scoped IPv6 addresses that mean nothing in a DNS answer.
/// </summary>
internal static class AddressText
{
    public static bool TryParse(string text, out IPAddress address, out string error)
    {
        address = IPAddress.None;
        error = string.Empty;
        if (text.Contains(':', StringComparison.Ordinal))
        {
            if (text.Contains('%', StringComparison.Ordinal) || !IPAddress.TryParse(text, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"'{text}' is not an IPv6 address";
                return false;
            }

            address = v6;
        }
        else
        {
            if (!IsDottedQuad(text) || !IPAddress.TryParse(text, out var v4))
            {
                error = $"'{text}' is not an IPv4 address (four decimal octets) or an IPv6 address";
                return false;
            }

            address = v4;
        }

        // These would be answered to clients as if they were servers.
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.IsIPv6Multicast
            || (address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] is >= 224))
        {
            error = $"'{text}' is not a unicast address";
            return false;
        }

        return true;
    }

    private static bool IsDottedQuad(string text)
    {
        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        foreach (var part in parts)
        {
            // A leading zero reads as octal to some tools and decimal to others; refuse the ambiguity.
            if (part.Length is 0 or > 3 || !part.All(char.IsAsciiDigit) || (part.Length > 1 && part[0] == '0') || int.Parse(part, System.Globalization.CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }

        return true;
    }
}
