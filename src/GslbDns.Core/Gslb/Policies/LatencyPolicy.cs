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
        ProberRegion? region;
        if (context.Geo?.Regions is { } compiled)
        {
            region = compiled.Regions[context.Decide(compiled.Tree)];
        }
        else
        {
            var sorted = Regions(config);
            var index = NearestRegionIndex(sorted, context.Location.Location, config);
            region = index < 0 ? null : sorted[index];
        }

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

        var kept = DataCenterRanking.KeepBest(candidates, count, Count, context, new RttScorer(matrix, region.Name), out var best, out var milliseconds);
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

    private ProberRegion[] Regions(GslbConfig config)
    {
        var table = _regions;
        if (table is null || !ReferenceEquals(table.Config, config))
        {
            table = new RegionTable(config, SortedRegions(config));
            _regions = table;
        }

        return table.Regions;
    }

    /// <summary>The config's regions sorted by name, so that a tie between two equally near regions goes the same way in every process.</summary>
    internal static ProberRegion[] SortedRegions(GslbConfig config) => [.. config.Regions.Values.OrderBy(r => r.Name, StringComparer.Ordinal)];

    /// <summary>
    /// The index in <paramref name="sorted"/> of the region nearest the client's point (its location,
    /// else the configured default), or -1 when there is no point or no region. The one rule the
    /// per-query path and the precompiled region tree share.
    /// </summary>
    internal static int NearestRegionIndex(ProberRegion[] sorted, GeoLocation location, GslbConfig config)
    {
        var point = location.HasCoordinates ? location : config.DefaultLocation;
        if (!point.HasCoordinates)
        {
            return -1;
        }

        var nearest = -1;
        var nearestKm = double.PositiveInfinity;
        for (var i = 0; i < sorted.Length; i++)
        {
            var km = GreatCircle.DistanceKm(point.Latitude!.Value, point.Longitude!.Value, sorted[i].Latitude, sorted[i].Longitude);
            if (km < nearestKm)
            {
                nearest = i;
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
