using System.Net.Sockets;
using GslbDns.Gslb;
using Endpoint = GslbDns.Gslb.Endpoint;
using GslbDns.State;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GslbDns.Api;

/// <summary>One requested change, already validated.</summary>
internal sealed record ChangeRequest(StateKey Key, StateSetting? Setting, ulong? IfMatch, bool IfMatchAny, string? Reason, bool Force, string Actor, int? ConfiguredWeight);

/// <summary>
/// Applies operator changes: check-and-set against the store, guardrails, audit, and waiting until this
/// process's snapshot has the change, so a 200 means "durable, audited and in force here".
/// </summary>
/// <remarks>
/// <para>
/// With <c>If-Match</c> the write happens only if the entry is still at that version (else 412). Without
/// it the write applies to whatever is current; the read-then-CAS is retried if another writer slips in
/// between, so the audit entry's "before" is always exactly the value replaced.
/// </para>
/// <para>
/// Guardrail: a drain or override change that would take a service (per address family) from at least one
/// usable endpoint (healthy by the probers' quorum or forced healthy, and not drained) to none is refused
/// with 409, unless the request says <c>force</c> with a reason; the audit entry then records
/// <c>forced: true</c>. The decision is made against the store's current state and written with every
/// entry it depended on as a condition (Consul <c>check-index</c>/<c>check-not-exists</c> in the same
/// transaction; checked inside the SQLite transaction), so two concurrent drains cannot both pass a check
/// that only one of them may pass.
/// </para>
/// </remarks>
internal sealed partial class StateWriter
{
    private const int MaxAttempts = 8;
    private static readonly TimeSpan ApplyWait = TimeSpan.FromSeconds(2);

    private readonly ApiContext _api;
    private readonly ILogger _logger;

    public StateWriter(ApiContext api, ILogger<StateWriter> logger)
    {
        _api = api;
        _logger = logger;
    }

    public async Task<IResult> ApplyAsync(HttpContext http, ChangeRequest change, CancellationToken ct)
    {
        var kind = StateKinds.Name(change.Key.Kind);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var state = await _api.Store.ReadAsync(ct);
            var current = state.Get(change.Key);
            var currentVersion = current?.Version ?? 0;
            if ((change.IfMatch is { } wanted && wanted != currentVersion) || (change.IfMatchAny && current is null))
            {
                ApiMetrics.Writes.WithLabels(kind, "precondition_failed").Inc();
                return PreconditionFailed(http, change, state);
            }

            if (change.Setting is null && current is null)
            {
                // Nothing to clear: no change, no audit entry.
                http.Response.Headers.ETag = ETag.Format(0);
                return Results.Ok(ViewBuilder.EntryOrUnset(state, change.Key, _api.Time.GetUtcNow(), change.ConfiguredWeight));
            }

            IReadOnlyDictionary<StateKey, ulong>? conditions = null;
            var forced = false;
            if (change.Key.Kind is StateKind.Drain or StateKind.Override)
            {
                var snapshot = _api.Snapshots.Current;
                var now = _api.Time.GetUtcNow();
                var after = state.With(change.Key, change.Setting, ulong.MaxValue);
                var (violations, dependsOn) = Guard(snapshot.Gslb, snapshot.State, state, after, change.Key, now);
                if (violations.Count > 0)
                {
                    if (!change.Force)
                    {
                        ApiMetrics.Writes.WithLabels(kind, "refused").Inc();
                        return Problems.Result(
                            StatusCodes.Status409Conflict,
                            "Refused by a guardrail",
                            string.Join("; ", violations) + ". Say \"force\": true with a reason to do it anyway.",
                            new Dictionary<string, object?> { ["violations"] = violations });
                    }

                    forced = true;
                }

                // Consul allows 64 operations per transaction: the entry, the audit entry and the conditions.
                conditions = dependsOn.Count <= ConsulOperatorStateStore.MaxTxnOperations - 2 ? dependsOn : null;
                if (conditions is null)
                {
                    LogTooManyConditions(_logger, change.Key.ToString(), dependsOn.Count);
                }
            }

            var at = _api.Time.GetUtcNow();
            var audit = AuditEntry.Create(at, change.Actor, change.Setting is null ? "delete" : "set", change.Key, current?.Setting, change.Setting, change.Reason, forced);
            StateWriteResult result;
            await using (await _api.LockForGuardAsync(conditions is null && change.Key.Kind is not (StateKind.Weight or StateKind.Feed), ct))
            {
                result = change.Setting is null
                    ? await _api.Store.DeleteAsync(change.Key, currentVersion, audit, conditions, ct)
                    : await _api.Store.SetAsync(change.Key, change.Setting, currentVersion, audit, conditions, ct);
            }

            switch (result.Status)
            {
                case WriteStatus.Applied:
                    ApiMetrics.Writes.WithLabels(kind, forced ? "forced" : "applied").Inc();
                    LogChanged(_logger, change.Actor, audit.Action, kind, change.Key.ToString(), Describe(current?.Setting), Describe(change.Setting), change.Reason ?? "", forced);
                    if (!await _api.Watcher.WaitForIndexAsync(result.Version, ApplyWait, ct))
                    {
                        LogNotYetApplied(_logger, change.Key.ToString(), result.Version);
                    }

                    var newVersion = change.Setting is null ? 0 : result.Version;
                    http.Response.Headers.ETag = ETag.Format(newVersion);
                    var view = change.Setting is null
                        ? ViewBuilder.EntryOrUnset(OperatorState.Empty, change.Key, at, change.ConfiguredWeight, audit.Id)
                        : ViewBuilder.Entry(change.Key, new VersionedSetting(change.Setting, newVersion), at, change.ConfiguredWeight, audit.Id);
                    return Results.Ok(view);

                case WriteStatus.VersionMismatch when change.IfMatch is not null || change.IfMatchAny:
                    ApiMetrics.Writes.WithLabels(kind, "precondition_failed").Inc();
                    return PreconditionFailed(http, change, await _api.Store.ReadAsync(ct));

                default:
                    // Another writer slipped in between our read and our write: read again and redo.
                    ApiMetrics.Writes.WithLabels(kind, "retried").Inc();
                    await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5 * (attempt + 1))), ct);
                    break;
            }
        }

        ApiMetrics.Writes.WithLabels(kind, "contended").Inc();
        return Problems.Result(StatusCodes.Status409Conflict, "Too much contention", $"{change.Key} kept changing under this request; try again.");
    }

    private IResult PreconditionFailed(HttpContext http, ChangeRequest change, OperatorState state)
    {
        var version = state.VersionOf(change.Key);
        http.Response.Headers.ETag = ETag.Format(version);
        return Problems.Result(
            StatusCodes.Status412PreconditionFailed,
            "Precondition failed",
            $"{change.Key} is at version {version} (ETag {ETag.Format(version)}), not the one in If-Match; read it again and retry.",
            new Dictionary<string, object?> { ["currentVersion"] = version });
    }

    /// <summary>
    /// The services that would lose their last usable endpoint of a family, and the drain/override entries
    /// (with versions, 0 = absent) the answer depends on.
    /// </summary>
    public static (List<string> Violations, Dictionary<StateKey, ulong> DependsOn) Guard(GslbConfig config, GslbState live, OperatorState before, OperatorState after, StateKey changed, DateTimeOffset now) =>
        Guard(config, live, before, after, changed, e => e.Id == changed.Target || e.DataCenter == changed.Target, now);

    /// <summary>The same check for a change that touches the endpoints <paramref name="touches"/> selects (a drill: every endpoint in its data centers).</summary>
    public static (List<string> Violations, Dictionary<StateKey, ulong> DependsOn) Guard(GslbConfig config, GslbState live, OperatorState before, OperatorState after, StateKey changed, Func<Endpoint, bool> touches, DateTimeOffset now)
    {
        var beforeState = before.ApplyTo(live, now);
        var afterState = after.ApplyTo(live, now);
        var violations = new List<string>();
        var dependsOn = new Dictionary<StateKey, ulong>();
        foreach (var service in config.Services.Values.OrderBy(s => s.Name.ToString(), StringComparer.Ordinal))
        {
            if (!service.Endpoints.Any(touches))
            {
                continue;
            }

            foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
            {
                var endpoints = service.Endpoints.Where(e => e.Address.AddressFamily == family).ToList();
                if (endpoints.Count == 0)
                {
                    continue;
                }

                var usableBefore = endpoints.Count(e => beforeState.IsUsable(e, now));
                var usableAfter = endpoints.Count(e => afterState.IsUsable(e, now));
                if (usableBefore > 0 && usableAfter == 0)
                {
                    violations.Add($"service {ViewBuilder.ServiceName(service)} would have no healthy, undrained {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} endpoint ({usableBefore} usable now)");
                }
            }

            foreach (var endpoint in service.Endpoints)
            {
                foreach (var target in new[] { endpoint.Id, endpoint.DataCenter })
                {
                    foreach (var kind in new[] { StateKind.Drain, StateKind.Override })
                    {
                        var key = new StateKey(kind, target);
                        if (key != changed)
                        {
                            dependsOn[key] = before.VersionOf(key);
                        }
                    }
                }
            }
        }

        return (violations, dependsOn);
    }

    /// <summary>The one event per weight, drain or override change: who, what, from which value to which, why.</summary>
    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "{Actor}: {Action} {Kind} {Key}: {Before} -> {After} (reason: {Reason}; forced past a guardrail: {Forced})")]
    private static partial void LogChanged(ILogger logger, string actor, string action, string kind, string key, string before, string after, string reason, bool forced);

    /// <summary>A setting's value as an operator would say it (the audit log has the full entry).</summary>
    private static string Describe(StateSetting? setting) => setting switch
    {
        null => "unset",
        WeightSetting w => $"weight {w.Weight}",
        DrainSetting => "drained",
        OverrideSetting o => $"forced {(o.Healthy ? "healthy" : "unhealthy")} until {o.Expires:O}",
        FeedSetting f => $"feed up {f.Up?.ToString() ?? "-"} load {f.Load?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} until {f.Expires:O}",
        _ => setting.GetType().Name,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key} written at version {Version} but not yet seen by this process's watcher")]
    private static partial void LogNotYetApplied(ILogger logger, string key, ulong version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The guardrail for {Key} depends on {Count} entries, more than one Consul transaction holds; serialising through the fleet-wide guard lock")]
    private static partial void LogTooManyConditions(ILogger logger, string key, int count);
}

/// <summary>ETags are the entry's version in quotes; "0" stands for "not set".</summary>
internal static class ETag
{
    public static string Format(ulong version) => "\"" + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\"";

    /// <summary>
    /// Reads If-Match: absent (no condition), <c>*</c> (must exist) or one or more strong ETags (the first
    /// that parses is used). False when the header is there but unusable (weak or malformed).
    /// </summary>
    public static bool TryParseIfMatch(HttpRequest request, out ulong? version, out bool any)
    {
        version = null;
        any = false;
        var header = request.Headers.IfMatch.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return true;
        }

        foreach (var raw in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw == "*")
            {
                any = true;
                return true;
            }

            if (raw.Length >= 3 && raw[0] == '"' && raw[^1] == '"'
                && ulong.TryParse(raw.AsSpan(1, raw.Length - 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v))
            {
                version = v;
                return true;
            }
        }

        return false;
    }
}
