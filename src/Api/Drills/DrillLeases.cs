using GslbDns.State;

namespace GslbDns.Api.Drills;

/// <summary>
/// Every change to a drill lease: a check-and-set on its version with its audit entry in the same
/// transaction (Consul <c>/v1/txn</c> or the SQLite transaction), retried on a lost race by reading again
/// and re-deciding, so two runners or a runner and an abort never overwrite each other blindly.
/// </summary>
internal static class DrillLeases
{
    private const int MaxAttempts = 10;

    public static StateKey Key(string id) => new(StateKind.Drill, id);

    public static async Task<VersionedDrill?> GetAsync(IOperatorStateStore store, string id, CancellationToken ct)
    {
        var state = await store.ReadAsync(ct);
        return state.Get(Key(id)) is { Setting: DrillSetting drill } entry ? new VersionedDrill(drill, entry.Version) : null;
    }

    /// <summary>Creates the lease (only if the id is new); the audit entry records <paramref name="forced"/>.</summary>
    public static async Task<VersionedDrill> CreateAsync(IOperatorStateStore store, DrillSetting drill, bool forced, CancellationToken ct)
    {
        var key = Key(drill.Id);
        var audit = AuditEntry.Create(drill.At, drill.By, "set", key, null, drill, drill.Reason, forced);
        var result = await store.SetAsync(key, drill, 0, audit, null, ct);
        return result.Applied ? new VersionedDrill(drill, result.Version) : throw new InvalidOperationException($"drill id {drill.Id} already exists");
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the current lease and writes it if nobody wrote in between
    /// (else reads again and asks <paramref name="change"/> again). <paramref name="change"/> returns null to
    /// write nothing. Returns the lease as stored afterwards, or null when there is no such drill.
    /// </summary>
    public static async Task<(VersionedDrill? Drill, bool Changed)> UpdateAsync(
        IOperatorStateStore store, string id, Func<DrillSetting, DrillSetting?> change, string actor, string reason, TimeProvider time, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await GetAsync(store, id, ct) is not { } current)
            {
                return (null, false);
            }

            if (change(current.Drill) is not { } next)
            {
                return (current, false);
            }

            var audit = AuditEntry.Create(time.GetUtcNow(), actor, "set", Key(id), current.Drill, next, reason, next.Forced && !current.Drill.Forced);
            var result = await store.SetAsync(Key(id), next, current.Version, audit, null, ct);
            if (result.Applied)
            {
                return (new VersionedDrill(next, result.Version), true);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20 * (attempt + 1))), ct);
        }

        throw new InvalidOperationException($"drill {id} kept changing under this update");
    }
}
