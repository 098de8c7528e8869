using System.Runtime.CompilerServices;
using GslbDns.Geo;

namespace GslbDns.Gslb.Policies;

/// <summary>
/// What geo-proximity takes from one client location, over a fixed, sorted list of data centers: the
/// data center a geo-data override pins the client to (null when none, or when it is not in the list),
/// and each data center's rank by bias-scaled distance (equal distances, equal ranks). Ranks, not
/// distances, so that the many locations that order the data centers alike share one decision and
/// their networks merge. Health is not in it: the policy applies the ranking to the healthy candidates
/// at query time, so a health change needs no recompilation.
/// </summary>
internal sealed class ProximityRanking : IEquatable<ProximityRanking>
{
    private ProximityRanking(string? forced, int[]? ranks)
    {
        Forced = forced;
        Ranks = ranks;
    }

    public string? Forced { get; }

    /// <summary>Rank per data center of the list; null when there is no point to measure from (keep all).</summary>
    public int[]? Ranks { get; }

    /// <summary>The ranking <see cref="GeoProximityPolicy"/> makes for <paramref name="location"/>.</summary>
    public static ProximityRanking For(GeoLocation location, GslbConfig config, string[] dataCenters)
    {
        string? forced = location.DataCenter is { } pinned ? Array.Find(dataCenters, d => string.Equals(d, pinned, StringComparison.Ordinal)) : null;
        var point = location.HasCoordinates ? location : config.DefaultLocation;
        if (!point.HasCoordinates)
        {
            return new ProximityRanking(forced, null);
        }

        var scores = new double[dataCenters.Length];
        for (var i = 0; i < dataCenters.Length; i++)
        {
            scores[i] = config.DataCenters.TryGetValue(dataCenters[i], out var dataCenter)
                ? GeoProximityPolicy.BiasedDistanceKm(point.Latitude!.Value, point.Longitude!.Value, dataCenter)
                : double.PositiveInfinity;
        }

        return new ProximityRanking(forced, RanksOf(scores));
    }

    /// <summary>Rank of each score among the distinct scores (0 = lowest); equal scores share a rank.</summary>
    public static int[] RanksOf(double[] scores)
    {
        var distinct = scores.Distinct().Order().ToArray();
        return [.. scores.Select(s => Array.IndexOf(distinct, s))];
    }

    public bool Equals(ProximityRanking? other) =>
        other is not null
        && string.Equals(Forced, other.Forced, StringComparison.Ordinal)
        && (Ranks is null ? other.Ranks is null : other.Ranks is not null && Ranks.AsSpan().SequenceEqual(other.Ranks));

    public override bool Equals(object? obj) => Equals(obj as ProximityRanking);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Forced, StringComparer.Ordinal);
        hash.Add(Ranks is null);
        foreach (var rank in Ranks ?? [])
        {
            hash.Add(rank);
        }

        return hash.ToHashCode();
    }
}

/// <summary>Scores a data center by its rank in a <see cref="ProximityRanking"/> (the list is a handful of names).</summary>
internal readonly struct RankScorer(string[] dataCenters, int[] ranks) : IDataCenterScorer
{
    public double Score(string dataCenter)
    {
        for (var i = 0; i < dataCenters.Length; i++)
        {
            if (string.Equals(dataCenters[i], dataCenter, StringComparison.Ordinal))
            {
                return ranks[i];
            }
        }

        return double.PositiveInfinity;
    }
}

/// <summary>
/// What geolocation takes from one client location: the data-center lists to try in order (the
/// matching subdivision, country and continent rules, then the default), each with the note explain
/// prints. The lists are the policy's own arrays, compared by reference.
/// </summary>
internal sealed class GeolocationAttempts : IEquatable<GeolocationAttempts>
{
    public GeolocationAttempts((string[] DataCenters, string Note)[] attempts)
    {
        Attempts = attempts;
    }

    public (string[] DataCenters, string Note)[] Attempts { get; }

    public bool Equals(GeolocationAttempts? other)
    {
        if (other is null || other.Attempts.Length != Attempts.Length)
        {
            return false;
        }

        for (var i = 0; i < Attempts.Length; i++)
        {
            if (!ReferenceEquals(Attempts[i].DataCenters, other.Attempts[i].DataCenters))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as GeolocationAttempts);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var (dataCenters, _) in Attempts)
        {
            hash.Add(RuntimeHelpers.GetHashCode(dataCenters));
        }

        return hash.ToHashCode();
    }
}
