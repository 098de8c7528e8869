namespace GslbDns.Geo;

/// <summary>
/// Builds <see cref="GeoDecisionTree"/>s over one locator's sources (overrides, database, default):
/// walks the database's search tree and the overrides once into a <see cref="GeoLocationTree"/>
/// (decoding each record once), and folds each decision from it, however many trees are built.
/// Build-time only: a snapshot builder creates one, builds every tree the snapshot needs, and
/// disposes it before the snapshot is published (the location tree is garbage then).
/// </summary>
public sealed class GeoTreeCompiler : IDisposable
{
    private readonly ClientLocator _locator;
    private readonly MmdbSearchTree? _database;
    private GeoLocationTree? _locations;

    public GeoTreeCompiler(ClientLocator locator)
    {
        ArgumentNullException.ThrowIfNull(locator);
        _locator = locator;
        _database = locator.GeoIp is { } geoIp ? MmdbSearchTree.Open(geoIp.Path) : null;
    }

    /// <summary>The locator whose sources the trees are built from.</summary>
    public ClientLocator Locator => _locator;

    /// <summary>Distinct database records decoded so far (each at most once).</summary>
    public int DecodedRecords => _database?.DecodedRecords ?? 0;

    /// <summary>
    /// A tree over the whole address space (both families); <paramref name="decide"/> is called once
    /// per distinct location and must return a number >= 0, equal for equal decisions.
    /// </summary>
    public GeoDecisionTree Build(Func<GeoLocation, int> decide)
    {
        ArgumentNullException.ThrowIfNull(decide);
        _locations ??= GeoLocationTree.Build(_database, _locator.Overrides, _locator.DefaultLocation);
        return GeoDecisionTree.Fold(_locations, decide);
    }

    public void Dispose() => _database?.Dispose();
}
