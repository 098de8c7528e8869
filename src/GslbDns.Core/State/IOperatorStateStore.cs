namespace GslbDns.State;

/// <summary>
/// One audited change: who did what to which object, when, with the value before and after (JSON of
/// the <see cref="StateSetting"/>, null when absent), and why.
/// </summary>
/// <param name="Id">Unique, sortable by time: <c>yyyyMMddTHHmmssfffffffZ-guid</c>.</param>
/// <param name="Action"><c>set</c> or <c>delete</c>.</param>
/// <param name="Kind"><c>weight</c>, <c>drain</c> or <c>override</c>.</param>
/// <param name="Target">Endpoint id or data-center name.</param>
/// <param name="Forced">The change overrode a guardrail (the reason says why).</param>
/// <param name="Version">The entry's version after the change (0 after a delete).</param>
public sealed record AuditEntry(
    string Id,
    DateTimeOffset At,
    string Actor,
    string Action,
    string Kind,
    string Target,
    string? Before,
    string? After,
    string? Reason,
    bool Forced,
    ulong Version)
{
    /// <summary>A new entry with a fresh id for <paramref name="at"/>.</summary>
    public static AuditEntry Create(DateTimeOffset at, string actor, string action, StateKey key, StateSetting? before, StateSetting? after, string? reason, bool forced) =>
        new(
            NewId(at),
            at,
            actor,
            action,
            StateKinds.Name(key.Kind),
            key.Target,
            before is null ? null : StateJson.Serialize(before),
            after is null ? null : StateJson.Serialize(after),
            reason,
            forced,
            0);

    /// <summary>Sortable time prefix (UTC, 100 ns resolution) then a random suffix: ordinal order is time order.</summary>
    public static string NewId(DateTimeOffset at) => TimePrefix(at) + "-" + Guid.NewGuid().ToString("N");

    public static string TimePrefix(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Which audit entries to return: a time range [From, To), optionally one object and one kind; oldest first.</summary>
public sealed record AuditQuery(DateTimeOffset? From = null, DateTimeOffset? To = null, string? Target = null, StateKind? Kind = null, int Limit = 1000)
{
    public bool Matches(AuditEntry entry) =>
        (From is null || entry.At >= From)
        && (To is null || entry.At < To)
        && (Target is null || string.Equals(entry.Target, Target, StringComparison.Ordinal))
        && (Kind is null || string.Equals(entry.Kind, StateKinds.Name(Kind.Value), StringComparison.Ordinal));
}

/// <summary>How a conditional write ended.</summary>
public enum WriteStatus
{
    /// <summary>
    /// Written (with its audit entry); <see cref="StateWriteResult.Version"/> is the entry's new version,
    /// after a delete the store index of the delete (a watcher whose index reached it has seen the change).
    /// </summary>
    Applied,

    /// <summary>The entry's version was not the expected one; <see cref="StateWriteResult.Version"/> is the current one (0: absent).</summary>
    VersionMismatch,

    /// <summary>One of the extra conditions (other entries' versions) no longer held; nothing was written.</summary>
    ConditionFailed,
}

public sealed record StateWriteResult(WriteStatus Status, ulong Version, StateSetting? Current = null)
{
    public bool Applied => Status == WriteStatus.Applied;
}

/// <summary>
/// Where operator state and its audit log live: Consul KV (shared by every server) or the embedded
/// SQLite file. Every write is a compare-and-set on one entry, written together with its audit entry,
/// and acknowledged only once durable.
/// </summary>
public interface IOperatorStateStore : IAsyncDisposable
{
    /// <summary>"consul" or "sqlite", for logs and the API's status.</summary>
    string Kind { get; }

    /// <summary>Every entry with its version, and the store index this read reflects.</summary>
    Task<OperatorState> ReadAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes <paramref name="setting"/> at <paramref name="key"/> only if the entry's version is still
    /// <paramref name="expectedVersion"/> (0: only if absent) and every entry in <paramref name="conditions"/>
    /// is still at its version (0: absent). <paramref name="audit"/>, if given, is stored in the same
    /// transaction with the new version filled in.
    /// </summary>
    Task<StateWriteResult> SetAsync(
        StateKey key,
        StateSetting setting,
        ulong expectedVersion,
        AuditEntry? audit,
        IReadOnlyDictionary<StateKey, ulong>? conditions = null,
        CancellationToken cancellationToken = default);

    /// <summary>Deletes the entry only if its version is still <paramref name="expectedVersion"/> (must be non-zero); same rules as <see cref="SetAsync"/>.</summary>
    Task<StateWriteResult> DeleteAsync(
        StateKey key,
        ulong expectedVersion,
        AuditEntry? audit,
        IReadOnlyDictionary<StateKey, ulong>? conditions = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Holds <paramref name="name"/> exclusively across every process that shares this store until the result is
    /// disposed: for a decision whose conditions one conditional write cannot express (a new drill must not overlap
    /// one another process is creating under an id nobody can know beforehand). Waits at most
    /// <paramref name="wait"/>, then throws <see cref="TimeoutException"/>. A holder that dies loses the lock on its
    /// own (Consul: with its session's TTL). Callers also serialise within their process: this is the fleet's half.
    /// </summary>
    Task<IAsyncDisposable> LockAsync(string name, TimeSpan wait, CancellationToken cancellationToken = default);

    /// <summary>An audit entry that goes with no state change (e.g. a refused forced change is not written; this is for other events).</summary>
    Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<AuditEntry>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// The current state at once, then a new state after every change, until cancelled. Throws when the
    /// store cannot be read (Consul down): the caller keeps what it has, backs off and watches again.
    /// </summary>
    IAsyncEnumerable<OperatorState> WatchAsync(CancellationToken cancellationToken = default);
}
