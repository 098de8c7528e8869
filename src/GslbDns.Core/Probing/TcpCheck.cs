using System.Net;
using System.Net.Sockets;

namespace GslbDns.Probing;

/// <summary>A TCP check: passes when a connection to the endpoint's address and port is accepted.</summary>
public sealed class TcpCheck : IEndpointCheck
{
    public async ValueTask<ProbeResult> CheckAsync(ProbeTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        using var socket = new Socket(target.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(target.Address, target.Check.Port), cancellationToken);
        return ProbeResult.Ok;
    }
}
