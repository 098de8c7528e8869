using GslbDns.Gslb;
using GslbDns.State;

namespace GslbDns.Api.Drills;

/// <summary>
/// POST /v1/drills: evacuate <c>dataCenters</c> (or every data center of <c>region</c>) from <c>start</c> (default
/// now) for <c>durationSeconds</c> (default 1800, at most 86400). <c>dryRun</c> only plans. <c>force</c> (with the
/// reason, which is always required) starts it despite refused preconditions; the audit entry says so.
/// </summary>
public sealed record DrillRequest(
    IReadOnlyList<string>? DataCenters,
    string? Region,
    DateTimeOffset? Start,
    double? DurationSeconds,
    string? Reason,
    double? CapacityFloor,
    string? OutcomeProbe,
    IReadOnlyList<string>? ClientSubnets,
    bool? DryRun,
    bool? Force);

/// <summary>POST /v1/drills/{id}/abort: the reason goes to the audit log.</summary>
public sealed record DrillAbortRequest(string? Reason);

/// <summary>A drill lease as the API shows it; <c>version</c> is also the ETag.</summary>
public sealed record DrillView(
    string Id,
    string State,
    IReadOnlyList<string> DataCenters,
    string? Region,
    IReadOnlyList<string> Services,
    DateTimeOffset Start,
    DateTimeOffset End,
    double DurationSeconds,
    double CapacityFloor,
    string? OutcomeProbe,
    bool Forced,
    IReadOnlyList<string> Violations,
    DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt,
    string? Runner,
    string? Outcome,
    string? Reason,
    string By,
    DateTimeOffset CreatedAt,
    ulong Version,
    DrillResults Results)
{
    public static DrillView Of(VersionedDrill versioned)
    {
        var d = versioned.Drill;
        return new DrillView(
            d.Id, DrillStates.Name(d.State), d.DataCenters, d.Region, d.Services, d.Start, d.EffectiveEnd, d.Duration.TotalSeconds, d.CapacityFloor, d.OutcomeProbe,
            d.Forced, d.Violations, d.StartedAt, d.EndedAt, d.Runner, d.Results.Outcome, d.Reason, d.By, d.At, versioned.Version, d.Results);
    }
}

/// <summary>One answer of the dry run: the addresses a client gets now and while the drill runs, and the policy steps behind the latter.</summary>
public sealed record DryRunAnswer(string Client, string Label, string Type, IReadOnlyList<string> Before, IReadOnlyList<string> During, IReadOnlyList<TraceStep> DuringSteps);

public sealed record DryRunService(string Service, IReadOnlyList<DryRunAnswer> Answers);

/// <summary>The dry run: what would be evacuated, from when to when, what it breaks, and the answers before and during.</summary>
public sealed record DryRunView(
    IReadOnlyList<string> DataCenters,
    string? Region,
    IReadOnlyList<string> AffectedNames,
    IReadOnlyList<string> EvacuatedAddresses,
    DateTimeOffset Start,
    DateTimeOffset End,
    IReadOnlyList<string> Violations,
    IReadOnlyList<DryRunService> Services);

/// <summary>GET /v1/drills/{id}/report: everything the drill did, measured from the clients' side.</summary>
/// <param name="WorstCaseExposureSeconds">The longest a client could still be sent to the target after the start: the slowest server's convergence plus the TTL resolvers may have cached.</param>
/// <param name="WorstCaseReturnSeconds">The same at the end: slowest server back plus TTL.</param>
public sealed record DrillReport(
    DrillView Drill,
    IReadOnlyList<DrillStep> Timeline,
    IReadOnlyList<ServerConvergence> Servers,
    IReadOnlyList<string> NeverConvergedOut,
    IReadOnlyList<string> NeverConvergedBack,
    IReadOnlyList<AnswerMix> AnswerMix,
    uint MaxTtlSeconds,
    double BoundSeconds,
    double? WorstCaseExposureSeconds,
    double? WorstCaseReturnSeconds,
    IReadOnlyList<AuditView> Audit,
    DateTimeOffset GeneratedAt);
