using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace GslbDns.Hosting;

/// <summary>
/// The sd_notify(3) protocol without libsystemd: one datagram of <c>KEY=VALUE</c> lines to the AF_UNIX socket
/// systemd names in <c>$NOTIFY_SOCKET</c> (a path, or an abstract name written with a leading <c>@</c>). With
/// <c>Type=notify</c> a unit counts as started only when the process says <c>READY=1</c>, so a fleet's rolling
/// restart waits for a server that really answers instead of one that merely exists; <c>STOPPING=1</c> tells it
/// the stop is graceful; <c>WATCHDOG=1</c>, sent while the process's own liveness check passes, lets
/// <c>WatchdogSec=</c> restart a process whose serving path has wedged. Outside systemd (no <c>$NOTIFY_SOCKET</c>)
/// every call does nothing.
/// </summary>
public sealed partial class SystemdNotifier : IDisposable
{
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _target;
    private readonly ILogger _logger;

    private SystemdNotifier(string path, ILogger logger)
    {
        // An abstract socket's name starts with a NUL byte; systemd writes it with '@' in the variable.
        _target = new UnixDomainSocketEndPoint(path[0] == '@' ? "\0" + path[1..] : path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _logger = logger;
    }

    /// <summary>
    /// How often systemd expects <c>WATCHDOG=1</c> (<c>$WATCHDOG_USEC</c>, for this process when
    /// <c>$WATCHDOG_PID</c> names it or is absent); null when no watchdog is configured.
    /// </summary>
    public TimeSpan? WatchdogTimeout { get; private init; }

    /// <summary>The notifier for this process, or null when it was not started by systemd with a notify socket.</summary>
    public static SystemdNotifier? FromEnvironment(ILogger logger)
    {
        var path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path) || (path[0] != '/' && path[0] != '@'))
        {
            return null;
        }

        return new SystemdNotifier(path, logger) { WatchdogTimeout = ReadWatchdogTimeout() };
    }

    /// <summary><c>READY=1</c> with a one-line status for <c>systemctl status</c>.</summary>
    public void Ready(string status) => Send($"READY=1\nSTATUS={OneLine(status)}\nMAINPID={Environment.ProcessId}\n");

    /// <summary><c>STOPPING=1</c>: the process has begun a graceful stop.</summary>
    public void Stopping() => Send("STOPPING=1\nSTATUS=stopping\n");

    /// <summary>
    /// Sends <c>WATCHDOG=1</c> every half watchdog period while <paramref name="alive"/> says the process still
    /// does its job, until <paramref name="stop"/>; a failed check sends nothing, so systemd restarts the process
    /// when the check keeps failing for the whole <c>WatchdogSec=</c>. Returns at once when no watchdog is set.
    /// </summary>
    public async Task RunWatchdogAsync(Func<CancellationToken, Task<string?>> alive, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(alive);
        if (WatchdogTimeout is not { } timeout)
        {
            return;
        }

        using var timer = new PeriodicTimer(timeout / 2);
        try
        {
            do
            {
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stop);
                bounded.CancelAfter(timeout / 2);
                string? problem;
                try
                {
                    problem = await alive(bounded.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    problem = $"no answer within {(timeout / 2).TotalMilliseconds:0} ms";
                }
                catch (Exception ex) when (ex is SocketException or IOException)
                {
                    problem = ex.Message;
                }

                if (problem is null)
                {
                    Send("WATCHDOG=1\n");
                }
                else
                {
                    LogWatchdogWithheld(_logger, problem);
                }
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The process is stopping: no more pings.
        }
    }

    public void Dispose() => _socket.Dispose();

    private void Send(string state)
    {
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), _target);
        }
        catch (SocketException ex)
        {
            // systemd gone or the socket not ours to write: nothing to tell, and no reason to stop serving.
            LogSendFailed(_logger, ex.SocketErrorCode.ToString());
        }
        catch (ObjectDisposedException)
        {
            // STOPPING=1 racing the process's exit: systemd sees the exit anyway.
        }
    }

    private static TimeSpan? ReadWatchdogTimeout()
    {
        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!string.IsNullOrEmpty(pid) && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
        {
            return null;
        }

        var text = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds) && microseconds > 0
            ? TimeSpan.FromMicroseconds(Math.Min(microseconds, (ulong)TimeSpan.FromDays(1).TotalMicroseconds))
            : null;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    [LoggerMessage(EventId = 900, Level = LogLevel.Warning, Message = "systemd watchdog ping withheld: {Problem}")]
    private static partial void LogWatchdogWithheld(ILogger logger, string problem);

    [LoggerMessage(EventId = 901, Level = LogLevel.Debug, Message = "cannot notify systemd: {Error}")]
    private static partial void LogSendFailed(ILogger logger, string error);
}
