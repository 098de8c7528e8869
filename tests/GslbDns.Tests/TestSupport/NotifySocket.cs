using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace GslbDns.Tests.TestSupport;

/// <summary>
/// What systemd is to a <c>Type=notify</c> service: an AF_UNIX datagram socket whose name goes into the child's
/// <c>NOTIFY_SOCKET</c>, collecting every sd_notify message the child sends. A file path in a temp folder, or an
/// abstract name (<c>@...</c>), as systemd uses both.
/// </summary>
internal sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly TempFolder? _folder;
    private readonly Channel<string> _messages = Channel.CreateUnbounded<string>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;

    public NotifySocket(bool abstractName = false)
    {
        if (abstractName)
        {
            Name = "@gslbdns-test-" + Guid.NewGuid().ToString("N");
            _socket.Bind(new UnixDomainSocketEndPoint("\0" + Name[1..]));
        }
        else
        {
            _folder = new TempFolder("notify");
            Name = Path.Combine(_folder.Path, "notify");
            _socket.Bind(new UnixDomainSocketEndPoint(Name));
        }

        _receiving = ReceiveAsync();
    }

    /// <summary>The value of <c>NOTIFY_SOCKET</c> for the child.</summary>
    public string Name { get; }

    /// <summary>Every message received so far, in order.</summary>
    public List<string> Received { get; } = [];

    /// <summary>Waits for a message carrying <paramref name="assignment"/> (e.g. <c>READY=1</c>) as one of its lines; returns that message.</summary>
    public async Task<string> WaitForAsync(string assignment, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var message = await _messages.Reader.ReadAsync(deadline.Token);
                if (message.Split('\n').Contains(assignment))
                {
                    return message;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no {assignment} within {timeout.TotalSeconds:0} s; received: [{string.Join(" | ", Received)}]");
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _receiving.ContinueWith(_ => { }, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(5));
        _folder?.Dispose();
        _stop.Dispose();
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var length = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                var message = Encoding.UTF8.GetString(buffer, 0, length);
                lock (Received)
                {
                    Received.Add(message.Replace('\n', ' ').Trim());
                }

                await _messages.Writer.WriteAsync(message);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Disposed.
        }
    }
}
