using System.Buffers;

namespace GslbDns.Gslb.Policies;

/// <summary>Scores one data center for <see cref="DataCenterRanking.KeepBest"/>; lower is better.</summary>
/// <remarks>Implemented by structs and passed as a generic argument, so scoring is neither a closure nor boxed.</remarks>
internal interface IDataCenterScorer
{
    /// <summary>The data center's score; <see cref="double.PositiveInfinity"/> when there is nothing to score it by.</summary>
    double Score(string dataCenter);
}

/// <summary>
/// Shared by the policies that keep whole data centers (geo-proximity, latency, geolocation):
/// grouping candidates by data center and keeping the best groups, in place and without allocating.
/// </summary>
internal static class DataCenterRanking
{
    /// <summary>Up to this many candidates the scratch space is on the stack (1.5 KB); beyond, it is rented.</summary>
    public const int StackLimit = 128;

    /// <summary>
    /// Keeps the candidates of the <paramref name="keep"/> data centers with the lowest scores, in their
    /// current order. Ties go to the data center that appears first among the candidates, so the
    /// answer is deterministic. <paramref name="best"/>/<paramref name="bestScore"/> name the winner for explain.
    /// A service with <c>loadShedding</c> ranks the data centers that shed this client last (<see cref="LoadShedder"/>).
    /// </summary>
    public static int KeepBest<TScorer>(Span<int> candidates, int count, int keep, SelectionContext context, TScorer scorer, out string? best, out double bestScore)
        where TScorer : struct, IDataCenterScorer
    {
        var endpoints = context.Service.Endpoints;
        best = null;
        bestScore = double.PositiveInfinity;
        if (count == 0)
        {
            return 0;
        }

        int[]? rentedInts = null;
        double[]? rentedScores = null;
        Span<int> ints = count <= StackLimit ? stackalloc int[2 * StackLimit] : (rentedInts = ArrayPool<int>.Shared.Rent(2 * count));
        Span<double> scores = count <= StackLimit ? stackalloc double[StackLimit] : (rentedScores = ArrayPool<double>.Shared.Rent(count));
        try
        {
            var groupOf = ints[..count];
            var firstOf = ints.Slice(count, count);
            var groups = Group(candidates[..count], endpoints, groupOf, firstOf);
            for (var g = 0; g < groups; g++)
            {
                scores[g] = scorer.Score(endpoints[candidates[firstOf[g]]].DataCenter);
            }

            LoadShedder.Apply(context, candidates[..count], groupOf, groups, scores);
            var bestGroup = 0;
            for (var g = 1; g < groups; g++)
            {
                if (scores[g] < scores[bestGroup])
                {
                    bestGroup = g;
                }
            }

            best = endpoints[candidates[firstOf[bestGroup]]].DataCenter;
            bestScore = scores[bestGroup] >= LoadShedder.Penalty ? scores[bestGroup] - LoadShedder.Penalty : scores[bestGroup];
            if (keep >= groups)
            {
                return count;
            }

            // firstOf has served its purpose; reuse it as the "chosen" flags (selection by repeated
            // minimum: keep is at most 64, and allocating a heap for it would cost more).
            var chosen = firstOf[..groups];
            chosen.Clear();
            for (var round = 0; round < keep; round++)
            {
                var pick = -1;
                for (var g = 0; g < groups; g++)
                {
                    if (chosen[g] == 0 && (pick < 0 || scores[g] < scores[pick]))
                    {
                        pick = g;
                    }
                }

                chosen[pick] = 1;
            }

            var kept = 0;
            for (var i = 0; i < count; i++)
            {
                if (chosen[groupOf[i]] != 0)
                {
                    candidates[kept++] = candidates[i];
                }
            }

            return kept;
        }
        finally
        {
            if (rentedInts is not null)
            {
                ArrayPool<int>.Shared.Return(rentedInts);
            }

            if (rentedScores is not null)
            {
                ArrayPool<double>.Shared.Return(rentedScores);
            }
        }
    }

    /// <summary>
    /// Keeps the candidates in <paramref name="dataCenter"/>. Returns 0 and leaves the span untouched
    /// when there are none, so a caller can fall through to its next choice.
    /// </summary>
    public static int KeepDataCenter(Span<int> candidates, int count, IReadOnlyList<Endpoint> endpoints, string dataCenter)
    {
        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            var index = candidates[i];
            if (string.Equals(endpoints[index].DataCenter, dataCenter, StringComparison.Ordinal))
            {
                candidates[kept++] = index;
            }
        }

        return kept;
    }

    /// <summary>
    /// Keeps the candidates in any of <paramref name="dataCenters"/>. Returns 0 and leaves the span
    /// untouched when there are none.
    /// </summary>
    public static int KeepDataCenters(Span<int> candidates, int count, IReadOnlyList<Endpoint> endpoints, string[] dataCenters)
    {
        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            var index = candidates[i];
            if (Contains(dataCenters, endpoints[index].DataCenter))
            {
                candidates[kept++] = index;
            }
        }

        return kept;
    }

    private static bool Contains(string[] names, string name)
    {
        foreach (var candidate in names)
        {
            if (string.Equals(candidate, name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    // Linear search over the groups found so far: a service has a handful of data centers, and a
    // dictionary would allocate.
    private static int Group(ReadOnlySpan<int> candidates, IReadOnlyList<Endpoint> endpoints, Span<int> groupOf, Span<int> firstOf)
    {
        var groups = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            var dataCenter = endpoints[candidates[i]].DataCenter;
            var g = 0;
            while (g < groups && !string.Equals(endpoints[candidates[firstOf[g]]].DataCenter, dataCenter, StringComparison.Ordinal))
            {
                g++;
            }

            if (g == groups)
            {
                firstOf[groups++] = i;
            }

            groupOf[i] = g;
        }

        return groups;
    }
}
