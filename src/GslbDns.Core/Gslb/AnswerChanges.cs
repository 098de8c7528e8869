using System.Collections.Frozen;

namespace GslbDns.Gslb;

/// <summary>
/// When the answers for an endpoint or a data center changed, or are due to change, keyed like
/// <see cref="GslbState.Drained"/>: an endpoint id or a data-center name. A service whose answers are near a
/// change answers with the short TTL (<c>ttl.min</c>) so resolvers follow the change instead of caching the
/// old answer for a whole service TTL: from one service TTL before an instant (a scheduled change, such as an
/// override's expiry or a drill's start and end: what a resolver caches then expires by the change) until
/// <see cref="TtlLimits.ChangeWindow"/> after it. Immutable; a writer builds a new one with <see cref="With"/>.
/// </summary>
/// <remarks>
/// Read on the query path: <see cref="Latest"/> lets a query skip every lookup once all changes are older than the
/// window (the steady state), and <see cref="IsNear"/> allocates nothing.
/// </remarks>
public sealed class AnswerChanges
{
    public static readonly AnswerChanges Empty = new(FrozenDictionary<string, DateTimeOffset[]>.Empty);

    private readonly FrozenDictionary<string, DateTimeOffset[]> _at;

    private AnswerChanges(FrozenDictionary<string, DateTimeOffset[]> at)
    {
        _at = at;
        var latest = DateTimeOffset.MinValue;
        foreach (var times in at.Values)
        {
            foreach (var time in times)
            {
                latest = time > latest ? time : latest;
            }
        }

        Latest = latest;
    }

    /// <summary>Keys with at least one change.</summary>
    public int Count => _at.Count;

    /// <summary>The latest instant of all (<see cref="DateTimeOffset.MinValue"/> when there is none).</summary>
    public DateTimeOffset Latest { get; }

    /// <summary>The instants recorded for <paramref name="key"/> (an endpoint id or a data-center name), oldest first.</summary>
    public IReadOnlyList<DateTimeOffset> For(string key) => _at.TryGetValue(key, out var times) ? times : [];

    /// <summary>
    /// A copy with <paramref name="at"/> recorded for every key in <paramref name="keys"/> (past: a change that
    /// happened; future: one that is scheduled), and every instant before <paramref name="forgetBefore"/> dropped.
    /// </summary>
    public AnswerChanges With(IEnumerable<string> keys, DateTimeOffset at, DateTimeOffset forgetBefore)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var next = new Dictionary<string, List<DateTimeOffset>>(StringComparer.Ordinal);
        foreach (var (key, times) in _at)
        {
            var kept = times.Where(t => t >= forgetBefore).ToList();
            if (kept.Count > 0)
            {
                next[key] = kept;
            }
        }

        foreach (var key in keys)
        {
            if (at < forgetBefore)
            {
                break;
            }

            if (!next.TryGetValue(key, out var times))
            {
                next[key] = times = [];
            }

            if (!times.Contains(at))
            {
                times.Add(at);
            }
        }

        return next.Count == 0 && _at.Count == 0
            ? this
            : new AnswerChanges(next.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.Order().ToArray(), StringComparer.Ordinal));
    }

    /// <summary>
    /// Whether <paramref name="now"/> is near a change of the endpoint (by its id or its data center): within
    /// <paramref name="lead"/> before an instant or <paramref name="window"/> after it.
    /// </summary>
    public bool IsNear(Endpoint endpoint, DateTimeOffset now, TimeSpan lead, TimeSpan window) =>
        IsNear(endpoint.Id, now, lead, window) || IsNear(endpoint.DataCenter, now, lead, window);

    /// <summary>The keys whose value differs between two maps (present in one only, or with another value).</summary>
    public static IEnumerable<string> Differing<T>(IReadOnlyDictionary<string, T> before, IReadOnlyDictionary<string, T> after, T? missing)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var comparer = EqualityComparer<T>.Default;
        foreach (var key in before.Keys.Union(after.Keys, StringComparer.Ordinal))
        {
            T? a = before.TryGetValue(key, out var x) ? x : missing;
            T? b = after.TryGetValue(key, out var y) ? y : missing;
            if (!comparer.Equals(a, b))
            {
                yield return key;
            }
        }
    }

    private bool IsNear(string key, DateTimeOffset now, TimeSpan lead, TimeSpan window)
    {
        if (!_at.TryGetValue(key, out var times))
        {
            return false;
        }

        foreach (var time in times)
        {
            if (now >= time - lead && now <= time + window)
            {
                return true;
            }
        }

        return false;
    }
}
