using System.Collections.Frozen;
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using GslbDns.Dns;
using GslbDns.Gslb;
using Microsoft.Extensions.Logging;

namespace GslbDns.Resolution;

/// <summary>
/// Resolves the hostname endpoints of the GSLB config (<c>endpoints[i].host</c>) through the configured upstream resolvers, off
/// the query path, and publishes every host's addresses as one immutable <see cref="ResolvedHosts"/> for the snapshot to swap
/// in. Each host is re-resolved at three quarters of its record's TTL (within <see cref="HostResolution.MinRefresh"/> and
/// <see cref="HostResolution.MaxRefresh"/>); a failure is retried every <c>minRefresh</c> while the last good addresses keep
/// serving until <see cref="HostAddresses.UsableUntil"/> (the refresh's due time plus <see cref="HostResolution.KeepLastGood"/>),
/// after which the endpoint counts as unusable. One instance per process that answers, probes or shows endpoints.
/// </summary>
public sealed partial class HostResolver : IAsyncDisposable
{
    // Name servers are given per query (the config's, or the system's), so one client serves every host.
    private readonly LookupClient _client = new(new LookupClientOptions(IPAddress.Loopback) { UseCache = false });
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstRound = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<DnsName, DateTimeOffset> _due = [];
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HostResolution _settings = HostResolution.Default;
    private ResolvedHosts _current = ResolvedHosts.Empty;
    private Task? _loop;

    public HostResolver(ILogger logger, TimeProvider? time = null)
    {
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Raised off the query path after every round that changed something, with the whole new set.</summary>
    public event Action<ResolvedHosts>? Published;

    public ResolvedHosts Current => Volatile.Read(ref _current);

    /// <summary>Every distinct hostname endpoint of the config.</summary>
    public static IReadOnlySet<DnsName> HostsOf(GslbConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Services.Values.SelectMany(s => s.Endpoints).Where(e => e.Host is not null).Select(e => e.Host!).ToHashSet();
    }

    /// <summary>Follows a config: new hosts are resolved at once, removed ones dropped; the others keep their addresses and schedule.</summary>
    public void UpdateConfig(GslbConfig config)
    {
        var wanted = HostsOf(config);
        ResolvedHosts? pruned = null;
        lock (_lock)
        {
            _settings = config.Resolution;
            foreach (var gone in _due.Keys.Where(h => !wanted.Contains(h)).ToList())
            {
                _due.Remove(gone);
            }

            var now = _time.GetUtcNow();
            foreach (var host in wanted)
            {
                _due.TryAdd(host, now);
            }

            var current = _current;
            if (current.Hosts.Keys.Any(h => !wanted.Contains(h)))
            {
                pruned = new ResolvedHosts(current.Hosts.Where(e => wanted.Contains(e.Key)).ToFrozenDictionary());
                Volatile.Write(ref _current, pruned);
            }

            if (wanted.Count == 0)
            {
                _firstRound.TrySetResult();
            }

            _wake.TrySetResult();
        }

        if (pruned is not null)
        {
            Published?.Invoke(pruned);
        }
    }

    public void Start() => _loop ??= Task.Run(RunAsync);

    /// <summary>Until every host had its first attempt, at most <paramref name="bound"/>: the first answers after start-up then carry addresses.</summary>
    public async Task<bool> FirstRoundAsync(TimeSpan bound)
    {
        var done = await Task.WhenAny(_firstRound.Task, Task.Delay(bound, _time)).ConfigureAwait(false);
        return done == _firstRound.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            List<DnsName> due;
            HostResolution settings;
            var now = _time.GetUtcNow();
            lock (_lock)
            {
                due = [.. _due.Where(d => d.Value <= now).Select(d => d.Key)];
                settings = _settings;
            }

            if (due.Count > 0)
            {
                var outcomes = await Task.WhenAll(due.Select(h => ResolveAsync(h, settings, stop))).ConfigureAwait(false);
                try
                {
                    Apply(outcomes, settings);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A subscriber failed (one shutting down): the addresses are in Current all the same; keep resolving.
                    LogPublishFailed(_logger, ex);
                }
            }

            Task wake;
            TimeSpan wait;
            lock (_lock)
            {
                if (_wake.Task.IsCompleted)
                {
                    _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                wake = _wake.Task;
                var next = _due.Count == 0 ? DateTimeOffset.MaxValue : _due.Values.Min();
                var left = next == DateTimeOffset.MaxValue ? TimeSpan.FromHours(1) : next - _time.GetUtcNow();
                wait = left < TimeSpan.Zero ? TimeSpan.Zero : left > TimeSpan.FromHours(1) ? TimeSpan.FromHours(1) : left;
            }

            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.WhenAny(Task.Delay(wait, _time, stop), wake).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Apply(Outcome[] outcomes, HostResolution settings)
    {
        ResolvedHosts published;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var hosts = new Dictionary<DnsName, HostAddresses>(_current.Hosts);
            foreach (var outcome in outcomes)
            {
                if (!_due.ContainsKey(outcome.Host))
                {
                    continue; // dropped by a config change while it was being resolved
                }

                hosts.TryGetValue(outcome.Host, out var previous);
                if (outcome.Error is null)
                {
                    var refresh = settings.RefreshAfter(outcome.Ttl);
                    hosts[outcome.Host] = new HostAddresses(outcome.Host, outcome.Addresses, outcome.Ttl, now, now + refresh + settings.KeepLastGood)
                    {
                        Successes = (previous?.Successes ?? 0) + 1,
                        Failures = previous?.Failures ?? 0,
                        LastFailureAt = previous?.LastFailureAt,
                    };
                    _due[outcome.Host] = now + refresh;
                    if (previous?.LastError is not null)
                    {
                        LogRecovered(_logger, outcome.Host.ToString(), outcome.Addresses.Count);
                    }
                }
                else
                {
                    hosts[outcome.Host] = previous is null
                        ? new HostAddresses(outcome.Host, [], 0, DateTimeOffset.MinValue, DateTimeOffset.MinValue) { LastError = outcome.Error, LastFailureAt = now, Failures = 1 }
                        : new HostAddresses(outcome.Host, [.. previous.V4, .. previous.V6], previous.Ttl, previous.ResolvedAt, previous.UsableUntil)
                        {
                            LastError = outcome.Error,
                            LastFailureAt = now,
                            Successes = previous.Successes,
                            Failures = previous.Failures + 1,
                        };
                    _due[outcome.Host] = now + settings.MinRefresh;
                    if (previous?.LastError is null)
                    {
                        LogFailed(_logger, outcome.Host.ToString(), outcome.Error, previous?.UsableUntil > now ? previous.UsableUntil.ToString("O", System.Globalization.CultureInfo.InvariantCulture) : "now");
                    }
                }
            }

            published = new ResolvedHosts(hosts.ToFrozenDictionary());
            Volatile.Write(ref _current, published);
            if (_due.Keys.All(hosts.ContainsKey))
            {
                _firstRound.TrySetResult();
            }
        }

        Published?.Invoke(published);
    }

    /// <summary>A and AAAA through the upstreams in order; success when either gives addresses (a CNAME chain is followed by the upstream).</summary>
    private async Task<Outcome> ResolveAsync(DnsName host, HostResolution settings, CancellationToken cancellationToken)
    {
        var servers = settings.Servers.Count > 0
            ? settings.Servers.Select(s => new NameServer(s)).ToArray()
            : NameServer.ResolveNameServers(skipIPv6SiteLocal: true, fallbackToGooglePublicDns: false).ToArray();
        var options = new DnsQueryOptions
        {
            UseCache = false,
            Recursion = true,
            Retries = 0,
            Timeout = settings.Timeout,
            ThrowDnsErrors = false,
            ContinueOnDnsError = true,
            ContinueOnEmptyResponse = false,
            UseTcpFallback = true,
        };
        var name = host.ToString();
        var errors = new List<string>();
        var addresses = new List<IPAddress>();
        var ttl = uint.MaxValue;
        foreach (var type in new[] { QueryType.A, QueryType.AAAA })
        {
            try
            {
                var response = await _client.QueryServerAsync(servers, new DnsQuestion(name, type), options, cancellationToken).ConfigureAwait(false);
                if (response.Header.ResponseCode != DnsHeaderResponseCode.NoError)
                {
                    errors.Add($"{type} {response.Header.ResponseCode}");
                    continue;
                }

                foreach (var record in response.Answers)
                {
                    var address = record switch
                    {
                        ARecord a => a.Address,
                        AaaaRecord aaaa => aaaa.Address,
                        _ => null,
                    };
                    if (address is not null)
                    {
                        addresses.Add(address);
                    }

                    ttl = Math.Min(ttl, (uint)Math.Max(0, record.TimeToLive));
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                errors.Add($"{type} {ex.Message}");
            }
        }

        if (addresses.Count > 0)
        {
            return new Outcome(host, addresses, ttl, null);
        }

        return new Outcome(host, [], 0, errors.Count > 0 ? string.Join("; ", errors) : "no A or AAAA records");
    }

    private sealed record Outcome(DnsName Host, IReadOnlyList<IPAddress> Addresses, uint Ttl, string? Error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Hostname endpoint {Host} did not resolve: {Error}; its last good addresses serve until {Until}")]
    private static partial void LogFailed(ILogger logger, string host, string error, string until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing resolved hostname endpoints failed")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Hostname endpoint {Host} resolves again ({Addresses} addresses)")]
    private static partial void LogRecovered(ILogger logger, string host, int addresses);
}
