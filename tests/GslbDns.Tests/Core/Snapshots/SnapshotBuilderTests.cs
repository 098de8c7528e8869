using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Query;
using GslbDns.Snapshots;
using GslbDns.Tests.TestSupport;
using GslbDns.Zones;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Tests.Core.Snapshots;

/// <summary>
/// The builder's bookkeeping on real files: what is recompiled and when, <c>$INCLUDE</c> changes seen by content,
/// the last good version of each part kept, and the one rule for a missing zone folder.
/// </summary>
public sealed class SnapshotBuilderTests : IDisposable
{
    private readonly TempFolder _folder = new("builder");
    private readonly SnapshotHolder _snapshots = new(ServerSnapshot.Empty);

    public void Dispose() => _folder.Dispose();

    private string Zones => Path.Combine(_folder.Path, "zones");

    private static string Zone(string hostsLine) => $"""
        $TTL 300
        @ IN SOA ns1 hostmaster 1 3600 600 86400 60
          IN NS ns1
        ns1 IN A 127.0.0.1
        {hostsLine}
        $INCLUDE hosts.inc

        """;

    private static string Config(int weight) => $$$"""
        {
          "dataCenters": {"dc-a": {"latitude": 1, "longitude": 2}, "dc-b": {"latitude": 3, "longitude": 4}},
          "services": {
            "svc": {"policy": [{"type": "healthy"}, {"type": "weighted", "sticky": true}],
                    "endpoints": [{"dataCenter": "dc-a", "address": "192.0.2.1", "weight": {{{weight}}}}, {"dataCenter": "dc-b", "address": "192.0.2.2"}]}
          }
        }
        """;

    private SnapshotBuilder Start()
    {
        Directory.CreateDirectory(Zones);
        File.WriteAllText(Path.Combine(Zones, "a.test.zone"), Zone("www IN A 192.0.2.10"));
        File.WriteAllText(Path.Combine(Zones, "b.test.zone"), Zone("www IN A 192.0.2.20"));
        File.WriteAllText(Path.Combine(Zones, "hosts.inc"), "app IN A 192.0.2.30\n");
        File.WriteAllText(Path.Combine(Zones, "a.test.gslb.json"), Config(10));
        var geoData = Directory.CreateDirectory(Path.Combine(_folder.Path, "geo-data")).FullName;
        File.WriteAllText(Path.Combine(geoData, "sites.txt"), "10.0.0.0/8 dc=dc-b\n");
        var builder = new SnapshotBuilder(Zones, geoData, null, _snapshots, NullLogger.Instance);
        Assert.Empty(builder.Reload());
        return builder;
    }

    private CompiledZone ZoneOf(string origin) => _snapshots.Current.Zones.FindExact(DnsName.Parse(origin).Wire)!;

    [Fact]
    public void An_unchanged_zone_is_not_recompiled_and_a_changed_one_is_compiled_once()
    {
        var builder = Start();
        var changes = new List<GslbConfig>();
        builder.GslbChanged += changes.Add;
        Assert.Equal(2, builder.ZoneCompilations);
        var a = ZoneOf("a.test.");
        var b = ZoneOf("b.test.");
        var config = _snapshots.Current.Gslb;

        // Nothing changed: the same compiled zones and config, no event for the prober.
        Assert.Empty(builder.Reload());
        Assert.Equal(2, builder.ZoneCompilations);
        Assert.Same(a, ZoneOf("a.test."));
        Assert.Same(b, ZoneOf("b.test."));
        Assert.Same(config, _snapshots.Current.Gslb);
        Assert.Empty(changes);

        // One zone edited: that zone alone, compiled once (with its service attached).
        File.WriteAllText(Path.Combine(Zones, "b.test.zone"), Zone("www IN A 192.0.2.21"));
        Assert.Empty(builder.Reload());
        Assert.Equal(3, builder.ZoneCompilations);
        Assert.Same(a, ZoneOf("a.test."));
        Assert.NotSame(b, ZoneOf("b.test."));
        Assert.NotNull(ZoneOf("a.test.").Find(DnsName.Parse("svc.a.test."))!.Dynamic);

        // The config edited: every zone is compiled against it, once, and the prober hears of it once.
        File.WriteAllText(Path.Combine(Zones, "a.test.gslb.json"), Config(20));
        Assert.Empty(builder.Reload());
        Assert.Equal(5, builder.ZoneCompilations);
        Assert.Same(_snapshots.Current.Gslb, Assert.Single(changes));
        Assert.Equal(20, _snapshots.Current.Gslb.Services[DnsName.Parse("svc.a.test.")].Endpoints[0].Weight);
    }

    [Fact]
    public void An_include_edited_to_the_same_size_and_write_time_is_seen_by_its_content()
    {
        var builder = Start();
        var include = Path.Combine(Zones, "hosts.inc");
        var time = File.GetLastWriteTimeUtc(include);
        File.WriteAllText(include, "app IN A 192.0.2.31\n");
        File.SetLastWriteTimeUtc(include, time);

        Assert.Empty(builder.Reload());

        // Both zones include it; both are re-read and serve the new address.
        Assert.Equal(4, builder.ZoneCompilations);
        foreach (var origin in new[] { "a.test.", "b.test." })
        {
            var app = ZoneOf(origin).Find(DnsName.Parse("app." + origin))!;
            Assert.Equal(new byte[] { 192, 0, 2, 31 }, app.Find(RecordType.A)!.Records[0].RData);
        }
    }

    [Fact]
    public void A_bad_edit_of_an_include_the_config_or_geo_data_keeps_each_last_good_version_and_names_file_and_line()
    {
        var builder = Start();
        var a = ZoneOf("a.test.");
        var config = _snapshots.Current.Gslb;
        var overrides = ((GslbDns.Geo.ClientLocator)_snapshots.Current.Locator!).Overrides;
        File.WriteAllText(Path.Combine(Zones, "hosts.inc"), "app IN A 192.0.2.31\nbad IN A 192.0.2\n");
        File.WriteAllText(Path.Combine(Zones, "a.test.gslb.json"), Config(20).Replace("\"weighted\"", "\"wieghted\"", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(_folder.Path, "geo-data", "sites.txt"), "10.0.0.0/8 dc=dc-b\n10.0.0.0/33 dc=dc-a\n");

        var errors = builder.Reload().Select(e => e.ToString()).ToArray();

        Assert.Contains(errors, e => e.Contains("hosts.inc:2: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("a.test.gslb.json:4: ", StringComparison.Ordinal) && e.Contains("wieghted", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("sites.txt:2: ", StringComparison.Ordinal));
        Assert.Same(a, ZoneOf("a.test."));
        Assert.Same(config, _snapshots.Current.Gslb);
        Assert.Same(overrides, ((GslbDns.Geo.ClientLocator)_snapshots.Current.Locator!).Overrides);

        // Reloading the same bad input reports the same errors again (they are the state of the files, not news).
        Assert.Equal(errors, builder.Reload().Select(e => e.ToString()));
    }

    [Fact]
    public void A_missing_zone_folder_is_an_error_and_the_last_good_snapshot_keeps_serving()
    {
        var builder = Start();
        var before = _snapshots.Current;
        var moved = Zones + ".away";
        Directory.Move(Zones, moved);

        var error = Assert.Single(builder.Reload());
        Assert.Equal(Zones + ": zone folder does not exist", error.ToString());
        Assert.Same(before, _snapshots.Current);

        // A builder that starts without the folder serves nothing and says why, the same way.
        var fresh = new SnapshotHolder(ServerSnapshot.Empty);
        var cold = new SnapshotBuilder(Zones, null, null, fresh, NullLogger.Instance);
        Assert.Equal(error, Assert.Single(cold.Reload()));
        Assert.Equal(0, fresh.Current.Zones.Count);

        Directory.Move(moved, Zones);
        Assert.Empty(builder.Reload());
        Assert.Equal(2, _snapshots.Current.Zones.Count);
    }
}
