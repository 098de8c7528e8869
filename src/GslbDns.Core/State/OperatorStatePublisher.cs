using GslbDns.Query;

namespace GslbDns.State;

/// <summary>
/// Puts operator state into the serving snapshot: weights, drains, forced verdicts and drill evacuations replace the
/// snapshot state's operator parts; health, RTTs and config are left as they are. Goes through
/// <see cref="SnapshotHolder.Update"/>, so a config reload or a health update racing with it is never undone.
/// </summary>
public sealed class OperatorStatePublisher
{
    private readonly SnapshotHolder _snapshots;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private OperatorState _current = OperatorState.Empty;
    private bool _applied;

    public OperatorStatePublisher(SnapshotHolder snapshots, TimeProvider? time = null)
    {
        _snapshots = snapshots;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The state last applied.</summary>
    public OperatorState Current => Volatile.Read(ref _current);

    public SnapshotHolder Snapshots => _snapshots;

    /// <summary>
    /// Every endpoint or data center whose weight, drain or forced verdict changed is marked changed now; a forced
    /// verdict's expiry is marked as a scheduled change, so answers are short around the moment it runs out too.
    /// </summary>
    private static Gslb.AnswerChanges RecordChanges(
        ServerSnapshot snapshot,
        IReadOnlyDictionary<string, int> weights,
        IReadOnlySet<string> drained,
        IReadOnlyDictionary<string, Gslb.HealthOverride> overrides,
        DateTimeOffset now)
    {
        var before = snapshot.State;
        var forgetBefore = now - snapshot.Gslb.Ttl.ChangeWindow;
        var changed = Gslb.AnswerChanges.Differing(before.WeightOverrides, weights, missing: -1)
            .Concat(Gslb.AnswerChanges.Differing(before.Overrides, overrides, missing: null))
            .Concat(before.Drained.Except(drained))
            .Concat(drained.Except(before.Drained))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var changes = changed.Count == 0 ? before.Changes : before.Changes.With(changed, now, forgetBefore);
        foreach (var (key, forced) in overrides)
        {
            if (forced.Expires > now && !before.Changes.For(key).Contains(forced.Expires))
            {
                changes = changes.With([key], forced.Expires, forgetBefore);
            }
        }

        return changes;
    }

    /// <summary>
    /// A running drill changes answers at its start and at its end (planned, or earlier after an abort): both
    /// instants are marked for its data centers, so answers around them carry the short TTL and resolvers
    /// follow the evacuation and the return. Marked even for the state found at start-up: the end is ahead.
    /// </summary>
    private static Gslb.AnswerChanges WithDrillInstants(Gslb.AnswerChanges changes, IReadOnlyDictionary<string, Gslb.EvacuationWindow> evacuated, DateTimeOffset forgetBefore)
    {
        foreach (var (dataCenter, window) in evacuated)
        {
            foreach (var at in new[] { window.Start, window.End })
            {
                if (at >= forgetBefore && !changes.For(dataCenter).Contains(at))
                {
                    changes = changes.With([dataCenter], at, forgetBefore);
                }
            }
        }

        return changes;
    }

    /// <summary>
    /// A feed whose vote changed is marked changed now (after start-up), and a live vote's expiry as a scheduled change, as
    /// for forced verdicts: answers are short around both, so resolvers follow the feed. A load figure alone changes no mark.
    /// </summary>
    private static Gslb.AnswerChanges WithFeedChanges(
        Gslb.AnswerChanges changes,
        IReadOnlyDictionary<string, Gslb.FeedSignal> before,
        IReadOnlyDictionary<string, Gslb.FeedSignal> feeds,
        bool recordChanges,
        DateTimeOffset now,
        DateTimeOffset forgetBefore)
    {
        if (recordChanges)
        {
            var changed = feeds.Where(f => !before.TryGetValue(f.Key, out var old) || old.Up != f.Value.Up || old.Expires != f.Value.Expires)
                .Select(f => f.Key)
                .Concat(before.Keys.Where(k => !feeds.ContainsKey(k)))
                .Where(k => (feeds.TryGetValue(k, out var f) && f.Up is not null) || (before.TryGetValue(k, out var b) && b.Up is not null))
                .ToList();
            if (changed.Count > 0)
            {
                changes = changes.With(changed, now, forgetBefore);
            }
        }

        foreach (var (key, feed) in feeds)
        {
            if (feed.Up is not null && feed.IsLive(now) && !changes.For(key).Contains(feed.Expires))
            {
                changes = changes.With([key], feed.Expires, forgetBefore);
            }
        }

        return changes;
    }

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
            var evacuated = state.Evacuations();
            var feeds = state.Feeds();

            // The state found at start-up changes nothing anyone has cached; later changes shorten the TTL of what they touch.
            var recordChanges = _applied;
            _applied = true;
            _snapshots.Update(s => s with
            {
                State = s.State with
                {
                    WeightOverrides = weights,
                    Drained = drained,
                    Overrides = overrides,
                    Evacuated = evacuated,
                    Feeds = feeds,
                    Changes = WithFeedChanges(
                        WithDrillInstants(recordChanges ? RecordChanges(s, weights, drained, overrides, now) : s.State.Changes, evacuated, now - s.Gslb.Ttl.ChangeWindow),
                        s.State.Feeds,
                        feeds,
                        recordChanges,
                        now,
                        now - s.Gslb.Ttl.ChangeWindow),
                },
            });
            Volatile.Write(ref _current, state);
        }
    }
}
