using System.Diagnostics;
using System.Globalization;
using System.Text;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Gslb.Policies;

namespace GslbDns.Gslb;

/// <summary>Geo-proximity's rankings for one sorted data-center list, and the tree that picks one per client.</summary>
internal sealed record CompiledProximity(GeoDecisionTree Tree, string[] DataCenters, ProximityRanking[] Rankings);

/// <summary>The latency policy's nearest prober region per client (null: none configured).</summary>
internal sealed record CompiledRegions(GeoDecisionTree Tree, ProberRegion?[] Regions);

/// <summary>One geolocation policy's attempts per client.</summary>
internal sealed record CompiledGeolocation(GeolocationPolicy Policy, GeoDecisionTree Tree, GeolocationAttempts[] Choices);

/// <summary>
/// The precompiled geo decisions one service's policies read instead of locating the client: set on
/// the <see cref="SelectionContext"/> per query, immutable, shared by every thread.
/// </summary>
public sealed class ServiceGeoDecisions
{
    internal ServiceGeoDecisions(CompiledProximity? proximity, CompiledRegions? regions, CompiledGeolocation[] geolocation)
    {
        Proximity = proximity;
        Regions = regions;
        Geolocation = geolocation;
    }

    internal CompiledProximity? Proximity { get; }

    internal CompiledRegions? Regions { get; }

    internal CompiledGeolocation[] Geolocation { get; }

    internal CompiledGeolocation? GeolocationFor(GeolocationPolicy policy)
    {
        foreach (var compiled in Geolocation)
        {
            if (ReferenceEquals(compiled.Policy, policy))
            {
                return compiled;
            }
        }

        return null;
    }
}

/// <summary>What one compilation built, for logs and the benchmark report.</summary>
/// <param name="TreesBuilt">Trees walked from the database this time (the rest came from the cache).</param>
/// <param name="Trees">Distinct trees the snapshot uses.</param>
/// <param name="Nodes">Interior nodes over those trees.</param>
/// <param name="Bytes">Heap bytes of those trees (node arrays).</param>
/// <param name="DecodedRecords">Distinct database records decoded this time.</param>
public sealed record GeoCompileReport(int TreesBuilt, int Trees, long Nodes, long Bytes, int DecodedRecords, TimeSpan Elapsed);

/// <summary>
/// Compiles, per snapshot, every geo decision the services' policies make into
/// <see cref="GeoDecisionTree"/>s: one per sorted data-center list (geo-proximity, and latency's
/// fallback), one for the prober regions (latency), one per geolocation rule set. Trees are kept
/// between compilations and reused while the locator's sources (overrides, database, default) and
/// the decision's inputs are unchanged, so a reload that touches neither rebuilds nothing.
/// One instance per snapshot builder; not thread-safe (reloads are serialized).
/// </summary>
public sealed class GeoDecisionCompiler
{
    private Dictionary<string, object> _cache = new(StringComparer.Ordinal);
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<GeolocationPolicy, string> _policyKeys = [];
    private int _policyCount;
    private (GeoOverrides Overrides, GeoIpDatabase? GeoIp, GeoLocation Default)? _sources;
    private (GslbConfig Config, IReadOnlyDictionary<DnsName, ServiceGeoDecisions> Decisions)? _last;

    /// <summary>The last compilation's figures; null before the first.</summary>
    public GeoCompileReport? LastReport { get; private set; }

    /// <summary>
    /// Compiles the decisions of every service with a location-dependent policy. Null when there is
    /// no locator (then the policies use the configured default location, which needs no lookup), or
    /// when <paramref name="buildMissing"/> is false and some tree is not built yet (then the
    /// policies locate each client through the locator, with the same decisions, until a call that
    /// builds them).
    /// </summary>
    public IReadOnlyDictionary<DnsName, ServiceGeoDecisions>? Compile(GslbConfig config, ClientLocator? locator, bool buildMissing = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (locator is null)
        {
            return null;
        }

        var started = Stopwatch.GetTimestamp();
        var sources = (locator.Overrides, locator.GeoIp, locator.DefaultLocation);

        // Same config, same sources: the same object, so a builder that keeps compiled zones while
        // their inputs stay the same (by reference) keeps them.
        // Builders re-read geo-data on every reload: equal rules count as the same source.
        if (_sources is { } known && !ReferenceEquals(known.Overrides, sources.Overrides)
            && known.Overrides.Rules.SequenceEqual(sources.Overrides.Rules))
        {
            sources.Overrides = known.Overrides;
        }

        if (_last is { } last && ReferenceEquals(last.Config, config) && _sources == sources)
        {
            LastReport = LastReport! with { TreesBuilt = 0, DecodedRecords = 0, Elapsed = Stopwatch.GetElapsedTime(started) };
            return last.Decisions;
        }

        if (_sources is not { } previous || !ReferenceEquals(previous.Overrides, sources.Overrides)
            || !ReferenceEquals(previous.GeoIp, sources.GeoIp) || previous.Default != sources.DefaultLocation)
        {
            _cache = new(StringComparer.Ordinal);
            _sources = sources;
        }

        var used = new Dictionary<string, object>(StringComparer.Ordinal);
        var built = 0;
        var missing = false;
        GeoTreeCompiler? trees = null;
        try
        {
            T Get<T>(string key, Func<GeoTreeCompiler, T> build)
                where T : class
            {
                if (!used.TryGetValue(key, out var found) && !_cache.TryGetValue(key, out found))
                {
                    if (!buildMissing)
                    {
                        missing = true;
                        return null!; // the result is dropped below
                    }

                    trees ??= new GeoTreeCompiler(locator);
                    found = build(trees);
                    built++;
                }

                used[key] = found;
                return (T)found;
            }

            var result = new Dictionary<DnsName, ServiceGeoDecisions>();
            foreach (var (name, service) in config.Services)
            {
                var usesProximity = service.Policies.Any(p => p is GeoProximityPolicy or LatencyPolicy);
                var usesRegions = service.Policies.Any(p => p is LatencyPolicy);
                var geolocation = service.Policies.OfType<GeolocationPolicy>().ToArray();
                if (!usesProximity && geolocation.Length == 0)
                {
                    continue;
                }

                CompiledProximity? proximity = null;
                if (usesProximity)
                {
                    string[] dataCenters = [.. service.Endpoints.Select(e => e.DataCenter).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
                    proximity = Get(ProximityKey(config, dataCenters), t => BuildProximity(t, config, dataCenters));
                }

                var regions = usesRegions ? Get(RegionsKey(config), t => BuildRegions(t, config)) : null;
                var compiledGeolocation = geolocation.Select(p => Get(GeolocationKey(p), t => BuildGeolocation(t, p))).ToArray();
                result[name] = new ServiceGeoDecisions(proximity, regions, compiledGeolocation);
            }

            if (missing)
            {
                return null;
            }

            _cache = used;
            _last = (config, result);
            var distinct = used.Values.Select(TreeOf).Distinct().ToArray();
            LastReport = new GeoCompileReport(
                built,
                distinct.Length,
                distinct.Sum(t => (long)t.NodeCount),
                distinct.Sum(t => t.SizeInBytes),
                trees?.DecodedRecords ?? 0,
                Stopwatch.GetElapsedTime(started));
            return result;
        }
        finally
        {
            trees?.Dispose();
        }
    }

    private static GeoDecisionTree TreeOf(object compiled) => compiled switch
    {
        CompiledProximity p => p.Tree,
        CompiledRegions r => r.Tree,
        CompiledGeolocation g => g.Tree,
        _ => throw new UnreachableException(),
    };

    private static CompiledProximity BuildProximity(GeoTreeCompiler trees, GslbConfig config, string[] dataCenters)
    {
        var table = new DecisionTable<ProximityRanking>();
        var tree = trees.Build(location => table.Intern(ProximityRanking.For(location, config, dataCenters)));
        return new CompiledProximity(tree, dataCenters, table.ToArray());
    }

    private static CompiledRegions BuildRegions(GeoTreeCompiler trees, GslbConfig config)
    {
        var sorted = LatencyPolicy.SortedRegions(config);
        var tree = trees.Build(location => LatencyPolicy.NearestRegionIndex(sorted, location, config) + 1);
        return new CompiledRegions(tree, [null, .. sorted]);
    }

    private static CompiledGeolocation BuildGeolocation(GeoTreeCompiler trees, GeolocationPolicy policy)
    {
        var table = new DecisionTable<GeolocationAttempts>();
        var tree = trees.Build(location => table.Intern(policy.AttemptsFor(location)));
        return new CompiledGeolocation(policy, tree, table.ToArray());
    }

    // Keys name every input of the decision besides the locator's sources (checked separately).
    private static string ProximityKey(GslbConfig config, string[] dataCenters)
    {
        var key = new StringBuilder("proximity|").Append(PointText(config.DefaultLocation));
        foreach (var name in dataCenters)
        {
            key.Append('|').Append(name);
            if (config.DataCenters.TryGetValue(name, out var dc))
            {
                key.Append(CultureInfo.InvariantCulture, $"@{dc.Latitude:R},{dc.Longitude:R},{dc.Bias}");
            }
        }

        return key.ToString();
    }

    private static string RegionsKey(GslbConfig config) =>
        "regions|" + PointText(config.DefaultLocation) + string.Concat(LatencyPolicy.SortedRegions(config)
            .Select(r => string.Create(CultureInfo.InvariantCulture, $"|{r.Name}@{r.Latitude:R},{r.Longitude:R}")));

    // A geolocation policy's attempts hold its own arrays, so its tree is its own: keyed by the
    // instance (a number it is given once), so a config reload, which makes new policies, rebuilds it.
    private string GeolocationKey(GeolocationPolicy policy) =>
        _policyKeys.GetValue(policy, _ => "geolocation|" + (++_policyCount).ToString(CultureInfo.InvariantCulture));

    private static string PointText(GeoLocation location) =>
        location.HasCoordinates ? string.Create(CultureInfo.InvariantCulture, $"{location.Latitude:R},{location.Longitude:R}") : "-";

    /// <summary>Numbers equal decisions alike, in order of first appearance.</summary>
    private sealed class DecisionTable<T>
        where T : class, IEquatable<T>
    {
        private readonly Dictionary<T, int> _numbers = [];
        private readonly List<T> _decisions = [];

        public int Intern(T decision)
        {
            if (!_numbers.TryGetValue(decision, out var number))
            {
                number = _decisions.Count;
                _decisions.Add(decision);
                _numbers[decision] = number;
            }

            return number;
        }

        public T[] ToArray() => [.. _decisions];
    }
}
