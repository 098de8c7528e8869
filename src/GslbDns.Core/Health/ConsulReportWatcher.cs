using System.Text.Json;
using GslbDns.Consul;
using Microsoft.Extensions.Logging;
using GslbDns.Reports;

namespace GslbDns.Health;

/// <summary>
/// Follows the prober reports in Consul with blocking queries and hands each new set to a callback.
/// Consul being down, slow or restarted only pauses it: it backs off (capped), resumes, and the
/// callback is told how fresh its data is, so the DNS server keeps serving the last good view.
/// </summary>
public sealed partial class ConsulReportWatcher : IAsyncDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly ConsulClient _client;
    private readonly string _prefix;
    private readonly Action<IReadOnlyList<ProberReport>> _onReports;
    private readonly TaskCompletionSource _firstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _lastSuccessTicks;

    public ConsulReportWatcher(ConsulClient client, string prefix, Action<IReadOnlyList<ProberReport>> onReports, ILogger logger, TimeProvider? time = null)
    {
        _client = client;
        _prefix = prefix;
        _onReports = onReports;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>When Consul last answered; the state age metric and the staleness rule key off it.</summary>
    public DateTimeOffset LastSuccess => new(Interlocked.Read(ref _lastSuccessTicks), TimeSpan.Zero);

    private long _errors;

    /// <summary>Failed reads of the prober reports (each followed by a backoff), for /metrics.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>True while the latest blocking query round-trip worked.</summary>
    public bool Connected { get; private set; }

    /// <summary>Completes once the first read of the reports has been handed on (start-up waits for it, bounded).</summary>
    public Task FirstRead => _firstRead.Task;

    public void Start() => _loop = RunAsync(_stop.Token);

    private async Task RunAsync(CancellationToken ct)
    {
        ulong index = 0;
        var backoff = TimeSpan.FromMilliseconds(200);

        // One line per outage, the first at start-up too: a server that never reaches Consul (a wrong CA file) must say why.
        var outageLogged = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var result = await _client.KvListAsync(HealthKeys.Probers(_prefix), new ConsulBlockingQuery(index, Wait), ct);
                index = result.Index;
                Interlocked.Exchange(ref _lastSuccessTicks, _time.GetUtcNow().UtcTicks);
                if (!Connected)
                {
                    LogConnected(_logger);
                }

                Connected = true;
                outageLogged = false;
                backoff = TimeSpan.FromMilliseconds(200);
                _onReports(Parse(result.Value));
                _firstRead.TrySetResult();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is ConsulException or HttpRequestException or OperationCanceledException or IOException)
            {
                Interlocked.Increment(ref _errors);
                if (!outageLogged)
                {
                    LogDisconnected(_logger, ex.Message);
                    outageLogged = true;
                }

                Connected = false;
                index = 0;
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

    private List<ProberReport> Parse(IReadOnlyList<ConsulKvPair> pairs)
    {
        var reports = new List<ProberReport>(pairs.Count);
        foreach (var pair in pairs)
        {
            if (pair.Value.Length == 0)
            {
                continue;
            }

            try
            {
                var report = JsonSerializer.Deserialize(pair.Value, HealthJsonContext.Default.ProberReport);
                if (report is not null)
                {
                    reports.Add(report);
                }
            }
            catch (JsonException ex)
            {
                // One bad writer must not blind us to the rest of the fleet.
                LogBadReport(_logger, pair.Key, ex.Message);
            }
        }

        return reports;
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

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Consul reachable: watching prober reports")]
    private static partial void LogConnected(ILogger logger);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Consul unreachable ({Reason}); serving the last good health view")]
    private static partial void LogDisconnected(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignoring unreadable prober report at {Key}: {Reason}")]
    private static partial void LogBadReport(ILogger logger, string key, string reason);
}
