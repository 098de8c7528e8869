using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using GslbDns.Query;
using GslbDns.Server.Dnstap;
using Microsoft.Extensions.Logging;

namespace GslbDns.Server.Listeners;

/// <summary>
/// Limits for DNS over TCP (RFC 7766). <paramref name="IdleTimeout"/>: how long a connection may wait for the first byte
/// of its next query. <paramref name="ReadTimeout"/>: from that first byte, how long the whole query may take to arrive
/// (a slow-read guard), and how long a reply may take to be written.
/// </summary>
internal sealed record TcpLimits(int MaxConnections, TimeSpan IdleTimeout, TimeSpan ReadTimeout)
{
    /// <summary>Concurrent connections from one client address; more are closed at once.</summary>
    public int MaxPerClient { get; init; } = 32;

    /// <summary>
    /// At the connection cap, the connection that has waited longest for input (idle, or a query arriving slowly) is
    /// closed to make room for the new one if it has waited at least this long (RFC 7766 6.2.3 lets a loaded server close
    /// idle connections). Connections answering a query are never pushed out; with none to close the new one is.
    /// </summary>
    public TimeSpan EvictableAfter { get; init; } = TimeSpan.Zero;
}

/// <summary>
/// DNS over TCP per RFC 7766: several queries per connection, pipelined queries answered in order, an idle timeout, a
/// deadline for each query to arrive whole, a cap on connections in total and per client address. At the cap the
/// connection that has waited longest for input makes room (slow or idle clients cannot starve busy ones, as in a
/// slowloris attack); when none has waited long enough the new one is closed. Queries in flight per connection are
/// bounded at one: the next query is read only once the previous reply is written, so a client that pipelines without
/// reading replies is held by TCP flow control and dropped at the write deadline. On shutdown it stops accepting and
/// answers every query already received before closing.
/// </summary>
internal sealed partial class TcpListener : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly QueryEngine _engine;
    private readonly TcpLimits _limits;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Dictionary<int, Connection> _connections = [];
    private readonly Dictionary<(UInt128, bool), int> _perClient = [];
    private readonly Lock _connectionsLock = new();
    private Task? _acceptLoop;
    private int _nextConnectionId;
    private int _active;
    private int _evicting;
    private long _rejected;
    private long _rejectedPerClient;
    private long _evicted;
    private readonly DnstapTap? _dnstap;

    public TcpListener(IPEndPoint endPoint, QueryEngine engine, TcpLimits limits, ILogger logger, DnstapLog? dnstap = null)
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
        Stats = Observability.DnsStatsGroup.For(LocalEndPoint, "tcp");
        _dnstap = dnstap?.TapFor(LocalEndPoint, overTcp: true);
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The DNS series of this listener: one counter block per thread-pool thread that served it.</summary>
    public Observability.DnsStatsGroup Stats { get; }

    public int ActiveConnections => Volatile.Read(ref _active);

    /// <summary>Connections closed at once because the total cap was reached and no connection could make room.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Connections closed at once because their client address already had its share.</summary>
    public long RejectedPerClient => Interlocked.Read(ref _rejectedPerClient);

    /// <summary>Waiting connections closed to make room for a new one at the cap.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    public QueryCounters Counters { get; } = new();

    public void Start() => _acceptLoop = AcceptLoopAsync();

    /// <summary>One accepted connection, as the accept loop sees it when it must choose one to close.</summary>
    private sealed class Connection(int id, Socket socket, UInt128 address, bool isIPv6) : IDisposable
    {
        public int Id { get; } = id;

        public Socket Socket { get; } = socket;

        public (UInt128, bool) Client { get; } = (address, isIPv6);

        /// <summary>Stopwatch timestamp since which the connection waits for input; 0 while a query is answered.</summary>
        public long WaitingSince;

        public bool Evicted;

        public Task? Task;

        /// <summary>The current wait's deadline (idle, read or write), re-armed per wait.</summary>
        public CancellationTokenSource Deadline = new();

        /// <summary>True while waiting for the first byte of the next query: only then does the stop end the wait.</summary>
        public bool Idle;

        /// <summary>The stop cancelled <see cref="Deadline"/> while idle (not the idle timeout).</summary>
        public volatile bool StoppedWhileIdle;

        public void StopWhileIdle()
        {
            if (Volatile.Read(ref Idle))
            {
                StoppedWhileIdle = true;
                try
                {
                    Deadline.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The connection ended meanwhile.
                }
            }
        }

        public void ReplaceDeadline(TimeSpan timeout)
        {
            var old = Deadline;
            Deadline = new CancellationTokenSource(timeout);
            old.Dispose();
        }

        public void Dispose() => Deadline.Dispose();
    }

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

            SocketAddressReader.Read(client.RemoteEndPoint, out var address, out var isIPv6);
            var connection = new Connection(Interlocked.Increment(ref _nextConnectionId), client, address, isIPv6);
            if (!Admit(connection))
            {
                // Closed at once rather than queued, so one client (or a crowd of slow ones) cannot exhaust us.
                client.Dispose();
                continue;
            }

            client.NoDelay = true;
            connection.Task = ServeAsync(connection);
        }
    }

    /// <summary>Registers the connection if the per-client and total caps allow it, making room at the total cap when a connection has waited long enough.</summary>
    private bool Admit(Connection connection)
    {
        Connection? victim = null;
        lock (_connectionsLock)
        {
            var fromClient = _perClient.GetValueOrDefault(connection.Client);
            if (fromClient >= _limits.MaxPerClient)
            {
                Interlocked.Increment(ref _rejectedPerClient);
                return false;
            }

            if (_connections.Count - _evicting >= _limits.MaxConnections)
            {
                victim = LongestWaiting();
                if (victim is null)
                {
                    Interlocked.Increment(ref _rejected);
                    return false;
                }

                victim.Evicted = true;
                _evicting++;
                Interlocked.Increment(ref _evicted);
            }

            _connections[connection.Id] = connection;
            _perClient[connection.Client] = fromClient + 1;
            Interlocked.Increment(ref _active);
        }

        if (victim is not null)
        {
            try
            {
                // Its pending read returns 0 and its task cleans up as for a client that went away.
                victim.Socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }

        return true;
    }

    private Connection? LongestWaiting()
    {
        var limit = Stopwatch.GetTimestamp() - (long)(_limits.EvictableAfter.TotalSeconds * Stopwatch.Frequency);
        Connection? oldest = null;
        foreach (var candidate in _connections.Values)
        {
            var since = Volatile.Read(ref candidate.WaitingSince);
            if (!candidate.Evicted && since != 0 && since <= limit && (oldest is null || since < oldest.WaitingSince))
            {
                oldest = candidate;
            }
        }

        return oldest;
    }

    private async Task ServeAsync(Connection connection)
    {
        await Task.Yield();
        var client = connection.Socket;
        var context = new QueryContext(ushort.MaxValue) { OverTcp = true };
        (context.SourceAddress, context.SourceIsIPv6) = connection.Client;
        var request = new byte[ushort.MaxValue];
        var reply = new byte[ushort.MaxValue + 2];

        // One deadline per connection, re-armed for each wait (CancelAfter reuses its timer), so a query costs no
        // allocation; the stop cancels it only while the connection waits for the first byte of its next query.
        using var onStop = _shutdown.Token.UnsafeRegister(static state => ((Connection)state!).StopWhileIdle(), connection);
        try
        {
            while (true)
            {
                // Waiting for the next query is "idle"; a stop also ends the wait, unless a query is already queued.
                Volatile.Write(ref connection.WaitingSince, Stopwatch.GetTimestamp());
                Volatile.Write(ref connection.Idle, true);
                if (_shutdown.IsCancellationRequested && client.Available == 0)
                {
                    break;
                }

                connection.Deadline.CancelAfter(_limits.IdleTimeout);
                if (!await ReadFirstByteAsync(connection, request))
                {
                    break;
                }

                // From its first byte the whole query must arrive within the read timeout, however it is dribbled in.
                Volatile.Write(ref connection.Idle, false);
                if (!Rearm(connection, _limits.ReadTimeout)
                    || !await ReadExactlyAsync(client, request.AsMemory(1, 1), connection.Deadline.Token))
                {
                    break;
                }

                var length = BinaryPrimitives.ReadUInt16BigEndian(request);
                if (length == 0 || !await ReadExactlyAsync(client, request.AsMemory(0, length), connection.Deadline.Token))
                {
                    break;
                }

                Volatile.Write(ref connection.WaitingSince, 0);
                int answer;
                try
                {
                    context.Stats = Stats.ForCurrentThread();
                    answer = _engine.Process(request.AsSpan(0, length), context);
                }
                catch (Exception ex)
                {
                    LogQueryFailed(_logger, ex);
                    break;
                }

                _dnstap?.Record(request.AsSpan(0, length), context.Response.Buffer.AsSpan(0, answer), context, (client.RemoteEndPoint as IPEndPoint)?.Port ?? 0);
                if (answer == 0)
                {
                    // RFC 7766 has no way to skip a reply on a stream; a dropped message ends the connection.
                    break;
                }

                BinaryPrimitives.WriteUInt16BigEndian(reply, (ushort)answer);
                context.Response.Buffer.AsSpan(0, answer).CopyTo(reply.AsSpan(2));
                if (!Rearm(connection, _limits.ReadTimeout))
                {
                    break;
                }

                await client.SendAsync(reply.AsMemory(0, answer + 2), SocketFlags.None, connection.Deadline.Token);
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
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }

            client.Dispose();
            connection.Dispose();
            Interlocked.Decrement(ref _active);
            lock (_connectionsLock)
            {
                _connections.Remove(connection.Id);
                if (connection.Evicted)
                {
                    _evicting--;
                }

                var left = _perClient[connection.Client] - 1;
                if (left == 0)
                {
                    _perClient.Remove(connection.Client);
                }
                else
                {
                    _perClient[connection.Client] = left;
                }
            }
        }
    }

    /// <summary>
    /// Waits for the first byte of the next query. False when the client closed, the idle timeout passed, or the stop
    /// ended the wait with nothing queued; a query whose bytes were already in the socket when the stop came was
    /// received before it, so it is read and answered.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadFirstByteAsync(Connection connection, byte[] request)
    {
        while (true)
        {
            try
            {
                return await connection.Socket.ReceiveAsync(request.AsMemory(0, 1), SocketFlags.None, connection.Deadline.Token) > 0;
            }
            catch (OperationCanceledException) when (connection.StoppedWhileIdle && connection.Socket.Available > 0)
            {
                // The stop cancelled the wait, not the idle timeout: read on under a fresh deadline.
                connection.StoppedWhileIdle = false;
                connection.ReplaceDeadline(_limits.ReadTimeout);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }

    /// <summary>Re-arms the connection's deadline; when a stop cancelled it meanwhile (racing the first byte), a fresh one.</summary>
    private bool Rearm(Connection connection, TimeSpan timeout)
    {
        if (connection.Deadline.TryReset())
        {
            connection.Deadline.CancelAfter(timeout);
            return true;
        }

        if (!_shutdown.IsCancellationRequested)
        {
            // Timed out: the client took too long.
            return false;
        }

        connection.ReplaceDeadline(timeout);
        return true;
    }

    /// <summary>Reads exactly the buffer; false when the client closed first. Pooled, so a steady stream of queries allocates nothing.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> ReadExactlyAsync(Socket client, Memory<byte> buffer, CancellationToken token)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await client.ReceiveAsync(buffer[read..], SocketFlags.None, token);
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

            Counters.Add(finished);
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
            pending = [.. _connections.Values.Select(c => c.Task).OfType<Task>()];
        }

        // Queries already read are answered; give them a bounded time.
        await Task.WhenAny(Task.WhenAll(pending), Task.Delay(_limits.ReadTimeout));
        _shutdown.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "TCP query failed")]
    private static partial void LogQueryFailed(ILogger logger, Exception ex);
}
