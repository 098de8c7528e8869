using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Consul;

/// <summary>
/// Keeps one Consul TTL session alive for an owner (a prober publishing health, say): creates it, renews
/// it every TTL/2, and when Consul says it is gone (expired during a partition, destroyed by an operator)
/// creates a new one and calls <c>onSessionCreated</c> again, because Behavior=delete has removed every
/// key the old session held and the owner has to publish them again.
/// </summary>
/// <remarks>
/// <c>onSessionCreated</c> runs on the keeper's loop for the first session and every replacement; if it
/// throws, it is called again on the next tick (after renewing) until it succeeds. Disposing stops the loop
/// and destroys the session, so the owner's keys disappear at once instead of after up to 2x TTL.
/// </remarks>
public sealed class SessionKeeper : IAsyncDisposable
{
    private readonly ConsulClient _client;
    private readonly string _name;
    private readonly TimeSpan _ttl;
    private readonly Func<string, CancellationToken, Task> _onSessionCreated;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private volatile string? _sessionId;
    private int _disposed;

    public SessionKeeper(
        ConsulClient client,
        string name,
        TimeSpan ttl,
        Func<string, CancellationToken, Task> onSessionCreated,
        ILogger<SessionKeeper>? logger = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(onSessionCreated);
        _client = client;
        _name = name;
        _ttl = ttl;
        _onSessionCreated = onSessionCreated;
        _logger = logger ?? NullLogger<SessionKeeper>.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The live session's id, or null before the first one exists or while a lost one is being replaced.</summary>
    public string? SessionId => _sessionId;

    /// <summary>Renewal period: TTL/2 leaves a whole half-TTL for one failed or slow renewal.</summary>
    public TimeSpan RenewInterval => _ttl / 2;

    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.CompareExchange(ref _loop, Task.CompletedTask, null) is not null)
        {
            throw new InvalidOperationException("already started");
        }

        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
        if (_sessionId is { } id)
        {
            _sessionId = null;
            try
            {
                await _client.SessionDestroyAsync(id, CancellationToken.None);
            }
            catch (ConsulException ex)
            {
                ConsulLog.SessionDestroyFailed(_logger, ex, _name, id);
            }
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        string? published = null;
        while (!ct.IsCancellationRequested)
        {
            var delay = RenewInterval;
            var step = "renew the session";
            try
            {
                var id = _sessionId;
                if (id is not null && !await _client.SessionRenewAsync(id, ct))
                {
                    ConsulLog.SessionLost(_logger, _name, id);
                    _sessionId = id = null;
                }

                if (id is null)
                {
                    step = "create the session";
                    id = await _client.SessionCreateAsync(_name, _ttl, ct);
                    _sessionId = id;
                    ConsulLog.SessionCreated(_logger, _name, id);
                }

                if (published != id)
                {
                    step = "publish under the session";
                    await _onSessionCreated(id, ct);
                    published = id;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Sooner than the normal period so one blip does not eat the TTL's margin, yet no hot loop.
                delay = _ttl / 4;
                ConsulLog.SessionStepFailed(_logger, ex, _name, step, delay);
            }

            try
            {
                await Task.Delay(delay, _time, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
