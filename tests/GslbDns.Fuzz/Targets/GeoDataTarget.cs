using System.Net;
using System.Net.Sockets;
using GslbDns.Dns;
using GslbDns.Geo;

namespace GslbDns.Fuzz.Targets;

/// <summary>
/// The geo-data overrides reader: the input is <c>overrides.txt</c> in the geo-data folder of the example zones.
/// Loading must end in rules or in an error naming file and reason; for rules that load, the longest-prefix match of
/// each rule's own network must find that rule or a more specific one containing it, with a scope at least as long,
/// and the example's geo services are asked from inside the first rules, every reply checked as the query target does.
/// </summary>
public sealed class GeoDataTarget : ILoaderTarget, IDisposable
{
    private const int MaxRules = 64;
    private const int MaxQuestions = 4;
    private static readonly DnsName[] Services = [DnsName.Parse("geo.example.com."), DnsName.Parse("geoloc.example.com.")];
    private readonly FolderWorld _world = new(["example.com.zone", "example.com.gslb.json"], withGeoIp: false);
    private readonly string _file;

    public GeoDataTarget()
    {
        _file = Path.Combine(_world.GeoData, "overrides.txt");
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        File.WriteAllBytes(_file, input.ToArray());
        _world.Rebuild();
        GeoOverrides overrides;
        try
        {
            overrides = GeoOverrides.Load(_world.GeoData);
        }
        catch (GeoDataException ex)
        {
            Check.That(!string.IsNullOrWhiteSpace(ex.Reason) && ex.File.Length > 0, $"a geo-data error without file or reason: '{ex.Message}'");
            return;
        }

        var rules = overrides.Rules;
        for (var i = 0; i < Math.Min(rules.Count, MaxRules); i++)
        {
            CheckMatch(overrides, rules[i]);
        }

        for (var i = 0; i < Math.Min(rules.Count, MaxQuestions); i++)
        {
            _world.Ask(Services[i % Services.Length], RecordType.A, rules[i].Network, rules[i].PrefixLength);
        }
    }

    private static void CheckMatch(GeoOverrides overrides, GeoOverrideRule rule)
    {
        var bytes = rule.Network.GetAddressBytes();
        var isV6 = rule.Network.AddressFamily == AddressFamily.InterNetworkV6;
        GeoOverrideRule? match;
        byte scope;
        if (isV6)
        {
            match = overrides.MatchV6(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes), out scope);
        }
        else
        {
            match = overrides.MatchV4(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes), out scope);
        }

        Check.That(match is not null, $"rule {rule} does not match its own network");
        Check.That(match!.PrefixLength >= rule.PrefixLength, $"rule {rule}: its network matched the less specific {match}");
        Check.That(Contains(match, bytes), $"rule {rule}: matched {match}, which does not contain {rule.Network}");
        Check.That(scope >= match.PrefixLength, $"rule {rule}: scope /{scope} shorter than the matched /{match.PrefixLength}");
    }

    private static bool Contains(GeoOverrideRule rule, byte[] address)
    {
        var network = rule.Network.GetAddressBytes();
        if (network.Length != address.Length && !(network.Length == 4 && address.Length == 16))
        {
            return false;
        }

        var offset = address.Length - network.Length;
        for (var bit = 0; bit < rule.PrefixLength; bit++)
        {
            var mask = 0x80 >> (bit % 8);
            if ((network[bit / 8] & mask) != (address[offset + (bit / 8)] & mask))
            {
                return false;
            }
        }

        return true;
    }

    public int Questions => _world.Questions;

    public void Dispose() => _world.Dispose();
}
