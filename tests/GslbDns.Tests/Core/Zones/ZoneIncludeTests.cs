using GslbDns.Dns;
using GslbDns.Zones;
using static GslbDns.Tests.Core.Zones.ZoneTestSupport;

namespace GslbDns.Tests.Core.Zones;

/// <summary>$INCLUDE: relative paths, origins, restored state, errors located in the included file, loops and depth.</summary>
public sealed class ZoneIncludeTests
{
    [Fact]
    public void Include_fixture_reads_relative_paths_and_restores_origin_and_owner()
    {
        var path = Fixture("include", "inc.example.zone");
        var zone = ZoneFileReader.ReadFile(path);
        Assert.Equal(DnsName.Parse("inc.example."), zone.Origin);
        Assert.Equal(Fixture("include", "hosts.inc"), zone.Single("www", RecordType.A).Source.File);
        Assert.Equal(2, zone.Single("www", RecordType.A).Source.Line);
        Assert.Single(zone.At("sub", RecordType.A));
        var deep = zone.Single("deep.sub", RecordType.A);
        Assert.Equal(Fixture("include", "sub", "deeper.inc"), deep.Source.File);
        Assert.Single(zone.At("back", RecordType.A));
        Assert.Equal(8, zone.Single("@", RecordType.TXT).Source.Line);
        Assert.Equal(
            [Fixture("include", "hosts.inc"), Fixture("include", "sub", "delegated.inc"), Fixture("include", "sub", "deeper.inc")],
            zone.Includes.Select(i => i.Path));
        Assert.All(zone.Includes, i => Assert.Equal(System.IO.Hashing.XxHash128.Hash(File.ReadAllBytes(i.Path)), i.ContentHash));

        var (exit, output) = KzoneCheck(path, zone.Origin);
        Assert.True(exit == 0, output);
    }

    [Fact]
    public void Error_in_an_included_file_names_that_file_and_its_line()
    {
        var ex = Assert.Throws<ZoneLoadException>(() => ZoneFileReader.ReadFile(Fixture("include", "badinner.example.zone")));
        Assert.Equal(Fixture("include", "badinner.inc"), ex.Location.File);
        Assert.Equal(3, ex.Location.Line);
        Assert.Contains("'192.0.2' is not an IPv4 address", ex.Reason, StringComparison.Ordinal);
        Assert.NotEqual(0, KzoneCheck(Fixture("include", "badinner.example.zone"), DnsName.Parse("badinner.example.")).ExitCode);
    }

    [Fact]
    public void Include_loop_is_an_error_at_the_include_line()
    {
        var path = Fixture("include", "loop.example.zone");
        var ex = Assert.Throws<ZoneLoadException>(() => ZoneFileReader.ReadFile(path));
        Assert.Equal(Fixture("include", "loop-b.inc"), ex.Location.File);
        Assert.Equal(2, ex.Location.Line);
        Assert.Contains("$INCLUDE loop:", ex.Reason, StringComparison.Ordinal);
        Assert.EndsWith("loop-a.inc -> " + Fixture("include", "loop-b.inc") + " -> " + Fixture("include", "loop-a.inc"), ex.Reason, StringComparison.Ordinal);

        // Not cross-checked with kzonecheck: Knot 3.2 has no loop check and takes ~20 s to fail on a resource limit.
    }

    [Fact]
    public void Missing_include_is_an_error_at_the_include_line()
    {
        var path = Fixture("include", "missing.example.zone");
        var ex = Assert.Throws<ZoneLoadException>(() => ZoneFileReader.ReadFile(path));
        Assert.Equal(path, ex.Location.File);
        Assert.Equal(5, ex.Location.Line);
        Assert.Contains("cannot read '" + Fixture("include", "no-such-file.inc") + "'", ex.Reason, StringComparison.Ordinal);
        Assert.NotEqual(0, KzoneCheck(path, DnsName.Parse("missing.example.")).ExitCode);
    }

    [Fact]
    public void Including_itself_is_a_loop()
    {
        var dir = TempDirectory();
        try
        {
            var path = Path.Combine(dir, "example.com.zone");
            File.WriteAllText(path, Head + "$INCLUDE example.com.zone\n");
            var ex = Assert.Throws<ZoneLoadException>(() => ZoneFileReader.ReadFile(path));
            Assert.Equal(5, ex.Location.Line);
            Assert.Contains("$INCLUDE loop", ex.Reason, StringComparison.Ordinal);

            // ReadText resolves includes against the directory of the file name it is given.
            File.WriteAllText(Path.Combine(dir, "hosts.inc"), "www A 192.0.2.80\n");
            var zone = ZoneFileReader.ReadText(Head + "$INCLUDE hosts.inc\n", path, Example);
            Assert.Single(zone.At("www", RecordType.A));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(8, true)]
    [InlineData(9, false)]
    public void Includes_nest_at_most_eight_deep(int depth, bool ok)
    {
        var dir = TempDirectory();
        try
        {
            // The zone includes level1.inc, which includes level2.inc, ... down to level{depth}.inc.
            for (var level = 1; level <= depth; level++)
            {
                var next = level < depth ? $"$INCLUDE level{level + 1}.inc\n" : string.Empty;
                File.WriteAllText(Path.Combine(dir, $"level{level}.inc"), $"h{level} A 192.0.2.{level}\n{next}");
            }

            var path = Path.Combine(dir, "example.com.zone");
            File.WriteAllText(path, Head + "$INCLUDE level1.inc\n");
            if (ok)
            {
                Assert.Single(ZoneFileReader.ReadFile(path).At("h8", RecordType.A));
            }
            else
            {
                var ex = Assert.Throws<ZoneLoadException>(() => ZoneFileReader.ReadFile(path));
                Assert.Equal(Path.Combine(dir, "level8.inc"), ex.Location.File);
                Assert.Equal(2, ex.Location.Line);
                Assert.Contains("$INCLUDE nested deeper than 8 files", ex.Reason, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Include_with_origin_and_ttl_defaults_that_stay_in_the_included_file()
    {
        var dir = TempDirectory();
        try
        {
            File.WriteAllText(Path.Combine(dir, "part.inc"), "$TTL 60\n@ A 192.0.2.1\n$ORIGIN deeper\n@ A 192.0.2.2\n");
            var path = Path.Combine(dir, "example.com.zone");
            File.WriteAllText(path, Head + "owner TXT a\n$INCLUDE part.inc part\n  TXT b\nafter A 192.0.2.3\n");
            var zone = ZoneFileReader.ReadFile(path);
            Assert.Equal(60u, zone.Single("part", RecordType.A).Ttl);
            Assert.Equal(60u, zone.Single("deeper.part", RecordType.A).Ttl);

            // Back in the including file: its origin, owner and $TTL as before the include.
            Assert.Equal(2, zone.At("owner", RecordType.TXT).Count());
            Assert.Equal(3600u, zone.Single("after", RecordType.A).Ttl);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Included_file_starting_with_a_blank_has_no_owner_to_reuse()
    {
        var dir = TempDirectory();
        try
        {
            File.WriteAllText(Path.Combine(dir, "part.inc"), "\n  A 192.0.2.1\n");
            var path = Path.Combine(dir, "example.com.zone");
            File.WriteAllText(path, Head + "$INCLUDE part.inc\n");
            var ex = Assert.Throws<ZoneLoadException>(() => ZoneFileReader.ReadFile(path));
            Assert.Equal(Path.Combine(dir, "part.inc") + ":2: line starts with a blank, so it reuses the previous owner, but there is none", ex.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
