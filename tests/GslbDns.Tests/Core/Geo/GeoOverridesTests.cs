using System.Buffers.Binary;
using System.Net;
using System.Text.RegularExpressions;
using GslbDns.Geo;

namespace GslbDns.Tests.Core.Geo;

public sealed class GeoOverridesTests
{
    private const string Nested = """
        # corporate WAN and two sites inside it
        10.0.0.0/8        52.3676,4.9041   continent=EU country=NL subdivision=NH
        10.16.0.0/16      51.5072,-0.1276  continent=eu country=gb subdivision=eng   # London
        10.16.99.0/24     dc=lon1
        fd00::/8          52.3676,4.9041   continent=EU
        fd4e:1a2b:3c01::/48	40.7128,-74.0060	continent=NA	country=US	dc=nyc1
        """;

    [Fact]
    public void LongestPrefixWins_IPv4()
    {
        GeoOverrides overrides = GeoOverrides.Parse(Nested, "nested.txt");

        Assert.Equal("10.0.0.0/8", Cidr(MatchV4(overrides, "10.1.2.3", out _)));
        Assert.Equal("10.16.0.0/16", Cidr(MatchV4(overrides, "10.16.5.5", out _)));
        GeoOverrideRule? vpn = MatchV4(overrides, "10.16.99.7", out byte scope);
        Assert.Equal("10.16.99.0/24", Cidr(vpn));
        Assert.Equal(24, scope);
        Assert.Equal("lon1", vpn!.Location.DataCenter);
        Assert.False(vpn.Location.HasCoordinates);
        Assert.Null(MatchV4(overrides, "11.0.0.1", out _));
    }

    [Fact]
    public void Codes_are_upper_cased_and_source_is_kept()
    {
        GeoOverrideRule london = MatchV4(GeoOverrides.Parse(Nested, "nested.txt"), "10.16.1.1", out _)!;

        Assert.Equal(new GeoLocation(51.5072, -0.1276, "EU", "GB", "ENG"), london.Location);
        Assert.Equal(new GeoDataLine("nested.txt", 3), london.Source);
    }

    [Theory]
    // 10.1 = 00001010.00000001 shares 11 bits with 10.16.0.0/16, so 10.1/12 holds no other rule.
    [InlineData("10.1.2.3", 12)]
    // Third octets 5 = 00000101 and 99 = 01100011 share one bit: 10.16.5.5/18 excludes 10.16.99/24.
    [InlineData("10.16.5.5", 18)]
    [InlineData("10.16.99.200", 24)]
    // No rule: 11 = 00001011 shares 7 bits with 10/8, so 11/8 says "no override" for all of it.
    [InlineData("11.0.0.1", 8)]
    [InlineData("200.1.1.1", 1)]
    public void ScopeIsTheLongestOfMatchAndDivergence(string address, byte expectedScope)
    {
        _ = MatchV4(GeoOverrides.Parse(Nested, "nested.txt"), address, out byte scope);

        Assert.Equal(expectedScope, scope);
    }

    [Fact]
    public void Every_address_inside_the_scope_gets_the_same_rule()
    {
        GeoOverrides overrides = GeoOverrides.Parse(Nested, "nested.txt");
        var random = new Random(7);
        for (int i = 0; i < 2000; i++)
        {
            // Mostly inside 10/8 so that the nested rules are exercised.
            uint address = i % 4 == 0 ? (uint)random.NextInt64(0, 1L << 32) : 0x0A000000u | (uint)random.Next(0, 1 << 24);
            GeoOverrideRule? rule = overrides.MatchV4(address, out byte scope);
            uint hostMask = scope == 32 ? 0 : uint.MaxValue >> scope;
            for (int j = 0; j < 8; j++)
            {
                uint sibling = (address & ~hostMask) | ((uint)random.NextInt64(0, 1L << 32) & hostMask);
                Assert.Same(rule, overrides.MatchV4(sibling, out byte siblingScope));
                Assert.Equal(scope, siblingScope);
            }
        }
    }

    [Theory]
    [InlineData(32, 1)]
    [InlineData(32, 2)]
    [InlineData(128, 3)]
    [InlineData(128, 4)]
    public void Agrees_with_a_naive_scan_of_all_rules(int width, int seed)
    {
        // Rules cluster around a few base networks (flipped bits, random lengths) so that they nest
        // and diverge at every depth; addresses cluster the same way.
        var random = new Random(seed);
        UInt128[] bases = [.. Enumerable.Range(0, 3).Select(_ => RandomBits(random, width))];
        var lines = new List<string>();
        var seen = new HashSet<(UInt128, int)>();
        for (int i = 0; i < 60; i++)
        {
            UInt128 network = Perturb(random, bases[random.Next(bases.Length)], width, random.Next(3));
            int prefix = random.Next(width + 1);
            if (seen.Add((Mask(network, prefix, width), prefix)))
            {
                lines.Add($"{ToAddress(network, width)}/{prefix} dc=r{i}");
            }
        }

        GeoOverrides overrides = GeoOverrides.Parse(string.Join('\n', lines), "random.txt");
        for (int i = 0; i < 5000; i++)
        {
            UInt128 address = i % 5 == 0 ? RandomBits(random, width) : Perturb(random, bases[random.Next(bases.Length)], width, random.Next(4));

            GeoOverrideRule? rule = width == 32
                ? overrides.MatchV4((uint)address, out byte scope)
                : overrides.MatchV6(address, out scope);

            GeoOverrideRule? expected = null;
            int diverge = -1;
            foreach (GeoOverrideRule candidate in overrides.Rules)
            {
                UInt128 network = width == 32
                    ? BinaryPrimitives.ReadUInt32BigEndian(candidate.Network.GetAddressBytes())
                    : BinaryPrimitives.ReadUInt128BigEndian(candidate.Network.GetAddressBytes());
                int shared = CommonPrefixLength(address, network, width);
                if (shared >= candidate.PrefixLength)
                {
                    if (expected is null || candidate.PrefixLength > expected.PrefixLength)
                    {
                        expected = candidate;
                    }
                }
                else
                {
                    diverge = Math.Max(diverge, shared);
                }
            }

            Assert.Same(expected, rule);
            Assert.Equal(Math.Max(expected?.PrefixLength ?? 0, diverge + 1), scope);
        }
    }

    [Fact]
    public void Empty_overrides_match_nothing_with_scope_zero()
    {
        Assert.Null(GeoOverrides.Empty.MatchV4(0x0A000001, out byte v4Scope));
        Assert.Null(GeoOverrides.Empty.MatchV6(UInt128.One, out byte v6Scope));
        Assert.Equal(0, v4Scope);
        Assert.Equal(0, v6Scope);
    }

    [Fact]
    public void LongestPrefixWins_IPv6()
    {
        GeoOverrides overrides = GeoOverrides.Parse(Nested, "nested.txt");

        Assert.Equal("fd00::/8", Cidr(MatchV6(overrides, "fd12::1", out _)));
        GeoOverrideRule? site = MatchV6(overrides, "fd4e:1a2b:3c01:42::9", out byte scope);
        Assert.Equal("fd4e:1a2b:3c01::/48", Cidr(site));
        Assert.Equal(48, scope);
        Assert.Equal("nyc1", site!.Location.DataCenter);
        Assert.Null(MatchV6(overrides, "2001:db8::1", out _));
    }

    [Fact]
    public void IPv4_mapped_addresses_match_IPv4_rules()
    {
        GeoOverrides overrides = GeoOverrides.Parse(Nested, "nested.txt");

        GeoOverrideRule? rule = MatchV6(overrides, "::ffff:10.16.99.7", out byte scope);

        Assert.Equal("10.16.99.0/24", Cidr(rule));
        Assert.Equal(24, scope); // relative to the IPv4 address
    }

    [Fact]
    public void IPv4_mapped_rules_become_IPv4_rules()
    {
        GeoOverrides overrides = GeoOverrides.Parse("::ffff:172.16.0.0/108 50.11,8.68", "mapped.txt");

        GeoOverrideRule rule = Assert.Single(overrides.Rules);
        Assert.Equal("172.16.0.0/12", Cidr(rule));
        Assert.Same(rule, MatchV4(overrides, "172.20.1.1", out _));

        GeoDataException error = Assert.Throws<GeoDataException>(() =>
            GeoOverrides.Parse("172.16.0.0/12 dc=a\n::ffff:172.16.0.0/108 dc=b", "mapped.txt"));
        Assert.Equal(2, error.Line);
        Assert.Contains("duplicate", error.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.1.2.3/8 1,2", "10.0.0.0/8")]
    [InlineData("10.255.255.255/9 1,2", "10.128.0.0/9")]
    [InlineData("1.2.3.4/0 1,2", "0.0.0.0/0")]
    [InlineData("1.2.3.4/32 1,2", "1.2.3.4/32")]
    [InlineData("fd4e:1a2b:3c01:ffff::1/48 1,2", "fd4e:1a2b:3c01::/48")]
    [InlineData("2001:db8::1/128 1,2", "2001:db8::1/128")]
    public void Host_bits_are_cleared(string line, string expected)
    {
        Assert.Equal(expected, Cidr(Assert.Single(GeoOverrides.Parse(line, "a.txt").Rules)));
    }

    [Theory]
    [InlineData("10.0.0.0/33 1,2", "out of range")]
    [InlineData("fd00::/129 1,2", "out of range")]
    [InlineData("10.0.0.0/-1 1,2", "not a prefix length")]
    [InlineData("10.0.0.0 1,2", "not a CIDR")]
    [InlineData("10/8 1,2", "not an IPv4 address")]
    [InlineData("010.0.0.0/8 1,2", "not an IPv4 address")]
    [InlineData("10.0.0.256/8 1,2", "not an IPv4 address")]
    [InlineData("fe80::1%eth0/64 1,2", "not an IPv6 address")]
    [InlineData("10.0.0.0/8 90.5,0", "latitude 90.5 is outside")]
    [InlineData("10.0.0.0/8 0,-180.01", "longitude -180.01 is outside")]
    [InlineData("10.0.0.0/8 NaN,0", "not a latitude")]
    [InlineData("10.0.0.0/8 1e1,0", "not a latitude")]
    [InlineData("10.0.0.0/8 1,2,3", "not coordinates")]
    [InlineData("10.0.0.0/8 1, 2", "not a longitude")]
    [InlineData("10.0.0.0/8", "needs coordinates")]
    [InlineData("10.0.0.0/8 continent=EU", "needs coordinates")]
    [InlineData("10.0.0.0/8 1,2 city=Paris", "unknown key 'city'")]
    [InlineData("10.0.0.0/8 1,2 continent=XX", "continent 'XX'")]
    [InlineData("10.0.0.0/8 1,2 country=GBR", "country 'GBR'")]
    [InlineData("10.0.0.0/8 1,2 subdivision=ABCD", "subdivision 'ABCD'")]
    [InlineData("10.0.0.0/8 dc=a dc=b", "dc= given twice")]
    [InlineData("10.0.0.0/8 dc=bad/name", "data center name")]
    [InlineData("10.0.0.0/8 dc=", "data center name")]
    [InlineData("10.0.0.0/8 dc=a 1,2", "expected key=value")]
    public void Bad_rules_name_file_line_and_reason(string line, string reason)
    {
        string text = $"# comment\n\n10.9.0.0/16 1,2\n{line}\n";

        GeoDataException error = Assert.Throws<GeoDataException>(() => GeoOverrides.Parse(text, "bad.txt"));

        Assert.Equal(("bad.txt", 4), (error.File, error.Line));
        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);
        Assert.StartsWith("bad.txt:4: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_network_after_normalisation_is_an_error()
    {
        GeoDataException error = Assert.Throws<GeoDataException>(() =>
            GeoOverrides.Parse("10.0.0.0/8 1,2\n# again\n10.9.9.9/8 dc=x\n", "dup.txt"));

        Assert.Equal(3, error.Line);
        Assert.Contains("dup.txt:1", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_reads_every_txt_file_in_ordinal_order()
    {
        string folder = Directory.CreateTempSubdirectory("geo-data-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "b.txt"), "10.16.0.0/16 51.5,-0.12 # london\n");
            File.WriteAllText(Path.Combine(folder, "a.txt"), "\n# wan\n10.0.0.0/8\t52.37,4.89\n");
            File.WriteAllText(Path.Combine(folder, "notes.md"), "10.0.0.0/8 not a rule\n");
            File.WriteAllText(Path.Combine(folder, "old.txt.bak"), "garbage\n");

            GeoOverrides overrides = GeoOverrides.Load(folder);

            Assert.Equal(["10.0.0.0/8", "10.16.0.0/16"], overrides.Rules.Select(Cidr));
            Assert.Equal(new GeoDataLine(Path.Combine(folder, "a.txt"), 3), overrides.Rules[0].Source);
            Assert.Equal("10.16.0.0/16", Cidr(MatchV4(overrides, "10.16.1.1", out _)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Duplicates_across_files_name_both_places()
    {
        string folder = Directory.CreateTempSubdirectory("geo-data-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "a.txt"), "fd00::/8 1,2\n");
            File.WriteAllText(Path.Combine(folder, "b.txt"), "# x\nfd00:0::/8 dc=ams1\n");

            GeoDataException error = Assert.Throws<GeoDataException>(() => GeoOverrides.Load(folder));

            Assert.Equal((Path.Combine(folder, "b.txt"), 2), (error.File, error.Line));
            Assert.Contains($"{Path.Combine(folder, "a.txt")}:1", error.Reason, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Missing_folder_is_an_error()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"no-such-geo-data-{Guid.NewGuid():N}");

        GeoDataException error = Assert.Throws<GeoDataException>(() => GeoOverrides.Load(folder));

        Assert.Equal(folder, error.File);
    }

    [Fact]
    public void Shipped_geo_data_overrides_nothing_and_its_commented_examples_are_valid_rules()
    {
        // Out of the box no range is overridden: private clients get the default location, not an example office.
        GeoOverrides shipped = GeoOverrides.Load(GeoTestEnvironment.GeoDataFolder);
        Assert.Empty(shipped.Rules);

        // Uncommenting the examples gives rules that load and cover RFC 1918, RFC 6598 and ULA space.
        string text = File.ReadAllText(Path.Combine(GeoTestEnvironment.GeoDataFolder, "overrides.txt"));
        string uncommented = Regex.Replace(text, @"^# (?=[0-9a-f]+[.:][0-9a-f.:]*/\d+\s)", "", RegexOptions.Multiline);
        GeoOverrides examples = GeoOverrides.Parse(uncommented, "overrides.txt");
        Assert.True(examples.Rules.Count >= 10, $"{examples.Rules.Count} example rules");
        Assert.All(examples.Rules, r => Assert.True(r.Location.HasCoordinates || r.Location.DataCenter is not null));
        Assert.NotNull(MatchV4(examples, "10.200.1.1", out _));
        Assert.NotNull(MatchV4(examples, "172.31.255.1", out _));
        Assert.NotNull(MatchV4(examples, "192.168.1.1", out _));
        Assert.NotNull(MatchV4(examples, "100.64.0.1", out _));
        Assert.NotNull(MatchV6(examples, "fd99::1", out _));
    }

    [Fact]
    public void Readme_example_loads()
    {
        string readme = File.ReadAllText(Path.Combine(GeoTestEnvironment.GeoDataFolder, "README.md"));
        Match example = Regex.Match(readme, @"## Example\s+```text\n(?<body>.*?)```", RegexOptions.Singleline);
        Assert.True(example.Success, "README.md has no ```text block under ## Example");

        GeoOverrides overrides = GeoOverrides.Parse(example.Groups["body"].Value, "README.md");

        Assert.Equal(5, overrides.Rules.Count);
        Assert.Equal("lon1", MatchV4(overrides, "10.16.99.1", out _)!.Location.DataCenter);
        Assert.Equal("GB", MatchV4(overrides, "10.16.1.1", out _)!.Location.CountryCode);
        Assert.Equal("NL", MatchV4(overrides, "10.1.1.1", out _)!.Location.CountryCode);
        Assert.Equal("ams1", MatchV4(overrides, "192.168.7.7", out _)!.Location.DataCenter);
        Assert.Equal("ENG", MatchV6(overrides, "fd4e:1a2b:3c01::5", out _)!.Location.SubdivisionCode);
    }

    internal static GeoOverrideRule? MatchV4(GeoOverrides overrides, string address, out byte scope) =>
        overrides.MatchV4(BinaryPrimitives.ReadUInt32BigEndian(IPAddress.Parse(address).GetAddressBytes()), out scope);

    internal static GeoOverrideRule? MatchV6(GeoOverrides overrides, string address, out byte scope) =>
        overrides.MatchV6(BinaryPrimitives.ReadUInt128BigEndian(IPAddress.Parse(address).GetAddressBytes()), out scope);

    private static UInt128 RandomBits(Random random, int width)
    {
        var value = new UInt128((ulong)random.NextInt64(), (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63));
        return width == 128 ? value : value & uint.MaxValue;
    }

    private static UInt128 Perturb(Random random, UInt128 value, int width, int flips)
    {
        for (int i = 0; i < flips; i++)
        {
            value ^= UInt128.One << random.Next(width);
        }

        return value;
    }

    private static UInt128 Mask(UInt128 value, int prefix, int width) =>
        prefix == 0 ? UInt128.Zero : value & ((UInt128.MaxValue << (width - prefix)) & (width == 128 ? UInt128.MaxValue : uint.MaxValue));

    private static int CommonPrefixLength(UInt128 a, UInt128 b, int width)
    {
        UInt128 difference = (a ^ b) << (128 - width);
        return difference == UInt128.Zero ? width : (int)UInt128.LeadingZeroCount(difference);
    }

    private static string ToAddress(UInt128 value, int width)
    {
        byte[] bytes = new byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, value);
        return new IPAddress(width == 32 ? bytes[12..] : bytes).ToString();
    }

    private static string? Cidr(GeoOverrideRule? rule) => rule is null ? null : $"{rule.Network}/{rule.PrefixLength}";
}
