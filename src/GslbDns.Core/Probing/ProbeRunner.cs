using System.Collections.Concurrent;
using Polly;
using Polly.Timeout;

namespace GslbDns.Probing;

/// <summary>
/// Runs one probe of one endpoint: picks the check for its type, bounds it by the check's timeout with a
/// Polly timeout pipeline, times it, and turns every way a check can fail (an unwanted answer, refused,
/// reset, TLS error, timeout) into a failed <see cref="ProbeOutcome"/>. Never retries within a probe:
/// the endpoint's failure streak is the retry, and its threshold is what makes one lost packet harmless.
/// </summary>
public sealed class ProbeRunner : IDisposable
{
    private readonly IReadOnlyDictionary<string, IEndpointCheck> _checks;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<TimeSpan, ResiliencePipeline> _pipelines = new();
    private readonly IDisposable[] _owned;

    /// <param name="checks">By check type (<c>http</c>, <c>https</c>, <c>tcp</c>, <c>dns</c>), case-insensitive.</param>
    public ProbeRunner(IReadOnlyDictionary<string, IEndpointCheck> checks, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(checks);
        _checks = new Dictionary<string, IEndpointCheck>(checks, StringComparer.OrdinalIgnoreCase);
        _time = timeProvider ?? TimeProvider.System;
        _owned = [];
    }

    private ProbeRunner(IReadOnlyDictionary<string, IEndpointCheck> checks, TimeProvider? timeProvider, IDisposable[] owned)
        : this(checks, timeProvider)
    {
        _owned = owned;
    }

    /// <summary>The real checks: HTTP(S), TCP, DNS and Prometheus queries.</summary>
    /// <param name="allowInsecureTls">Skip certificate validation for https checks (tests, lab endpoints).</param>
    public static ProbeRunner CreateDefault(bool allowInsecureTls = false, TimeProvider? timeProvider = null)
    {
        var http = new HttpCheck(allowInsecureTls);
        var prometheus = new PrometheusCheck();
        var checks = new Dictionary<string, IEndpointCheck>(StringComparer.OrdinalIgnoreCase)
        {
            ["http"] = http,
            ["https"] = http,
            ["tcp"] = new TcpCheck(),
            ["dns"] = new DnsCheck(),
            ["prometheus"] = prometheus,
        };
        return new ProbeRunner(checks, timeProvider, [http, prometheus]);
    }

    /// <summary>Probes <paramref name="target"/> once. Throws only when <paramref name="cancellationToken"/> is cancelled.</summary>
    public async ValueTask<ProbeOutcome> RunAsync(ProbeTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var started = _time.GetTimestamp();
        ProbeResult result;
        if (!_checks.TryGetValue(target.Check.Type, out var check))
        {
            result = ProbeResult.Fail($"no check of type '{target.Check.Type}'", ProbeReasons.Config);
        }
        else
        {
            var pipeline = _pipelines.GetOrAdd(target.Check.Timeout, CreatePipeline);
            try
            {
                result = await pipeline.ExecuteAsync(
                    static (state, ct) => state.check.CheckAsync(state.target, ct),
                    (check, target),
                    cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (TimeoutRejectedException)
            {
                result = ProbeResult.Fail($"timed out after {target.Check.Timeout.TotalMilliseconds:0} ms", ProbeReasons.Timeout);
            }
            catch (Exception ex)
            {
                result = ProbeResult.Fail(Describe(ex), ProbeReasons.Of(ex));
            }
        }

        return new ProbeOutcome(result.Success, _time.GetElapsedTime(started), _time.GetUtcNow(), result.Error) { Reason = result.Reason, Load = result.Load };
    }

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    private ResiliencePipeline CreatePipeline(TimeSpan timeout) =>
        new ResiliencePipelineBuilder { TimeProvider = _time }.AddTimeout(timeout).Build();

    // The innermost message says what happened on the wire ("Connection refused"); outer ones add context.
    private static string Describe(Exception ex)
    {
        var message = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!string.IsNullOrWhiteSpace(inner.Message) && !message.Contains(inner.Message, StringComparison.Ordinal))
            {
                message += ": " + inner.Message;
            }
        }

        return message;
    }
}
