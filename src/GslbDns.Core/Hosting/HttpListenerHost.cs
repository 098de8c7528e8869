using System.Net;

namespace GslbDns.Hosting;

/// <summary>The host part of an HttpListener prefix (what prometheus-net's MetricServer listens with) for an address.</summary>
public static class HttpListenerHost
{
    /// <summary>
    /// <c>+</c> (HttpListener's wildcard) for the any-address of either family, else the address. The
    /// managed HttpListener rejects IPv6 literals in prefixes, so a specific IPv6 address cannot be served.
    /// </summary>
    public static string Of(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "+" : address.ToString();
}
