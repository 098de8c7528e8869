using System.Net;
using System.Net.Sockets;

namespace GslbDns.Tests.TestSupport;

/// <summary>
/// Ports for child processes that must be told a port up front (unbound, the server process, its /metrics).
/// Picked from 10000-19999, below Linux's ephemeral range (32768+) so no outgoing connection can take one
/// between the check and the child's bind, and away from the 20000-32000 the Consul tests use; checked free
/// for TCP and UDP on 127.0.0.1 and never handed out twice in this process. Another process can still race
/// us, so callers that start a child retry with a new port when it fails to bind.
/// </summary>
internal static class PortFinder
{
    private static readonly HashSet<int> Handed = [];

    public static int Take()
    {
        lock (Handed)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(10000, 20000);
                if (!Handed.Contains(port) && IsFree(IPAddress.Loopback, port))
                {
                    Handed.Add(port);
                    return port;
                }
            }
        }

        throw new InvalidOperationException("no free port found in 10000-19999 on 127.0.0.1");
    }

    public static bool IsFree(IPAddress address, int port)
    {
        try
        {
            using var tcp = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(address, port));
            using var udp = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
