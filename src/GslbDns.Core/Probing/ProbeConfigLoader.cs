using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Gslb.Config;
using GslbDns.Zones;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Probing;

/// <summary>Loads what a prober needs from the zone folder: the GSLB config, validated against the served zones.</summary>
public static class ProbeConfigLoader
{
    /// <exception cref="GslbConfigException">The GSLB config is invalid.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static GslbConfig Load(string zonesFolder, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(zonesFolder);
        if (!Directory.Exists(zonesFolder))
        {
            throw new DirectoryNotFoundException($"zone folder '{zonesFolder}' does not exist");
        }

        return GslbConfigLoader.Load(zonesFolder, ServedZones(zonesFolder, logger));
    }

    /// <summary>
    /// The origins of the <c>*.zone</c> files. A zone file with an error still names its zone (from the file
    /// name): the prober must not stop probing a zone's services because the DNS server rejects a record in it.
    /// </summary>
    public static IReadOnlyList<DnsName> ServedZones(string zonesFolder, ILogger? logger = null)
    {
        logger ??= NullLogger.Instance;
        var origins = new List<DnsName>();
        foreach (var file in Directory.GetFiles(zonesFolder, "*.zone").Order(StringComparer.Ordinal))
        {
            DnsName origin;
            try
            {
                origin = ZoneFileReader.ReadFile(file).Origin;
            }
            catch (ZoneLoadException ex)
            {
                ProbingLog.ZoneOriginFromFileName(logger, file, ex.Message);
                try
                {
                    origin = ZoneFileReader.OriginFromFileName(file);
                }
                catch (ZoneLoadException)
                {
                    continue;
                }
            }

            if (!origins.Contains(origin))
            {
                origins.Add(origin);
            }
        }

        return origins;
    }
}
