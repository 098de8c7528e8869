using GslbDns.Query;

namespace GslbDns.State;

/// <summary>
/// Puts operator state into the serving snapshot: weights, drains and forced verdicts replace the
/// snapshot state's operator parts; health, RTTs and config are left as they are. Goes through
/// <see cref="SnapshotHolder.Update"/>, so a config reload or a health update racing with it is never undone.
/// </summary>
public sealed class OperatorStatePublisher
{
    private readonly SnapshotHolder _snapshots;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private OperatorState _current = OperatorState.Empty;

    public OperatorStatePublisher(SnapshotHolder snapshots, TimeProvider? time = null)
    {
        _snapshots = snapshots;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The state last applied.</summary>
    public OperatorState Current => Volatile.Read(ref _current);

    public SnapshotHolder Snapshots => _snapshots;

    /// <summary>Applies <paramref name="state"/> to the snapshot and remembers it.</summary>
    public void Apply(OperatorState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var weights = state.WeightOverrides();
            var drained = state.Drained();
            var overrides = state.HealthOverrides(now);
            _snapshots.Update(s => s with { State = s.State with { WeightOverrides = weights, Drained = drained, Overrides = overrides } });
            Volatile.Write(ref _current, state);
        }
    }
}
