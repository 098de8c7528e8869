using System.Net;
using GslbDns.Dns;
using GslbDns.Zones;

namespace GslbDns.Fuzz.Targets;

/// <summary>
/// The zone file reader: the input is the file <c>fuzz.test.zone</c> in a zone folder that also holds a file it may
/// <c>$INCLUDE</c> (hosts.inc) and a GSLB config with a service in the zone. Loading must end in a served zone or in
/// errors naming file and reason, never in another exception; what loads is then asked for its first names and types,
/// every reply checked as the query target checks them.
/// </summary>
public sealed class ZoneTarget : ILoaderTarget, IDisposable
{
    private const int MaxQuestions = 8;
    private static readonly IPAddress Client = IPAddress.Parse("81.2.69.160");
    private static readonly DnsName Origin = DnsName.Parse("fuzz.test.");
    private readonly FolderWorld _world = new([], withGeoIp: false);
    private readonly string _file;

    public ZoneTarget()
    {
        _file = Path.Combine(_world.Zones, "fuzz.test.zone");
        File.WriteAllText(Path.Combine(_world.Zones, "hosts.inc"), "www IN A 192.0.2.1\n    IN AAAA 2001:db8::1\nmail IN MX 10 www\n");
        File.WriteAllText(Path.Combine(_world.Zones, "fuzz.test.gslb.json"), """
            {
              "dataCenters": {"eu": {"latitude": 50.1, "longitude": 8.7}, "us": {"latitude": 39.0, "longitude": -77.5}},
              "services": {
                "lb": {"policy": [{"type": "healthy"}, {"type": "geo-proximity"}], "endpoints": [
                  {"dataCenter": "eu", "address": "198.51.100.1"}, {"dataCenter": "us", "address": "2001:db8::3"}]}
              }
            }
            """);
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        File.WriteAllBytes(_file, input.ToArray());
        _world.Rebuild();
        ParsedZone zone;
        try
        {
            zone = ZoneFileReader.ReadFile(_file, Origin);
        }
        catch (ZoneLoadException ex)
        {
            Check.That(!string.IsNullOrWhiteSpace(ex.Reason) && ex.Location.File.Length > 0, $"a zone error without file or reason: '{ex.Message}'");
            return;
        }

        var asked = 0;
        _world.Ask(Origin, RecordType.SOA, Client, 24);
        _world.Ask(DnsName.Parse("lb.fuzz.test."), RecordType.A, Client, 24);
        foreach (var record in zone.Records.DistinctBy(r => (r.Owner, r.Type)))
        {
            if (asked++ == MaxQuestions)
            {
                break;
            }

            _world.Ask(record.Owner, record.Type, Client, 24);
        }
    }

    public int Questions => _world.Questions;

    public void Dispose() => _world.Dispose();
}
