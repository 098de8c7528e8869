using System.Net;
using System.Text.Json;
using GslbDns.Consul;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;
using GslbDns.Reports;

namespace GslbDns.Probing;

/// <summary>
/// Keeps one prober's newest <see cref="ProberReport"/> in Consul at <see cref="ConsulReportSinkOptions.Key"/>,
/// acquired by a TTL session with Behavior=delete, so the report disappears by itself when the prober dies
/// or is cut off: a dead prober cannot keep voting "healthy" with stale data.
/// </summary>
/// <remarks>
/// <para><see cref="PublishAsync"/> only hands the report over and never waits for Consul, so probing goes
/// on at full pace while Consul is down, slow or restarting. One background loop owns everything that
/// talks to Consul: it renews the session every TTL/2, writes the newest report, and on any failure backs
/// off exponentially (Polly, with jitter, capped at <see cref="ConsulReportSinkOptions.MaxBackoff"/>).
/// Every attempt takes whatever report is newest at that moment, so after an outage exactly one current
/// report is written, never a backlog of stale ones.</para>
/// <para>When Consul says the session is gone (renew answers 404, acquire answers "invalid session": it
/// expired during a partition, an operator destroyed it, the agent restarted without state) a new session
/// is created and the report written under it. If the key is still held by another session, say the one of
/// this prober's previous, killed process, the write is retried until that session expires.</para>
/// </remarks>
public sealed class ConsulReportSink : IReportSink, IAsyncDisposable
{
    private static readonly TimeSpan DestroyTimeout = TimeSpan.FromSeconds(5);

    private readonly ConsulClient _client;
    private readonly ConsulReportSinkOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _retry;
    private readonly CancellationTokenSource _stop = new();
    private readonly string _key;
    private readonly string _sessionName;
    private TaskCompletionSource _wake = NewSignal();
    private Pending? _latest;
    private long _version;
    private volatile string? _sessionId;
    private Task? _loop;
    private int _stopped;
    private long _writes;
    private long _failures;
    private long _lastWriteUtcTicks;

    // Owned by the loop.
    private long _writtenVersion;
    private DateTimeOffset _renewDue;
    private int _failureStreak;

    public ConsulReportSink(ConsulClient client, ConsulReportSinkOptions options, ILogger<ConsulReportSink>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _client = client;
        _options = options;
        _logger = logger ?? NullLogger<ConsulReportSink>.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _key = options.Key;
        _sessionName = "gslbdns-prober " + options.ProberId;
        _retry = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                // Forever: giving up would leave the key to expire while the prober is alive and well.
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.InitialBackoff,
                MaxDelay = options.MaxBackoff,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(static ex => ex is not OperationCanceledException),
                OnRetry = args =>
                {
                    _failureStreak++;
                    Interlocked.Increment(ref _failures);
                    ProbingLog.SinkWriteFailed(_logger, _key, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message ?? "no result");
                    return default;
                },
            })
            .Build();
    }

    public string Key => _key;

    /// <summary>The session holding the report, or null before the first one exists or while a lost one is replaced.</summary>
    public string? SessionId => _sessionId;

    /// <summary>Reports written to Consul.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Failed attempts to talk to Consul (each followed by a backoff).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>When a report was last written, or null if none has been.</summary>
    public DateTimeOffset? LastWriteAt => Interlocked.Read(ref _lastWriteUtcTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _stopped) != 0, this);
        if (Interlocked.CompareExchange(ref _loop, Task.CompletedTask, null) is not null)
        {
            throw new InvalidOperationException("already started");
        }

        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Makes <paramref name="report"/> the one to write; returns at once. A report not yet written is superseded.</summary>
    public ValueTask PublishAsync(ProberReport report, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(report);

        // A full fence between storing the report and reading the signal: see WaitForWorkAsync.
        Interlocked.Exchange(ref _latest, new Pending(report, Interlocked.Increment(ref _version)));
        Volatile.Read(ref _wake).TrySetResult();
        return ValueTask.CompletedTask;
    }

    /// <summary>Stops and destroys the session, so the report disappears at once (a graceful shutdown).</summary>
    public ValueTask DisposeAsync() => StopAsync(destroySession: true);

    /// <summary>
    /// Stops writing and renewing. With <paramref name="destroySession"/> false the session is left to expire,
    /// as after a crash: the report disappears within 2x the TTL.
    /// </summary>
    public async ValueTask StopAsync(bool destroySession)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
        var id = _sessionId;
        _sessionId = null;
        if (!destroySession || id is null)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(DestroyTimeout, _time);
            await _client.SessionDestroyAsync(id, timeout.Token);
            ProbingLog.SinkSessionDestroyed(_logger, id, _key);
        }
        catch (Exception ex) when (ex is ConsulException or OperationCanceledException)
        {
            ProbingLog.SinkDestroyFailed(_logger, ex, id, _key);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static bool IsInvalidSession(ConsulException ex) =>
        ex.StatusCode == HttpStatusCode.InternalServerError
        && ex.ConsulMessage?.Contains("invalid session", StringComparison.OrdinalIgnoreCase) == true;

    private async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _retry.ExecuteAsync(static (self, token) => self.SyncAsync(token), this, ct);
                if (_failureStreak > 0)
                {
                    ProbingLog.SinkRecovered(_logger, _key, _failureStreak);
                    _failureStreak = 0;
                }

                await WaitForWorkAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Only an exception the retry does not handle gets here; wait for the next report and try again.
                Interlocked.Increment(ref _failures);
                ProbingLog.SinkWriteFailed(_logger, _key, 0, _options.MaxBackoff, ex.Message);
                await Task.Delay(_options.MaxBackoff, _time, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>One attempt to bring Consul up to date: a live session, renewed when due, holding the newest report.</summary>
    private async ValueTask SyncAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        if (_sessionId is { } current && now >= _renewDue)
        {
            if (await _client.SessionRenewAsync(current, ct))
            {
                _renewDue = now + (_options.SessionTtl / 2);
            }
            else
            {
                ProbingLog.SinkSessionLost(_logger, current, _key);
                _sessionId = null;
            }
        }

        if (_sessionId is null)
        {
            var created = await _client.SessionCreateAsync(_sessionName, _options.SessionTtl, ct);
            _sessionId = created;
            _renewDue = now + (_options.SessionTtl / 2);

            // Behavior=delete removed the key with the old session: whatever is newest must be written again.
            _writtenVersion = 0;
            ProbingLog.SinkSessionCreated(_logger, created, _key);
        }

        var pending = Volatile.Read(ref _latest);
        if (pending is null || pending.Version == _writtenVersion)
        {
            return;
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(pending.Report, HealthJsonContext.Default.ProberReport);
        bool acquired;
        try
        {
            acquired = await _client.KvAcquireAsync(_key, json, _sessionId, cancellationToken: ct);
        }
        catch (ConsulException ex) when (IsInvalidSession(ex))
        {
            ProbingLog.SinkSessionLost(_logger, _sessionId, _key);
            _sessionId = null;
            throw;
        }

        if (!acquired)
        {
            throw new InvalidOperationException($"{_key} is held by another session (a previous instance of this prober?); waiting for it to expire");
        }

        _writtenVersion = pending.Version;
        Interlocked.Increment(ref _writes);
        Interlocked.Exchange(ref _lastWriteUtcTicks, _time.GetUtcNow().UtcTicks);
    }

    /// <summary>Returns when a new report arrives or the session's renewal is due.</summary>
    private async Task WaitForWorkAsync(CancellationToken ct)
    {
        var signal = Volatile.Read(ref _wake);
        var wait = _renewDue - _time.GetUtcNow();
        if (wait > TimeSpan.Zero && !signal.Task.IsCompleted)
        {
            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
            await Task.WhenAny(signal.Task, Task.Delay(wait, _time, delayCancel.Token));
            await delayCancel.CancelAsync();
        }

        ct.ThrowIfCancellationRequested();
        if (signal.Task.IsCompleted)
        {
            // Reset before the next SyncAsync reads _latest: a report published after the reset signals the new source.
            Interlocked.CompareExchange(ref _wake, NewSignal(), signal);
        }
    }

    private sealed record Pending(ProberReport Report, long Version);
}
