using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>
/// A zone's keys: a key signing key (signs the DNSKEY RRset, named by the DS at the parent and by CDS/CDNSKEY)
/// and a zone signing key (signs everything else). A KSK/ZSK split rather than one CSK, so the key that signs
/// every answer online can be replaced without touching the parent's DS.
/// </summary>
public sealed class ZoneKeys
{
    public ZoneKeys(DnsName zone, DnssecKey ksk, DnssecKey zsk)
    {
        if (!ksk.IsKeySigningKey || zsk.IsKeySigningKey)
        {
            throw new ArgumentException("expected a KSK (flags 257) and a ZSK (flags 256)");
        }

        Zone = zone;
        Ksk = ksk;
        Zsk = zsk;
    }

    public DnsName Zone { get; }

    public DnssecKey Ksk { get; }

    public DnssecKey Zsk { get; }

    /// <summary>The DS record for the registrar, in presentation format.</summary>
    public string DsText(uint ttl = 3600)
    {
        var ds = Ksk.DsRData(Zone);
        return $"{Zone} {ttl} IN DS {Ksk.KeyTag} {DnssecKey.Algorithm} 2 {Convert.ToHexString(ds.AsSpan(4))}";
    }
}

/// <summary>
/// Keys kept in files, one folder per zone under the keys folder (by default <c>STATE/dnssec</c>): <c>ksk.pem</c>
/// and <c>zsk.pem</c>, PKCS#8, created with mode 0600 in a 0700 folder on first start. A key file that exists is
/// read and never replaced, so a restart signs with the same keys and the DS at the parent stays valid.
/// </summary>
public sealed class ZoneKeyStore
{
    public ZoneKeyStore(string folder)
    {
        Folder = Path.GetFullPath(folder);
    }

    public string Folder { get; }

    public string ZoneFolder(DnsName zone) => Path.Combine(Folder, zone.IsRoot ? "root" : zone.ToString().TrimEnd('.'));

    /// <summary>The zone's keys, generated and stored first when there are none yet.</summary>
    public ZoneKeys LoadOrCreate(DnsName zone)
    {
        var folder = ZoneFolder(zone);
        if (!Directory.Exists(folder))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(folder);
            }
            else
            {
                Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        var ksk = LoadOrCreate(Path.Combine(folder, "ksk.pem"), DnssecKey.KeySigningFlags);
        var zsk = LoadOrCreate(Path.Combine(folder, "zsk.pem"), DnssecKey.ZoneKeyFlags);
        return new ZoneKeys(zone, ksk, zsk);
    }

    /// <summary>The zone's keys when they exist; null when the zone has none yet (nothing is created).</summary>
    public ZoneKeys? Load(DnsName zone)
    {
        var folder = ZoneFolder(zone);
        var ksk = Path.Combine(folder, "ksk.pem");
        var zsk = Path.Combine(folder, "zsk.pem");
        if (!File.Exists(ksk) || !File.Exists(zsk))
        {
            return null;
        }

        return new ZoneKeys(zone, Read(ksk, DnssecKey.KeySigningFlags), Read(zsk, DnssecKey.ZoneKeyFlags));
    }

    private static DnssecKey LoadOrCreate(string file, ushort flags)
    {
        if (File.Exists(file))
        {
            return Read(file, flags);
        }

        var key = DnssecKey.Generate(flags);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.WriteThrough };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(file, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(key.ExportPem());
            }

            return key;
        }
        catch (IOException) when (File.Exists(file))
        {
            // Another process of the fleet on this host created it first: use that one.
            key.Dispose();
            return Read(file, flags);
        }
    }

    private static DnssecKey Read(string file, ushort flags)
    {
        try
        {
            return DnssecKey.FromPem(File.ReadAllText(file), flags);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new InvalidDataException($"{file}: not a P-256 private key in PEM: {ex.Message}", ex);
        }
    }
}
