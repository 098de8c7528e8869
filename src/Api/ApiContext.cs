using GslbDns.Health;
using GslbDns.Query;
using GslbDns.State;
using Prometheus;

namespace GslbDns.Api;

/// <summary>What every route works against: the store, the watcher that applies it, and the serving snapshot.</summary>
internal sealed class ApiContext : IDisposable
{
    private readonly SemaphoreSlim _guardLock = new(1, 1);

    public ApiContext(IOperatorStateStore store, OperatorStateWatcher watcher, SnapshotHolder snapshots, QueryEngine engine, HealthStatePublisher? health, TimeProvider time)
    {
        Store = store;
        Watcher = watcher;
        Snapshots = snapshots;
        Engine = engine;
        Health = health;
        Time = time;
    }

    public IOperatorStateStore Store { get; }

    public OperatorStateWatcher Watcher { get; }

    public SnapshotHolder Snapshots { get; }

    public QueryEngine Engine { get; }

    public HealthStatePublisher? Health { get; }

    /// <summary>The signed zones' keys now, from the DNS server this API runs in; null outside it (the keys are the servers', encrypted in Consul).</summary>
    public Func<IReadOnlyList<GslbDns.Dnssec.SignedZoneView>>? Dnssec { get; init; }

    public TimeProvider Time { get; }

    public HealthView HealthView => Health?.Current ?? HealthView.Empty;

    public void Dispose() => _guardLock.Dispose();

    /// <summary>How long a guarded write waits for another API process's guarded write (one read and one write) to finish.</summary>
    public static readonly TimeSpan GuardLockWait = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Serialises guarded writes whose conditions the store cannot check in the write itself (a drill's overlap
    /// check against drills with ids nobody knows beforehand; a guardrail with more entries than a Consul
    /// transaction holds): first in this process, then across every API process of the fleet through the store
    /// (<see cref="IOperatorStateStore.LockAsync"/>; Consul: a session lock), so two API processes behind one load
    /// balancer cannot both pass the check.
    /// </summary>
    public async Task<IAsyncDisposable> LockForGuardAsync(bool needed, CancellationToken ct)
    {
        if (!needed)
        {
            return NoLock.Instance;
        }

        await _guardLock.WaitAsync(ct);
        var local = new Releaser(_guardLock);
        try
        {
            return new Held(await Store.LockAsync("guard", GuardLockWait, ct), local);
        }
        catch
        {
            local.Dispose();
            throw;
        }
    }

    private sealed class NoLock : IAsyncDisposable
    {
        public static readonly NoLock Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>The fleet's lock, released before this process's.</summary>
    private sealed class Held(IAsyncDisposable fleet, Releaser local) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await fleet.DisposeAsync();
            }
            finally
            {
                local.Dispose();
            }
        }
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}

/// <summary>The API's own Prometheus metrics (HTTP metrics come from prometheus-net.AspNetCore).</summary>
internal static class ApiMetrics
{
    public static readonly Counter Writes = Metrics.CreateCounter(
        "gslbdns_api_writes_total",
        "Operator state changes through the API, by kind (weight, drain, override) and outcome (applied, forced, refused, precondition_failed, retried, contended).",
        new CounterConfiguration { LabelNames = ["kind", "outcome"] });

    public static readonly Gauge GeoIpLoaded = Metrics.CreateGauge(
        "gslbdns_geoip_loaded",
        "1 when a GeoIP database is loaded for explain; 0 when none was found (clients outside geo-data get the default location).",
        new GaugeConfiguration { SuppressInitialValue = true });

    public static readonly Counter Requests = Metrics.CreateCounter(
        "gslbdns_api_requests_total",
        "HTTP requests, by method (other for unusual ones), route template (unmatched when no route matched) and status code.",
        new CounterConfiguration { LabelNames = ["method", "route", "status"] });

    public static readonly Histogram RequestDuration = Metrics.CreateHistogram(
        "gslbdns_api_request_duration_seconds",
        "Time to answer HTTP requests, by method and route template.",
        new HistogramConfiguration { LabelNames = ["method", "route"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 14) });

    static ApiMetrics() => GslbDns.Observability.BuildInfo.Register(Metrics.WithCustomRegistry(Metrics.DefaultRegistry));

    /// <summary>Counts every request by the route template it matched (bounded, unlike paths), outermost so it sees the final status.</summary>
    public static async Task CountRequestAsync(Microsoft.AspNetCore.Http.HttpContext http, Func<Task> next)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await next();
        }
        finally
        {
            var method = http.Request.Method is "GET" or "HEAD" or "POST" or "PUT" or "PATCH" or "DELETE" or "OPTIONS" ? http.Request.Method : "other";
            var route = (http.GetEndpoint() as Microsoft.AspNetCore.Routing.RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            Requests.WithLabels(method, route, http.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
            RequestDuration.WithLabels(method, route).Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    public static readonly Counter AuthFailures = Metrics.CreateCounter(
        "gslbdns_api_auth_failures_total",
        "Requests refused with 401 or 403, or 429 (too many wrong tokens from one address).",
        new CounterConfiguration { LabelNames = ["status"] });
}
