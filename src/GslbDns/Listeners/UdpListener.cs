using System.Net;
using System.Net.Sockets;
using GslbDns.Query;
using GslbDns.Server.Dnstap;
using Microsoft.Extensions.Logging;

namespace GslbDns.Server.Listeners;

/// <summary>
/// UDP on one address: one SO_REUSEPORT socket per thread, each thread blocking in a synchronous
/// receive and answering in place (gdnsd's model). No thread-pool hop, no per-packet allocation.
/// </summary>
internal sealed partial class UdpListener : IDisposable
{
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    private readonly QueryEngine _engine;
    private readonly ILogger _logger;
    private readonly List<Socket> _sockets = [];
    private readonly List<Thread> _threads = [];
    private readonly List<QueryContext> _contexts = [];
    private readonly DnstapTap? _dnstap;
    private volatile bool _stopping;

    public UdpListener(IPEndPoint endPoint, int threads, QueryEngine engine, ILogger logger, DnstapLog? dnstap = null)
    {
        _engine = engine;
        _logger = logger;
        var port = endPoint.Port;
        for (var i = 0; i < Math.Max(1, threads); i++)
        {
            var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
            socket.Bind(new IPEndPoint(endPoint.Address, port));
            port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            _sockets.Add(socket);
        }

        LocalEndPoint = new IPEndPoint(endPoint.Address, port);
        Stats = Observability.DnsStatsGroup.For(LocalEndPoint, "udp");
        _dnstap = dnstap?.TapFor(LocalEndPoint, overTcp: false);
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The DNS series of this listener: one counter block per thread.</summary>
    public Observability.DnsStatsGroup Stats { get; }

    public IReadOnlyList<QueryContext> Contexts => _contexts;

    public void Start()
    {
        foreach (var socket in _sockets)
        {
            var context = new QueryContext(ushort.MaxValue) { Stats = Stats.NewBlock() };
            _contexts.Add(context);
            var thread = new Thread(() => Run(socket, context))
            {
                IsBackground = true,
                Name = $"dns-udp {LocalEndPoint}",
            };
            _threads.Add(thread);
            thread.Start();
        }
    }

    private void Run(Socket socket, QueryContext context)
    {
        var request = new byte[ushort.MaxValue];
        var peer = new SocketAddress(socket.AddressFamily);
        var response = context.Response.Buffer;
        while (!_stopping)
        {
            int received;
            try
            {
                received = socket.ReceiveFrom(request, SocketFlags.None, peer);
            }
            catch (SocketException) when (!_stopping)
            {
                // ICMP errors from earlier sends surface here; the socket stays usable.
                continue;
            }
            catch (Exception) when (_stopping)
            {
                break;
            }

            try
            {
                SocketAddressReader.Read(peer, out var address, out var isIPv6);
                context.SourceAddress = address;
                context.SourceIsIPv6 = isIPv6;
                var length = _engine.Process(request.AsSpan(0, received), context);
                _dnstap?.Record(request.AsSpan(0, received), response.AsSpan(0, length), context, SocketAddressReader.Port(peer));
                if (length > 0)
                {
                    socket.SendTo(response.AsSpan(0, length), SocketFlags.None, peer);
                }
            }
            catch (SocketException)
            {
                // The client went away; nothing to do for a datagram.
            }
            catch (Exception ex) when (!_stopping)
            {
                // A bug must not take the listener down: count it, log it, keep answering.
                context.Counters.Dropped++;
                LogQueryFailed(_logger, ex);
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        foreach (var thread in _threads)
        {
            thread.Join(TimeSpan.FromSeconds(2));
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "UDP query failed")]
    private static partial void LogQueryFailed(ILogger logger, Exception ex);
}
