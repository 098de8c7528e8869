using System.Text.Json.Serialization;

namespace GslbDns.State;

/// <summary>Where a drill is in its life. Only <see cref="Running"/> evacuates anything.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DrillState>))]
public enum DrillState
{
    /// <summary>Accepted, starts at its start time (the runner checks the preconditions again then).</summary>
    [JsonStringEnumMemberName("scheduled")]
    Scheduled,

    /// <summary>Evacuating its data centers until its end time.</summary>
    [JsonStringEnumMemberName("running")]
    Running,

    /// <summary>Ended on time; every server converged out and back within the bound and no service lost its last endpoint.</summary>
    [JsonStringEnumMemberName("succeeded")]
    Succeeded,

    /// <summary>Ended (on time or early) with a reason: a server too slow or never converging, the outcome probe broken, a service left empty.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>Ended early by an operator, or by the runner itself when capacity outside the target fell below the floor.</summary>
    [JsonStringEnumMemberName("aborted")]
    Aborted,

    /// <summary>A scheduled drill whose preconditions no longer held at its start.</summary>
    [JsonStringEnumMemberName("refused")]
    Refused,
}

/// <summary>Names of drill states as the API and the store write them.</summary>
public static class DrillStates
{
    public static string Name(DrillState state) => state switch
    {
        DrillState.Scheduled => "scheduled",
        DrillState.Running => "running",
        DrillState.Succeeded => "succeeded",
        DrillState.Failed => "failed",
        DrillState.Aborted => "aborted",
        DrillState.Refused => "refused",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static bool IsFinal(DrillState state) => state is DrillState.Succeeded or DrillState.Failed or DrillState.Aborted or DrillState.Refused;
}

/// <summary>One step of a drill's timeline: what happened, when.</summary>
/// <param name="Step">e.g. <c>created</c>, <c>started</c>, <c>converged-out</c>, <c>ended</c>, <c>converged-back</c>, <c>aborted</c>, <c>outcome</c>.</param>
public sealed record DrillStep(DateTimeOffset At, string Step, string Detail);

/// <summary>
/// One authoritative server as the runner saw it: how long after the start (and after the end) it stopped
/// (and started again) handing out the evacuated addresses. Null seconds: it never did within the wait.
/// </summary>
public sealed record ServerConvergence(
    string Server,
    double? OutSeconds,
    double? BackSeconds,
    int QueriesOut,
    int QueriesBack,
    string? Error);

/// <summary>How many times each address was answered for one service in one phase (before, during, after).</summary>
public sealed record AnswerMix(string Service, string Phase, IReadOnlyDictionary<string, int> Addresses);

/// <summary>What the runner measured and decided; filled in as the drill goes.</summary>
public sealed record DrillResults(
    IReadOnlyList<DrillStep> Steps,
    IReadOnlyList<ServerConvergence> Servers,
    IReadOnlyList<AnswerMix> AnswerMix,
    string? Outcome)
{
    public static readonly DrillResults Empty = new([], [], [], null);

    public DrillResults With(DrillStep step) => this with { Steps = [.. Steps, step] };
}

/// <summary>
/// A disaster-recovery drill, stored as a lease with the rest of the operator state (key: its id). The
/// lease itself says what is evacuated and until when, so every DNS server applies it and ends it on its
/// own clock: <see cref="EffectiveEnd"/> is <c>Start + Duration</c>, or earlier once <see cref="EndedAt"/>
/// is set by an abort. Only the runner changes it after creation, by check-and-set on its version.
/// </summary>
/// <param name="Id">Unique, sortable by time (<c>drill-yyyyMMddTHHmmssZ-xxxxxxxx</c>).</param>
/// <param name="DataCenters">The evacuated data centers (a region's are resolved at creation).</param>
/// <param name="Region">The region asked for, when the target was a region.</param>
/// <param name="Services">Names of the services with an endpoint in the target (the affected names).</param>
/// <param name="CapacityFloor">Share (0..1) of each affected service's effective weight that must stay outside the target.</param>
/// <param name="OutcomeProbe">HTTP URL that must keep answering 2xx while the drill runs, or null.</param>
/// <param name="ClientSubnets">The client subnets (ECS) the drill asks as; null: the API's defaults.</param>
/// <param name="Forced">Created past refused preconditions (the reason says why, the audit entry too).</param>
/// <param name="Runner">The API process that drives it (claim by check-and-set), and until when its claim holds.</param>
public sealed record DrillSetting(
    string Id,
    IReadOnlyList<string> DataCenters,
    string? Region,
    IReadOnlyList<string> Services,
    DateTimeOffset Start,
    TimeSpan Duration,
    DrillState State,
    double CapacityFloor,
    string? OutcomeProbe,
    IReadOnlyList<string>? ClientSubnets,
    bool Forced,
    IReadOnlyList<string> Violations,
    DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt,
    string? Runner,
    DateTimeOffset? RunnerUntil,
    DrillResults Results,
    string? Reason,
    string By,
    DateTimeOffset At) : StateSetting(Reason, By, At)
{
    /// <summary>At most a day, like ARC's practice runs are bounded: a lease nobody can forget for long.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(24);

    [JsonIgnore]
    public override StateKind Kind => StateKind.Drill;

    /// <summary>When the evacuation ends: the planned end, or the abort time if it was cut short.</summary>
    [JsonIgnore]
    public DateTimeOffset EffectiveEnd => EndedAt is { } ended && ended < Start + Duration ? ended : Start + Duration;

    [JsonIgnore]
    public DateTimeOffset PlannedEnd => Start + Duration;

    public DrillSetting WithStep(DateTimeOffset at, string step, string detail) => this with { Results = Results.With(new DrillStep(at, step, detail)) };

    public static string NewId(DateTimeOffset at) =>
        "drill-" + at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
}

/// <summary>A drill with its store version (the ETag, and what a check-and-set names).</summary>
public sealed record VersionedDrill(DrillSetting Drill, ulong Version);
