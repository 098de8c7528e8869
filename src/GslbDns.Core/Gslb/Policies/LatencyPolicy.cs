using System.Globalization;
using GslbDns.Geo;

namespace GslbDns.Gslb.Policies;

/// <summary>
/// <c>latency</c>: takes the prober region nearest the client as a stand-in for the client's network
/// position, then keeps the endpoints of the <c>count</c> data centers with the lowest round-trip
/// time from that region. RTTs come from the probers' measurements when they have any for that region
/// (among the candidates' data centers), else from the config's static matrix; a data center missing
/// from the matrix in use ranks last. With no region, or no RTT for that region at all, it falls back
/// to <see cref="GeoProximityPolicy"/> with the same count.
/// </summary>
public sealed class LatencyPolicy : ISelectionPolicy
{
    public const string TypeName = "latency";

    /// <summary>The options this policy takes besides <c>type</c>.</summary>
    internal static readonly string[] OptionNames = ["count"];

    /// <summary>Reads this policy's options from its step; errors go to the step's file.</summary>
    internal static LatencyPolicy Read(PolicyOptions options) => new(options.Count(1));

    private readonly GeoProximityPolicy _fallback;

    // Config.Regions is an interface; enumerating it would box an enumerator per query. The array is
    // rebuilt once per config snapshot (compared by reference) and published by a single reference
    // write, so concurrent queries at worst both rebuild it.
    private RegionTable? _regions;

    public LatencyPolicy(int count)
    {
        _fallback = new GeoProximityPolicy(count);
    }

    /// <summary>How many of the lowest-RTT data centers to keep.</summary>
    public int Count => _fallback.Count;

    public string Name => TypeName;

    public int Apply(Span<int> candidates, int count, SelectionContext context)
    {
        if (count == 0)
        {
            return 0;
        }

        var config = context.Config;
        var location = context.Location.Location;
        var point = location.HasCoordinates ? location : config.DefaultLocation;
        var region = point.HasCoordinates ? NearestRegion(config, point.Latitude!.Value, point.Longitude!.Value) : null;
        if (region is null)
        {
            return Fallback(candidates, count, context, null);
        }

        var endpoints = context.Service.Endpoints;
        var measured = context.State.MeasuredRtt;
        RttMatrix matrix;
        string source;
        if (measured is not null && HasData(measured, region.Name, candidates[..count], endpoints))
        {
            matrix = measured;
            source = "measured";
        }
        else if (HasData(config.StaticRtt, region.Name, candidates[..count], endpoints))
        {
            matrix = config.StaticRtt;
            source = "static";
        }
        else
        {
            return Fallback(candidates, count, context, region.Name);
        }

        var kept = DataCenterRanking.KeepBest(candidates, count, Count, endpoints, new RttScorer(matrix, region.Name), out var best, out var milliseconds);
        if (context.Trace is not null)
        {
            context.Note(string.Create(CultureInfo.InvariantCulture, $"nearest region {region.Name}; {source} RTT: best {best} at {milliseconds:0.#} ms"));
        }

        return kept;
    }

    /// <param name="region">The nearest region when it had no RTT data, null when there was no region.</param>
    private int Fallback(Span<int> candidates, int count, SelectionContext context, string? region)
    {
        var kept = _fallback.Apply(candidates, count, context);
        if (context.Trace is not null)
        {
            var reason = region is null ? "no prober region for the client" : "no RTT data for region " + region;
            context.Note(reason + "; fell back to geo-proximity: " + context.TakeNote());
        }

        return kept;
    }

    private static bool HasData(RttMatrix matrix, string region, ReadOnlySpan<int> candidates, IReadOnlyList<Endpoint> endpoints)
    {
        if (matrix.Count == 0)
        {
            return false;
        }

        foreach (var index in candidates)
        {
            if (matrix.TryGet(region, endpoints[index].DataCenter, out _))
            {
                return true;
            }
        }

        return false;
    }

    private ProberRegion? NearestRegion(GslbConfig config, double latitude, double longitude)
    {
        var table = _regions;
        if (table is null || !ReferenceEquals(table.Config, config))
        {
            // Sorted so that a tie between two equally near regions goes the same way in every process.
            table = new RegionTable(config, [.. config.Regions.Values.OrderBy(r => r.Name, StringComparer.Ordinal)]);
            _regions = table;
        }

        ProberRegion? nearest = null;
        var nearestKm = double.PositiveInfinity;
        foreach (var region in table.Regions)
        {
            var km = GreatCircle.DistanceKm(latitude, longitude, region.Latitude, region.Longitude);
            if (km < nearestKm)
            {
                nearest = region;
                nearestKm = km;
            }
        }

        return nearest;
    }

    private sealed record RegionTable(GslbConfig Config, ProberRegion[] Regions);

    private readonly struct RttScorer(RttMatrix matrix, string region) : IDataCenterScorer
    {
        public double Score(string dataCenter) => matrix.TryGet(region, dataCenter, out var milliseconds) ? milliseconds : double.PositiveInfinity;
    }
}
