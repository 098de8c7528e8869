using GslbDns.Consul;
using Microsoft.Extensions.Logging;

namespace GslbDns.State;

/// <summary>
/// Follows a store's operator state and applies every new version to the snapshot. With Consul it is
/// a blocking query on <c>{prefix}state/</c>, which returns as soon as anything under it changes, so a
/// change reaches every DNS server in well under a second; the embedded store wakes it on commit.
/// Static stability: when the store cannot be read (Consul down, partitioned, restarting) nothing is
/// applied, so the last state stays in force; the watch backs off (capped at 5 s) and resynchronises
/// with a full read when the store is back.
/// </summary>
public sealed partial class OperatorStateWatcher : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly IOperatorStateStore _store;
    private readonly OperatorStatePublisher _publisher;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _waitersLock = new();
    private readonly List<(ulong Index, TaskCompletionSource Done)> _waiters = [];
    private Task? _loop;
    private long _lastSuccessTicks;
    private long _errors;
    private volatile bool _connected;

    public OperatorStateWatcher(IOperatorStateStore store, OperatorStatePublisher publisher, ILogger logger, TimeProvider? time = null)
    {
        _store = store;
        _publisher = publisher;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    public IOperatorStateStore Store => _store;

    /// <summary>The state in force (the last one applied).</summary>
    public OperatorState Current => _publisher.Current;

    /// <summary>True while the store answers.</summary>
    public bool Connected => _connected;

    /// <summary>Failed reads of the store (each followed by a backoff), for /metrics.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>When the store last answered.</summary>
    public DateTimeOffset LastSuccess => new(Interlocked.Read(ref _lastSuccessTicks), TimeSpan.Zero);

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>
    /// Completes once a state with <see cref="OperatorState.Index"/> at least <paramref name="index"/> has
    /// been applied (true), or after <paramref name="timeout"/> (false). The API uses it so that an
    /// acknowledged write is already in this process's snapshot.
    /// </summary>
    public async Task<bool> WaitForIndexAsync(ulong index, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        TaskCompletionSource done;
        lock (_waitersLock)
        {
            if (_publisher.Current.Index >= index)
            {
                return true;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((index, done));
        }

        try
        {
            await done.Task.WaitAsync(timeout, _time, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        finally
        {
            lock (_waitersLock)
            {
                _waiters.RemoveAll(w => ReferenceEquals(w.Done, done));
            }
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await foreach (var state in _store.WatchAsync(ct))
                {
                    _publisher.Apply(state);
                    Interlocked.Exchange(ref _lastSuccessTicks, _time.GetUtcNow().UtcTicks);
                    if (!_connected)
                    {
                        _connected = true;
                        LogConnected(_logger, _store.Kind, state.Count, state.Index);
                    }

                    backoff = TimeSpan.FromMilliseconds(100);
                    Release(state.Index);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is ConsulException or HttpRequestException or OperationCanceledException or IOException or TimeoutException
                or System.Data.Common.DbException or InvalidOperationException or ObjectDisposedException or System.Text.Json.JsonException)
            {
                Interlocked.Increment(ref _errors);
                if (_connected)
                {
                    LogDisconnected(_logger, _store.Kind, ex.Message);
                }

                _connected = false;
                try
                {
                    await Task.Delay(backoff, _time, ct);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private void Release(ulong index)
    {
        lock (_waitersLock)
        {
            foreach (var (wanted, done) in _waiters)
            {
                if (wanted <= index)
                {
                    done.TrySetResult();
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Following operator state in the {Store} store ({Entries} entries at index {Index})")]
    private static partial void LogConnected(ILogger logger, string store, int entries, ulong index);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Operator state store ({Store}) unreadable ({Reason}); the last state stays in force")]
    private static partial void LogDisconnected(ILogger logger, string store, string reason);
}
