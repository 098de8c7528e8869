using System.Net;
using GslbDns.Dns;

namespace GslbDns.Fuzz.Targets;

/// <summary>
/// The GSLB config loader: the input is <c>example.com.gslb.json</c> beside the example zone and the zone of protocol
/// corners. Loading must end in a config or in errors naming file and reason; each service of a config that loads is
/// then asked for A, AAAA and ANY from clients in three places, every reply checked as the query target checks them.
/// </summary>
public sealed class GslbConfigTarget : ILoaderTarget, IDisposable
{
    private const int MaxServices = 6;
    private static readonly (IPAddress Client, int Prefix)[] Clients =
    [
        (IPAddress.Parse("81.2.69.160"), 24),
        (IPAddress.Parse("2001:db8::1"), 56),
        (IPAddress.Parse("10.1.2.3"), 0),
    ];

    private readonly FolderWorld _world = new(["example.com.zone", "fuzz.test.zone"], withGeoIp: true);
    private readonly string _file;

    public GslbConfigTarget()
    {
        _file = Path.Combine(_world.Zones, "example.com.gslb.json");
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        File.WriteAllBytes(_file, input.ToArray());
        _world.Rebuild();
        var services = _world.Snapshots.Current.Gslb.Services.Keys.Take(MaxServices).ToList();
        for (var i = 0; i < services.Count; i++)
        {
            var (client, prefix) = Clients[i % Clients.Length];
            foreach (var type in new[] { RecordType.A, RecordType.AAAA, RecordType.ANY })
            {
                _world.Ask(services[i], type, client, prefix);
            }
        }
    }

    public int Questions => _world.Questions;

    public void Dispose() => _world.Dispose();
}
