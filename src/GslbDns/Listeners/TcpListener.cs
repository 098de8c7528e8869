using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using GslbDns.Query;
using Microsoft.Extensions.Logging;

namespace GslbDns.Server.Listeners;

/// <summary>Limits for DNS over TCP (RFC 7766).</summary>
internal sealed record TcpLimits(int MaxConnections, TimeSpan IdleTimeout, TimeSpan ReadTimeout);

/// <summary>
/// DNS over TCP per RFC 7766: several queries per connection, pipelined queries answered in order,
/// an idle timeout, a cap on concurrent connections. On shutdown it stops accepting and answers
/// every query already received before closing.
/// </summary>
internal sealed partial class TcpListener : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly QueryEngine _engine;
    private readonly TcpLimits _limits;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Dictionary<int, Task> _connections = [];
    private readonly Lock _connectionsLock = new();
    private Task? _acceptLoop;
    private int _nextConnectionId;
    private int _active;

    public TcpListener(IPEndPoint endPoint, QueryEngine engine, TcpLimits limits, ILogger logger)
    {
        _engine = engine;
        _limits = limits;
        _logger = logger;
        _listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            _listener.DualMode = false;
        }

        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(endPoint);
        _listener.Listen(512);
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public int ActiveConnections => Volatile.Read(ref _active);

    private long _rejected;

    public long Rejected => Interlocked.Read(ref _rejected);

    public QueryCounters Counters { get; } = new();

    public void Start() => _acceptLoop = AcceptLoopAsync();

    private async Task AcceptLoopAsync()
    {
        while (!_shutdown.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_shutdown.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException)
            {
                continue;
            }

            if (Interlocked.Increment(ref _active) > _limits.MaxConnections)
            {
                // Over the cap: close at once rather than queue, so one client cannot exhaust us.
                Interlocked.Decrement(ref _active);
                Interlocked.Increment(ref _rejected);
                client.Dispose();
                continue;
            }

            client.NoDelay = true;
            var id = Interlocked.Increment(ref _nextConnectionId);
            var task = ServeAsync(client, id);
            lock (_connectionsLock)
            {
                if (!task.IsCompleted)
                {
                    _connections[id] = task;
                }
            }
        }
    }

    private async Task ServeAsync(Socket client, int id)
    {
        await Task.Yield();
        var context = new QueryContext(ushort.MaxValue) { OverTcp = true };
        SocketAddressReader.Read(client.RemoteEndPoint, out var address, out var isIPv6);
        context.SourceAddress = address;
        context.SourceIsIPv6 = isIPv6;
        var request = new byte[ushort.MaxValue];
        var reply = new byte[ushort.MaxValue + 2];
        try
        {
            while (true)
            {
                // Waiting for the next query is "idle"; a shutdown also ends the wait, unless a query is already queued.
                if (!await ReadExactlyAsync(client, request.AsMemory(0, 2), _limits.IdleTimeout, allowShutdown: true))
                {
                    break;
                }

                var length = BinaryPrimitives.ReadUInt16BigEndian(request);
                if (length == 0 || !await ReadExactlyAsync(client, request.AsMemory(0, length), _limits.ReadTimeout, allowShutdown: false))
                {
                    break;
                }

                int answer;
                try
                {
                    answer = _engine.Process(request.AsSpan(0, length), context);
                }
                catch (Exception ex)
                {
                    LogQueryFailed(_logger, ex);
                    break;
                }

                if (answer == 0)
                {
                    // RFC 7766 has no way to skip a reply on a stream; a dropped message ends the connection.
                    break;
                }

                BinaryPrimitives.WriteUInt16BigEndian(reply, (ushort)answer);
                context.Response.Buffer.AsSpan(0, answer).CopyTo(reply.AsSpan(2));
                using var writeTimeout = new CancellationTokenSource(_limits.ReadTimeout);
                await client.SendAsync(reply.AsMemory(0, answer + 2), SocketFlags.None, writeTimeout.Token);
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Peer reset or timed out mid-message: just close.
        }
        finally
        {
            MergeCounters(context.Counters);
            try
            {
                client.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }

            client.Dispose();
            Interlocked.Decrement(ref _active);
            lock (_connectionsLock)
            {
                _connections.Remove(id);
            }
        }
    }

    private async Task<bool> ReadExactlyAsync(Socket client, Memory<byte> buffer, TimeSpan timeout, bool allowShutdown)
    {
        var read = 0;
        using var timer = new CancellationTokenSource(timeout);
        var shutdownEndsWait = allowShutdown && !(client.Available >= buffer.Length);
        using var linked = shutdownEndsWait
            ? CancellationTokenSource.CreateLinkedTokenSource(timer.Token, _shutdown.Token)
            : CancellationTokenSource.CreateLinkedTokenSource(timer.Token);
        var token = linked.Token;
        while (read < buffer.Length)
        {
            int n;
            try
            {
                n = await client.ReceiveAsync(buffer[read..], SocketFlags.None, token);
            }
            catch (OperationCanceledException) when (shutdownEndsWait && !timer.IsCancellationRequested && client.Available > 0)
            {
                // Shutdown cancelled the wait although the next query had already arrived (its bytes sit in the
                // socket, not yet read): it was received before the stop, so finish reading it and answer it.
                shutdownEndsWait = false;
                token = timer.Token;
                continue;
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    private void MergeCounters(QueryCounters finished)
    {
        lock (Counters)
        {
            for (var i = 0; i < finished.ByRcode.Length; i++)
            {
                Counters.ByRcode[i] += finished.ByRcode[i];
            }

            Counters.Truncated += finished.Truncated;
            Counters.Dropped += finished.Dropped;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync();
        _listener.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop;
        }

        Task[] pending;
        lock (_connectionsLock)
        {
            pending = [.. _connections.Values];
        }

        // Queries already read are answered; give them a bounded time.
        await Task.WhenAny(Task.WhenAll(pending), Task.Delay(_limits.ReadTimeout));
        _shutdown.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "TCP query failed")]
    private static partial void LogQueryFailed(ILogger logger, Exception ex);
}
