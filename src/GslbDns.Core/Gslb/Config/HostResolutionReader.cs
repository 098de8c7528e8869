using System.Globalization;
using System.Net;
using System.Text.Json;

namespace GslbDns.Gslb.Config;

/// <summary>Reads the top-level <c>resolvers</c> section: the upstream resolvers hostname endpoints are resolved through, and how long answers are trusted.</summary>
internal sealed class HostResolutionReader
{
    public const int MaxServers = 8;

    private static readonly string[] Known = ["servers", "timeout", "minRefresh", "maxRefresh", "keepLastGood"];

    private Defined<HostResolution>? _resolution;

    public HostResolution Resolution => _resolution?.Value ?? HostResolution.Default;

    /// <summary>True once some file set the section (a service with host endpoints then resolves through its servers).</summary>
    public bool Configured => _resolution is not null;

    public void Read(ConfigObject root)
    {
        if (!root.TryGet("resolvers", out var element))
        {
            return;
        }

        var source = root.Source;
        var path = root.PathOf("resolvers");
        if (_resolution is not null)
        {
            source.Error(path, $"resolvers is already set at {_resolution.Where}; set it in one file only");
            return;
        }

        var obj = ConfigObject.Open(source, element, path, Known);
        if (obj is null)
        {
            return;
        }

        var standard = HostResolution.Default;
        var servers = ReadServers(obj);
        var timeout = obj.Duration("timeout", TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(30)) ?? standard.Timeout;
        var minRefresh = obj.Duration("minRefresh", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1)) ?? standard.MinRefresh;
        var maxRefresh = obj.Duration("maxRefresh", TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1)) ?? standard.MaxRefresh;
        var keepLastGood = obj.Duration("keepLastGood", TimeSpan.Zero, TimeSpan.FromDays(1)) ?? standard.KeepLastGood;
        if (minRefresh > maxRefresh)
        {
            obj.Error("minRefresh", $"minRefresh {DurationText.Format(minRefresh)} is above maxRefresh {DurationText.Format(maxRefresh)}");
        }

        _resolution = new Defined<HostResolution>(new HostResolution(servers, timeout, minRefresh, maxRefresh, keepLastGood), source, path);
    }

    /// <summary><c>servers</c>: <c>ADDRESS</c>, <c>ADDRESS:PORT</c> or <c>[IPv6]:PORT</c>, port 53 by default.</summary>
    private static List<IPEndPoint> ReadServers(ConfigObject obj)
    {
        var servers = new List<IPEndPoint>();
        if (!obj.TryGet("servers", out var array))
        {
            return servers;
        }

        var path = obj.PathOf("servers");
        if (!ConfigObject.IsKind(obj.Source, array, path, JsonValueKind.Array))
        {
            return servers;
        }

        var count = array.GetArrayLength();
        if (count == 0 || count > MaxServers)
        {
            obj.Error("servers", $"servers must list 1..{MaxServers} resolvers; leave it out for the system's");
            return servers;
        }

        foreach (var (text, elementPath) in ConfigObject.StringItems(obj.Source, array, path))
        {
            if (!TryParseServer(text, out var server))
            {
                obj.Source.Error(elementPath, $"resolver '{text}' is not ADDRESS, ADDRESS:PORT or [IPv6]:PORT");
            }
            else if (servers.Contains(server))
            {
                obj.Source.Error(elementPath, $"resolver {server} is listed twice");
            }
            else
            {
                servers.Add(server);
            }
        }

        return servers;
    }

    private static bool TryParseServer(string text, out IPEndPoint server)
    {
        server = null!;
        if (IPAddress.TryParse(text, out var bare) && !text.StartsWith('['))
        {
            server = new IPEndPoint(bare, 53);
            return AddressText.TryParse(bare.ToString(), out _, out _);
        }

        if (!IPEndPoint.TryParse(text, out var parsed) || parsed.Port == 0 || !text.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        // IPEndPoint takes "1.2.3.4:53" and "[::1]:53"; a bare IPv6 address was handled above.
        server = parsed;
        return AddressText.TryParse(parsed.Address.ToString(), out _, out _) && parsed.Port.ToString(CultureInfo.InvariantCulture).Length > 0;
    }
}
