using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using GslbDns.Query;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace GslbDns.Server.Dnstap;

/// <summary>
/// The dnstap query log: sampled queries and responses go through a <see cref="QueryRing"/> to one writer
/// thread, which encodes each as two Dnstap protobuf messages (AUTH_QUERY, AUTH_RESPONSE) in Frame Streams
/// data frames, to a file or a reader's UNIX socket. A socket that is not there (yet, or any more) is retried
/// every second; what arrives meanwhile is counted as lost, never queued without bound.
/// </summary>
internal sealed partial class DnstapLog : IDisposable
{
    private static readonly TimeSpan ReconnectEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(2);

    private readonly DnstapOptions _options;
    private readonly QueryRing _ring;
    private readonly ILogger _logger;
    private readonly Thread _writer;
    private readonly Proto.Dnstap _frame;
    private readonly Proto.Message _message = new();
    private readonly byte[] _encoded;
    private readonly byte[] _clientAddress = new byte[16];
    private Stream? _output;
    private Socket? _socket;
    private long _nextConnectAttempt;
    private volatile bool _stopping;
    private bool _unreachableReported;
    private long _seen;
    private long _dropped;
    private long _tooLarge;
    private long _lost;
    private long _written;

    /// <exception cref="IOException">The file cannot be created.</exception>
    public DnstapLog(DnstapOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _ring = new QueryRing(options.RingSlots, options.BytesPerSlot);
        _encoded = new byte[4 + options.BytesPerSlot + 1024];
        var version = typeof(DnstapLog).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        _frame = new Proto.Dnstap
        {
            Type = Proto.Dnstap.Types.Type.Message,
            Identity = ByteString.CopyFromUtf8(options.Identity),
            Version = ByteString.CopyFromUtf8("gslbdns " + version.Split('+')[0]),
            Message = _message,
        };
        if (!options.Target.IsSocket)
        {
            var file = new FileStream(options.Target.Path, FileMode.Create, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
            _output = new BufferedStream(file, 64 * 1024);
            FrameStreams.WriteControl(_output, ControlType.Start, withContentType: true);
        }

        _writer = new Thread(Run) { IsBackground = true, Name = "dnstap writer" };
    }

    /// <summary>Dnstap messages written (two per answered query: AUTH_QUERY and AUTH_RESPONSE).</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Sampled queries dropped because the ring was full (the writer fell behind).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Sampled queries whose query and response did not fit in a slot.</summary>
    public long TooLarge => Interlocked.Read(ref _tooLarge);

    /// <summary>Sampled queries taken from the ring while no reader was connected (socket output).</summary>
    public long Lost => Interlocked.Read(ref _lost);

    public DnstapTap TapFor(IPEndPoint local, bool overTcp) => new(this, local, overTcp);

    public void Start() => _writer.Start();

    internal void Offer(DnstapTap tap, ReadOnlySpan<byte> query, ReadOnlySpan<byte> response, QueryContext context, int clientPort)
    {
        var every = _options.SampleEvery;
        if (every > 1 && Interlocked.Increment(ref _seen) % every != 0)
        {
            return;
        }

        if (query.Length + response.Length > _ring.BytesPerSlot)
        {
            Interlocked.Increment(ref _tooLarge);
            return;
        }

        var slot = _ring.TryClaim();
        if (slot is null)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        query.CopyTo(slot.Data);
        response.CopyTo(slot.Data.AsSpan(query.Length));
        slot.QueryLength = query.Length;
        slot.ResponseLength = response.Length;
        slot.Ticks = DateTime.UtcNow.Ticks;
        slot.ClientAddress = context.SourceAddress;
        slot.ClientIsIPv6 = context.SourceIsIPv6;
        slot.ClientPort = clientPort;
        slot.Tap = tap;
        QueryRing.Publish(slot);
    }

    /// <summary>Writes what is left in the ring, ends the stream (STOP, and FINISH from a socket reader) and closes it. Call after the listeners have stopped.</summary>
    public void Dispose()
    {
        _stopping = true;
        if (_writer.IsAlive)
        {
            _writer.Join(TimeSpan.FromSeconds(5));
        }
        else
        {
            Close();
        }

        LogStopped(_logger, Written, Dropped, TooLarge, Lost);
    }

    private void Run()
    {
        var unflushed = false;
        while (true)
        {
            var slot = _ring.TryTake();
            if (slot is null)
            {
                if (_stopping)
                {
                    break;
                }

                if (unflushed)
                {
                    unflushed = !TryIo(static o => o.Flush());
                }
                else if (_output is null && _options.Target.IsSocket)
                {
                    EnsureOutput(); // reconnect while idle too (throttled), so the reader has us before the next query
                }

                Thread.Sleep(2); // polling keeps the query path free of any signal or lock
                continue;
            }

            try
            {
                if (EnsureOutput())
                {
                    WriteMessages(slot);
                    unflushed = true;
                }
                else
                {
                    Interlocked.Increment(ref _lost);
                }
            }
            finally
            {
                slot.Tap = null;
                _ring.Release(slot);
            }
        }

        Close();
    }

    private void WriteMessages(QuerySlot slot)
    {
        var tap = slot.Tap!;
        var message = _message;
        message.Type = Proto.Message.Types.Type.AuthQuery;
        message.SocketFamily = tap.IsIPv6 ? Proto.SocketFamily.Inet6 : Proto.SocketFamily.Inet;
        message.SocketProtocol = tap.OverTcp ? Proto.SocketProtocol.Tcp : Proto.SocketProtocol.Udp;
        int clientLength;
        if (slot.ClientIsIPv6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(_clientAddress, slot.ClientAddress);
            clientLength = 16;
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(_clientAddress, (uint)slot.ClientAddress);
            clientLength = 4;
        }

        // Wrapped, not copied: each message is encoded before the buffers change again.
        message.QueryAddress = UnsafeByteOperations.UnsafeWrap(_clientAddress.AsMemory(0, clientLength));
        message.QueryPort = (uint)slot.ClientPort;
        message.ResponseAddress = UnsafeByteOperations.UnsafeWrap(tap.LocalAddress);
        message.ResponsePort = (uint)tap.LocalPort;
        var sinceEpoch = slot.Ticks - DateTime.UnixEpoch.Ticks;
        var seconds = (ulong)(sinceEpoch / TimeSpan.TicksPerSecond);
        var nanoseconds = (uint)(sinceEpoch % TimeSpan.TicksPerSecond * 100);
        message.QueryTimeSec = seconds;
        message.QueryTimeNsec = nanoseconds;
        message.QueryMessage = UnsafeByteOperations.UnsafeWrap(slot.Data.AsMemory(0, slot.QueryLength));
        message.ClearResponseMessage();
        message.ClearResponseTimeSec();
        message.ClearResponseTimeNsec();
        WriteFrame();
        if (slot.ResponseLength == 0)
        {
            return; // dropped by rate limiting (or nothing to say): the query alone
        }

        // The query is answered in place, so it is answered at the time it was taken.
        message.Type = Proto.Message.Types.Type.AuthResponse;
        message.ClearQueryMessage();
        message.ResponseTimeSec = seconds;
        message.ResponseTimeNsec = nanoseconds;
        message.ResponseMessage = UnsafeByteOperations.UnsafeWrap(slot.Data.AsMemory(slot.QueryLength, slot.ResponseLength));
        WriteFrame();
    }

    private void WriteFrame()
    {
        var size = _frame.CalculateSize();
        BinaryPrimitives.WriteUInt32BigEndian(_encoded, (uint)size);
        _frame.WriteTo(_encoded.AsSpan(4, size));
        try
        {
            _output!.Write(_encoded, 0, 4 + size);
            Interlocked.Increment(ref _written);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            OutputFailed(ex);
        }
    }

    /// <summary>Runs an output operation; a failed socket is closed (and reconnected later), a failed file is logged once and counted.</summary>
    private bool TryIo(Action<Stream> io)
    {
        if (_output is null)
        {
            return false;
        }

        try
        {
            io(_output);
            return true;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            OutputFailed(ex);
            return false;
        }
    }

    private void OutputFailed(Exception ex)
    {
        LogOutputFailed(_logger, _options.Target.ToString(), ex.Message);
        Disconnect();
    }

    /// <summary>True when there is somewhere to write: the file, or a socket reader that accepted dnstap.</summary>
    private bool EnsureOutput()
    {
        if (_output is not null)
        {
            return true;
        }

        if (!_options.Target.IsSocket || Environment.TickCount64 < _nextConnectAttempt)
        {
            return false;
        }

        _nextConnectAttempt = Environment.TickCount64 + (long)ReconnectEvery.TotalMilliseconds;
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(_options.Target.Path));
            socket.ReceiveTimeout = (int)HandshakeTimeout.TotalMilliseconds;
            var stream = new NetworkStream(socket, ownsSocket: false);
            FrameStreams.WriteControl(stream, ControlType.Ready, withContentType: true);
            var (type, contentTypes) = FrameStreams.ReadControl(stream);
            if (type != ControlType.Accept || !contentTypes.Contains(FrameStreams.DnstapContentType))
            {
                throw new InvalidDataException($"reader answered {type} ({string.Join(", ", contentTypes)}), not ACCEPT of {FrameStreams.DnstapContentType}");
            }

            FrameStreams.WriteControl(stream, ControlType.Start, withContentType: true);
            _socket = socket;
            _output = new BufferedStream(stream, 64 * 1024);
            LogConnected(_logger, _options.Target.ToString());
            _unreachableReported = false;
            return true;
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException)
        {
            socket.Dispose();
            if (!_unreachableReported)
            {
                // Once per outage, not once a second.
                _unreachableReported = true;
                LogConnectFailed(_logger, _options.Target.ToString(), ex.Message);
            }

            return false;
        }
    }

    private void Disconnect()
    {
        try
        {
            _output?.Dispose();
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }

        _output = null;
        _socket?.Dispose();
        _socket = null;
    }

    private void Close()
    {
        if (_output is null)
        {
            return;
        }

        var output = _output;
        if (TryIo(o => FrameStreams.WriteControl(o, ControlType.Stop, withContentType: false)) && _socket is not null)
        {
            try
            {
                // A bidirectional reader confirms with FINISH once it has everything.
                FrameStreams.ReadControl(new NetworkStream(_socket, ownsSocket: false));
            }
            catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or EndOfStreamException)
            {
            }
        }

        if (ReferenceEquals(output, _output))
        {
            Disconnect();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "dnstap connected to {Target}")]
    private static partial void LogConnected(ILogger logger, string target);

    [LoggerMessage(Level = LogLevel.Warning, Message = "dnstap cannot reach {Target}: {Reason}; retrying every second, queries meanwhile are counted as lost")]
    private static partial void LogConnectFailed(ILogger logger, string target, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "dnstap output {Target} failed: {Reason}")]
    private static partial void LogOutputFailed(ILogger logger, string target, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "dnstap stopped: {Written} messages written, {Dropped} queries dropped (ring full), {TooLarge} too large, {Lost} lost (no reader)")]
    private static partial void LogStopped(ILogger logger, long written, long dropped, long tooLarge, long lost);
}
