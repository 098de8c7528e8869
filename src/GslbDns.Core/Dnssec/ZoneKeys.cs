using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>
/// A zone's keys: a key signing key (signs the DNSKEY RRset, named by the DS at the parent and by CDS/CDNSKEY)
/// and a zone signing key (signs everything else). A KSK/ZSK split rather than one CSK, so the key that signs
/// every answer online can be replaced without touching the parent's DS.
/// </summary>
public sealed class ZoneKeys
{
    /// <param name="ksk">The KSK that CDS/CDNSKEY name (the DS the parent should have) and that signs the DNSKEY RRset.</param>
    /// <param name="otherZsks">ZSKs published but not signing: a successor before it signs, a predecessor while its signatures expire from caches.</param>
    /// <param name="otherKsks">KSKs of a rollover under way: published, and signing the DNSKEY RRset too, so it validates under the old DS and the new.</param>
    public ZoneKeys(DnsName zone, DnssecKey ksk, DnssecKey zsk, IReadOnlyList<DnssecKey>? otherZsks = null, IReadOnlyList<DnssecKey>? otherKsks = null)
    {
        otherZsks ??= [];
        otherKsks ??= [];
        if (!ksk.IsKeySigningKey || zsk.IsKeySigningKey || otherZsks.Any(k => k.IsKeySigningKey) || otherKsks.Any(k => !k.IsKeySigningKey))
        {
            throw new ArgumentException("expected KSKs (flags 257) and ZSKs (flags 256)");
        }

        Zone = zone;
        Ksk = ksk;
        Zsk = zsk;
        OtherZsks = otherZsks;
        OtherKsks = otherKsks;
    }

    public DnsName Zone { get; }

    public DnssecKey Ksk { get; }

    /// <summary>KSKs in the DNSKEY RRset besides <see cref="Ksk"/>, each signing the DNSKEY, CDS and CDNSKEY RRsets too (a KSK rollover under way).</summary>
    public IReadOnlyList<DnssecKey> OtherKsks { get; }

    /// <summary>The ZSK that signs.</summary>
    public DnssecKey Zsk { get; }

    /// <summary>ZSKs in the DNSKEY RRset that do not sign (a rollover under way).</summary>
    public IReadOnlyList<DnssecKey> OtherZsks { get; }

    /// <summary>Publishes and signs the same: the same keys in the same roles (a snapshot need not be rebuilt).</summary>
    public bool SameAs(ZoneKeys other) =>
        Zone == other.Zone && Ksk.KeyTag == other.Ksk.KeyTag && Zsk.KeyTag == other.Zsk.KeyTag
        && OtherZsks.Select(k => k.KeyTag).SequenceEqual(other.OtherZsks.Select(k => k.KeyTag))
        && OtherKsks.Select(k => k.KeyTag).SequenceEqual(other.OtherKsks.Select(k => k.KeyTag))
        && Ksk.DnskeyRData.AsSpan().SequenceEqual(other.Ksk.DnskeyRData) && Zsk.DnskeyRData.AsSpan().SequenceEqual(other.Zsk.DnskeyRData);

    /// <summary>The DS record for the registrar, in presentation format.</summary>
    public string DsText(uint ttl = 3600)
    {
        var ds = Ksk.DsRData(Zone);
        return $"{Zone} {ttl} IN DS {Ksk.KeyTag} {DnssecKey.Algorithm} 2 {Convert.ToHexString(ds.AsSpan(4))}";
    }
}

/// <summary>A zone's key state as read, with the version a later write must still find (check-and-set).</summary>
public sealed record StoredKeyState(ZoneKeyState State, ulong Version);

/// <summary>Where a zone's keys and their schedule live: files on one server, or Consul KV for a fleet.</summary>
public interface IZoneKeyStateStore
{
    /// <summary>Names where the zone's keys are, for errors.</summary>
    string Where(DnsName zone);

    /// <summary>The zone's state, its keys generated and stored first when there are none yet.</summary>
    Task<StoredKeyState> LoadOrCreateStateAsync(DnsName zone, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Stores <paramref name="next"/> unless the state changed since <paramref name="read"/>; false: it did (read again).</summary>
    Task<bool> TrySaveStateAsync(StoredKeyState read, ZoneKeyState next, CancellationToken cancellationToken = default);
}

/// <summary>
/// Keys kept in files, one folder per zone under the keys folder (by default <c>STATE/dnssec</c>): <c>ksk.pem</c>,
/// then <c>ksk-TAG.pem</c> per KSK rollover, the ZSKs (<c>zsk.pem</c> first, then <c>zsk-TAG.pem</c> per rollover) in PKCS#8, each created with mode 0600 in a
/// 0700 folder, and <c>state.json</c>, the keys' schedule (<see cref="ZoneKeyStateJson"/>). A key file that exists is
/// read and never replaced, so a restart signs with the same keys and the DS at the parent stays valid.
/// </summary>
public sealed class ZoneKeyStore : IZoneKeyStateStore
{
    private const string StateFile = "state.json";

    // The file each key was read from or written to, so a saved state names the files that hold its keys.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<DnssecKey, string> _files = new();

    public ZoneKeyStore(string folder)
    {
        Folder = Path.GetFullPath(folder);
    }

    public string Folder { get; }

    public string ZoneFolder(DnsName zone) => Path.Combine(Folder, zone.IsRoot ? "root" : zone.ToString().TrimEnd('.'));

    public string Where(DnsName zone) => ZoneFolder(zone);

    /// <summary>The zone's keys in use now, generated and stored first when there are none yet.</summary>
    public ZoneKeys LoadOrCreate(DnsName zone) => LoadOrCreateState(zone, DateTimeOffset.UtcNow).State.KeysAt(DateTimeOffset.UtcNow);

    public Task<StoredKeyState> LoadOrCreateStateAsync(DnsName zone, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Task.FromResult(LoadOrCreateState(zone, now));

    public Task<bool> TrySaveStateAsync(StoredKeyState read, ZoneKeyState next, CancellationToken cancellationToken = default) =>
        Task.FromResult(TrySaveState(read, next));

    public StoredKeyState LoadOrCreateState(DnsName zone, DateTimeOffset now)
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

        var stateFile = Path.Combine(folder, StateFile);
        if (File.Exists(stateFile))
        {
            return ReadState(zone, stateFile);
        }

        // First start, or keys from before rollovers existed: the two keys in use from now, and the schedule written.
        var ksk = LoadOrCreate(Path.Combine(folder, "ksk.pem"), DnssecKey.KeySigningFlags);
        var zsk = LoadOrCreate(Path.Combine(folder, "zsk.pem"), DnssecKey.ZoneKeyFlags);
        var state = ZoneKeyState.Initial(zone, ksk, zsk, now);
        WriteState(folder, state);
        return ReadState(zone, stateFile);
    }

    /// <summary>The zone's keys in use now when they exist; null when the zone has none yet (nothing is created).</summary>
    public ZoneKeys? Load(DnsName zone)
    {
        var folder = ZoneFolder(zone);
        if (File.Exists(Path.Combine(folder, StateFile)))
        {
            return ReadState(zone, Path.Combine(folder, StateFile)).State.KeysAt(DateTimeOffset.UtcNow);
        }

        var ksk = Path.Combine(folder, "ksk.pem");
        var zsk = Path.Combine(folder, "zsk.pem");
        if (!File.Exists(ksk) || !File.Exists(zsk))
        {
            return null;
        }

        return new ZoneKeys(zone, Read(ksk, DnssecKey.KeySigningFlags), Read(zsk, DnssecKey.ZoneKeyFlags));
    }

    private StoredKeyState ReadState(DnsName zone, string stateFile)
    {
        var folder = Path.GetDirectoryName(stateFile)!;
        var bytes = File.ReadAllBytes(stateFile);
        var state = ZoneKeyStateJson.Read(zone, bytes, (name, flags) =>
        {
            if (name != Path.GetFileName(name) || !name.EndsWith(".pem", StringComparison.Ordinal))
            {
                throw new InvalidDataException($"{stateFile}: key file '{name}': expected a .pem file name in {folder}");
            }

            var key = Read(Path.Combine(folder, name), flags);
            _files.AddOrUpdate(key, name);
            return key;
        }, stateFile);
        return new StoredKeyState(state, Version(bytes));
    }

    private bool TrySaveState(StoredKeyState read, ZoneKeyState next)
    {
        var folder = ZoneFolder(next.Zone);
        var stateFile = Path.Combine(folder, StateFile);

        // One writer at a time (the server's timer and the dnssec-rollover command): the lock file is held open exclusively.
        using var held = Lock(Path.Combine(folder, "state.lock"));
        if (!File.Exists(stateFile) || Version(File.ReadAllBytes(stateFile)) != read.Version)
        {
            return false;
        }

        WriteState(folder, next);

        // The files of keys the new state no longer holds: removed from the DNSKEY RRset, never used again.
        var kept = AllKeys(next).Select(FileOf).ToHashSet(StringComparer.Ordinal);
        foreach (var old in AllKeys(read.State).Select(FileOf).Where(f => !kept.Contains(f)))
        {
            File.Delete(Path.Combine(folder, old));
        }

        return true;
    }

    private void WriteState(string folder, ZoneKeyState state)
    {
        foreach (var key in AllKeys(state))
        {
            if (!_files.TryGetValue(key, out _))
            {
                var name = $"{(key.IsKeySigningKey ? "ksk" : "zsk")}-{key.KeyTag}.pem";
                WriteKey(Path.Combine(folder, name), key);
                _files.AddOrUpdate(key, name);
            }
        }

        var json = ZoneKeyStateJson.Write(state, FileOf);
        var temporary = Path.Combine(folder, StateFile + ".new");
        File.Delete(temporary);
        WriteNew(temporary, stream => stream.Write(json));
        File.Move(temporary, Path.Combine(folder, StateFile), overwrite: true);
    }

    private static IEnumerable<DnssecKey> AllKeys(ZoneKeyState state) => state.Ksks.Select(k => k.Key).Concat(state.Zsks.Select(z => z.Key));

    private string FileOf(DnssecKey key) => _files.TryGetValue(key, out var name) ? name : throw new InvalidOperationException($"key {key.KeyTag} has no file");

    private static ulong Version(byte[] bytes) => System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(System.Security.Cryptography.SHA256.HashData(bytes));

    private static FileStream Lock(string file)
    {
        var deadline = Environment.TickCount64 + 5000;
        while (true)
        {
            try
            {
                return new FileStream(file, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (Environment.TickCount64 < deadline)
            {
                Thread.Sleep(20);
            }
        }
    }

    private DnssecKey LoadOrCreate(string file, ushort flags)
    {
        if (File.Exists(file))
        {
            var existing = Read(file, flags);
            _files.AddOrUpdate(existing, Path.GetFileName(file));
            return existing;
        }

        var key = DnssecKey.Generate(flags);
        try
        {
            WriteKey(file, key);
            _files.AddOrUpdate(key, Path.GetFileName(file));
            return key;
        }
        catch (IOException) when (File.Exists(file))
        {
            // Another process of the fleet on this host created it first: use that one.
            key.Dispose();
            var theirs = Read(file, flags);
            _files.AddOrUpdate(theirs, Path.GetFileName(file));
            return theirs;
        }
    }

    private static void WriteKey(string file, DnssecKey key) => WriteNew(file, stream =>
    {
        using var writer = new StreamWriter(stream);
        writer.Write(key.ExportPem());
    });

    /// <summary>Creates <paramref name="file"/> (never replaces one), mode 0600, written through.</summary>
    private static void WriteNew(string file, Action<FileStream> write)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.WriteThrough };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(file, options);
        write(stream);
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
