using System.Collections.Concurrent;
using System.Net;
using GslbDns.Gslb;
using GslbDns.Probing;
using GslbDns.Reports;
using DnsName = GslbDns.Dns.DnsName;

namespace GslbDns.Tests.Core.Probing;

internal static class ProbeTestSupport
{
    /// <summary>A prober identity for in-process schedulers.</summary>
    public static readonly ProberInfo TestProber = new("p1", "eu", 50.1, 8.7, DateTimeOffset.UnixEpoch);

    /// <summary>How long a test waits for a scheduler to reach a state (polled, not slept).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static HealthCheck Check(
        string type,
        int port,
        TimeSpan? interval = null,
        TimeSpan? timeout = null,
        int failureThreshold = 3,
        int successThreshold = 2,
        string? path = null,
        string? expectBody = null,
        string? queryName = null) =>
        new(
            type,
            port,
            type is "http" or "https" ? path ?? "/health" : null,
            type is "http" or "https" ? 200 : 0,
            expectBody,
            queryName,
            interval ?? TimeSpan.FromSeconds(1),
            timeout ?? TimeSpan.FromMilliseconds(500),
            failureThreshold,
            successThreshold);

    public static ProbeTarget Target(HealthCheck check, string host = "svc.test", string id = "svc.test/dc1/127.0.0.1") =>
        new(id, host, IPAddress.Loopback, check);

    /// <summary>A config with one service per entry, each with its check and endpoints (addresses 127.0.0.x).</summary>
    public static GslbConfig Config(params (string Service, HealthCheck? Check, string[] Addresses)[] services)
    {
        var map = new Dictionary<DnsName, ServiceConfig>();
        foreach (var (service, check, addresses) in services)
        {
            var name = DnsName.Parse(service + ".probe.test.");
            var endpoints = addresses.Select(a => new Endpoint($"{service}.probe.test/dc1/{a}", "dc1", IPAddress.Parse(a), 1, 0)).ToArray();
            map[name] = new ServiceConfig(name, 30, endpoints, check, [], AllUnhealthyBehavior.FailOpen, []);
        }

        return GslbConfig.Empty with { Services = map };
    }

    public static ProbeOutcome Success(double ms = 10) => new(true, TimeSpan.FromMilliseconds(ms), DateTimeOffset.UtcNow, null);

    public static ProbeOutcome Failure(string error = "refused") => new(false, TimeSpan.FromMilliseconds(1), DateTimeOffset.UtcNow, error);
}

/// <summary>Keeps every report it is given.</summary>
internal sealed class ListSink : IReportSink
{
    public ConcurrentQueue<ProberReport> Reports { get; } = new();

    public ProberReport? Last => Reports.LastOrDefault();

    public ValueTask PublishAsync(ProberReport report, CancellationToken ct)
    {
        Reports.Enqueue(report);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Records every probe and every verdict flip.</summary>
internal sealed class RecordingObserver : IProbeObserver
{
    public ConcurrentQueue<(ProbeTarget Target, ProbeOutcome Outcome, EndpointObservation Observation, bool Flipped)> Probes { get; } = new();

    public IEnumerable<EndpointObservation> Flips => Probes.Where(p => p.Flipped).Select(p => p.Observation);

    public void OnProbeCompleted(ProbeTarget target, ProbeOutcome outcome, EndpointObservation observation, bool verdictChanged) =>
        Probes.Enqueue((target, outcome, observation, verdictChanged));
}

/// <summary>A check whose answers the test scripts, counting calls per endpoint.</summary>
internal sealed class ScriptedCheck : IEndpointCheck
{
    private readonly ConcurrentDictionary<string, int> _calls = new();

    public Func<ProbeTarget, ProbeResult> Answer { get; set; } = _ => ProbeResult.Ok;

    public int Calls(string endpointId) => _calls.GetValueOrDefault(endpointId);

    public ValueTask<ProbeResult> CheckAsync(ProbeTarget target, CancellationToken cancellationToken)
    {
        _calls.AddOrUpdate(target.EndpointId, 1, static (_, n) => n + 1);
        return ValueTask.FromResult(Answer(target));
    }
}
