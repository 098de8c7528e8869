using System.Globalization;
using GslbDns.Geo;

namespace GslbDns.Gslb.Policies;

/// <summary>
/// <c>geo-proximity</c>: keeps the endpoints of the <c>count</c> data centers nearest the client by
/// great-circle distance, each distance scaled by the data center's bias as Route 53 geoproximity
/// does (<c>distance * (1 - bias / 100)</c>: bias 50 makes a data center look half as far, so it wins
/// a wider area). A geo-data override that pins the client to a data center wins while that data
/// center has candidates. A client with no coordinates is taken to be at the configured default location.
/// </summary>
public sealed class GeoProximityPolicy : ISelectionPolicy
{
    public const string TypeName = "geo-proximity";

    /// <summary>The options this policy takes besides <c>type</c>.</summary>
    internal static readonly string[] OptionNames = ["count", "geofence"];

    /// <summary>Reads this policy's options from its step; errors go to the step's file.</summary>
    internal static GeoProximityPolicy Read(PolicyOptions options) => new(options.Count(1)) { Geofence = options.Bool("geofence", false) };

    public GeoProximityPolicy(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
    }

    /// <summary>How many of the nearest data centers to keep.</summary>
    public int Count { get; }

    /// <summary><c>geofence</c>: answers stay in the region of the client's nearest data center even when it is unhealthy (<see cref="Policies.Geofence"/>).</summary>
    public bool Geofence { get; init; }

    public string Name => TypeName;

    public int Apply(Span<int> candidates, int count, SelectionContext context)
    {
        if (count == 0)
        {
            return 0;
        }

        if (context.Geo?.Proximity is { } compiled)
        {
            return ApplyRanking(candidates, count, context, compiled.Rankings[context.Decide(compiled.Tree)], compiled.DataCenters);
        }

        var location = context.Location.Location;
        if (KeepForced(candidates, count, context, location.DataCenter) is var forcedKept and > 0)
        {
            return forcedKept;
        }

        var point = location.HasCoordinates ? location : context.Config.DefaultLocation;
        if (!point.HasCoordinates)
        {
            context.Note("no client coordinates and no default location: kept all");
            return count;
        }

        if (Geofence)
        {
            var home = location.DataCenter ?? NearestOfService(context, point.Latitude!.Value, point.Longitude!.Value);
            if (home is not null && Policies.Geofence.RegionOf(context, home) is { } region && (count = Policies.Geofence.Keep(candidates, count, context, region)) == 0)
            {
                return 0;
            }
        }

        return KeepNearest(candidates, count, Count, context, point.Latitude!.Value, point.Longitude!.Value);
    }

    // The precompiled form of the steps below: the same forced data center, then the same KeepBest over
    // ranks that order the data centers as the distances do (ties included), so the answer is the same.
    private int ApplyRanking(Span<int> candidates, int count, SelectionContext context, ProximityRanking ranking, string[] dataCenters)
    {
        if (KeepForced(candidates, count, context, ranking.Forced) is var forcedKept and > 0)
        {
            return forcedKept;
        }

        if (ranking.Ranks is not { } ranks)
        {
            context.Note("no client coordinates and no default location: kept all");
            return count;
        }

        if (Geofence)
        {
            var home = ranking.Forced ?? BestRanked(dataCenters, ranks);
            if (Policies.Geofence.RegionOf(context, home) is { } region && (count = Policies.Geofence.Keep(candidates, count, context, region)) == 0)
            {
                return 0;
            }
        }

        var nearest = DataCenterRanking.KeepBest(candidates, count, Count, context, new RankScorer(dataCenters, ranks), out var best, out _);
        if (context.Trace is not null)
        {
            context.Note(string.Create(CultureInfo.InvariantCulture, $"precompiled ranking for the client's network (/{context.ScopePrefix}): nearest {best} (bias-scaled)"));
        }

        return nearest;
    }

    // The data center the ranking puts first, every endpoint counted healthy: the client's home for a geofence.
    private static string BestRanked(string[] dataCenters, int[] ranks)
    {
        var best = 0;
        for (var i = 1; i < dataCenters.Length; i++)
        {
            if (ranks[i] < ranks[best])
            {
                best = i;
            }
        }

        return dataCenters[best];
    }

    // As BestRanked for the per-query path: the nearest data center of any of the service's endpoints, healthy or not.
    private static string? NearestOfService(SelectionContext context, double latitude, double longitude)
    {
        string? nearest = null;
        var best = double.PositiveInfinity;
        var endpoints = context.Service.Endpoints;
        for (var i = 0; i < endpoints.Count; i++)
        {
            var endpoint = endpoints[i];
            if (context.Config.DataCenters.TryGetValue(endpoint.DataCenter, out var dataCenter) && BiasedDistanceKm(latitude, longitude, dataCenter) is var km && km < best)
            {
                best = km;
                nearest = dataCenter.Name;
            }
        }

        return nearest;
    }

    // A geo-data override's pin wins while that data center has candidates; 0 lets the ranking decide.
    private static int KeepForced(Span<int> candidates, int count, SelectionContext context, string? forced)
    {
        if (forced is null)
        {
            return 0;
        }

        var kept = DataCenterRanking.KeepDataCenter(candidates, count, context.Service.Endpoints, forced);
        if (kept > 0 && context.Trace is not null)
        {
            context.Note("forced to data center " + forced + " by a geo-data override");
        }

        return kept;
    }

    /// <summary>Bias-scaled distance; a bias outside -99..99 (config validation stops those) is clamped so a distance never turns 0 or negative.</summary>
    internal static double BiasedDistanceKm(double latitude, double longitude, DataCenter dataCenter) =>
        GreatCircle.DistanceKm(latitude, longitude, dataCenter.Latitude, dataCenter.Longitude) * (1 - (Math.Clamp(dataCenter.Bias, -99, 99) / 100.0));

    private static int KeepNearest(Span<int> candidates, int count, int keep, SelectionContext context, double latitude, double longitude)
    {
        var kept = DataCenterRanking.KeepBest(
            candidates, count, keep, context, new ProximityScorer(context.Config.DataCenters, latitude, longitude), out var nearest, out var km);
        if (context.Trace is not null)
        {
            context.Note(string.Create(CultureInfo.InvariantCulture, $"client at {latitude:0.###},{longitude:0.###}; nearest {nearest} at {km:0} km (bias-scaled)"));
        }

        return kept;
    }

    private readonly struct ProximityScorer(IReadOnlyDictionary<string, DataCenter> dataCenters, double latitude, double longitude) : IDataCenterScorer
    {
        public double Score(string dataCenter) =>
            dataCenters.TryGetValue(dataCenter, out var found) ? BiasedDistanceKm(latitude, longitude, found) : double.PositiveInfinity;
    }
}
