using System.Security.Cryptography;
using System.Text;
using GslbDns.Consul;
using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>
/// The fleet's keys in Consul KV, so every DNS server signs with the same KSK and ZSK (one DS at the parent, one
/// DNSKEY RRset whichever server a resolver asks). One key per zone, <c>PREFIX/dnssec/ZONE</c>, holding both private
/// keys encrypted with AES-256-GCM under a key the operator supplies in a file (never on the command line, never in
/// Consul): Consul's snapshots and ACL-readable KV never hold a usable key. The Consul key name is the associated
/// data, so a value copied to another zone's key does not decrypt. The first server to start creates the keys with
/// check-and-set index 0 (create only); the others, and every later start, read them.
/// </summary>
/// <remarks>
/// Version 2 values hold the keys with their schedule (<see cref="ZoneKeyStateJson"/>, the keys inline in base64) so
/// a rollover is one check-and-set write at the value's modify index: every server reads the same times and derives
/// what to publish and sign with from its clock. Version 1 values (a KSK and a ZSK) are read as keys in use since now.
/// </remarks>
public sealed class SharedZoneKeyStore : IZoneKeyStateStore
{
    private const byte Version1 = 1;
    private const byte Version = 2;
    private const int NonceLength = 12;
    private const int TagLength = 16;

    private readonly ConsulClient _consul;
    private readonly string _prefix;
    private readonly byte[] _encryptionKey;

    public SharedZoneKeyStore(ConsulClient consul, string prefix, byte[] encryptionKey)
    {
        if (encryptionKey.Length != 32)
        {
            throw new ArgumentException("the key encryption key is 32 bytes (AES-256)", nameof(encryptionKey));
        }

        _consul = consul;
        _prefix = prefix;
        _encryptionKey = encryptionKey;
    }

    public string KeyOf(DnsName zone) => $"{_prefix}dnssec/{(zone.IsRoot ? "root" : zone.ToString().TrimEnd('.'))}";

    /// <summary>Reads the key encryption key: 64 hex digits (32 bytes) on the file's first line, e.g. from <c>openssl rand -hex 32</c>.</summary>
    public static byte[] ReadEncryptionKey(string file)
    {
        var text = File.ReadAllText(file).Trim();
        try
        {
            var key = Convert.FromHexString(text);
            if (key.Length == 32)
            {
                return key;
            }
        }
        catch (FormatException)
        {
        }

        throw new InvalidDataException($"{file}: expected 64 hex digits (32 bytes, e.g. openssl rand -hex 32)");
    }

    public string Where(DnsName zone) => $"Consul key {KeyOf(zone)}";

    /// <summary>The zone's keys in use now, created first when there are none.</summary>
    public async Task<ZoneKeys> LoadOrCreateAsync(DnsName zone, CancellationToken cancellationToken = default) =>
        (await LoadOrCreateStateAsync(zone, DateTimeOffset.UtcNow, cancellationToken)).State.KeysAt(DateTimeOffset.UtcNow);

    public async Task<StoredKeyState> LoadOrCreateStateAsync(DnsName zone, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var name = KeyOf(zone);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (await _consul.KvGetAsync(name, cancellationToken) is { } stored)
            {
                return new StoredKeyState(Decrypt(zone, name, stored.Value, now), stored.ModifyIndex);
            }

            using var ksk = DnssecKey.Generate(DnssecKey.KeySigningFlags);
            using var zsk = DnssecKey.Generate(DnssecKey.ZoneKeyFlags);
            var value = Encrypt(name, ZoneKeyState.Initial(zone, ksk, zsk, now));
            if (await _consul.KvCasAsync(name, value, modifyIndex: 0, cancellationToken: cancellationToken))
            {
                // Read back what was stored, so this server signs with exactly what the others will read.
                continue;
            }
        }

        throw new InvalidOperationException($"Consul key {name}: could not create or read the zone's keys");
    }

    public Task<bool> TrySaveStateAsync(StoredKeyState read, ZoneKeyState next, CancellationToken cancellationToken = default) =>
        _consul.KvCasAsync(KeyOf(next.Zone), Encrypt(KeyOf(next.Zone), next), read.Version, cancellationToken: cancellationToken);

    private byte[] Encrypt(string name, ZoneKeyState state) =>
        Encrypt(name, ZoneKeyStateJson.Write(state, k => Convert.ToBase64String(k.ExportPkcs8())));

    private byte[] Encrypt(string name, byte[] plain)
    {
        var blob = new byte[1 + NonceLength + TagLength + plain.Length];
        blob[0] = Version;
        var nonce = blob.AsSpan(1, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_encryptionKey, TagLength);
        aes.Encrypt(nonce, plain, blob.AsSpan(1 + NonceLength + TagLength), blob.AsSpan(1 + NonceLength, TagLength), Encoding.UTF8.GetBytes(name));
        CryptographicOperations.ZeroMemory(plain);
        return blob;
    }

    private ZoneKeyState Decrypt(DnsName zone, string name, byte[] blob, DateTimeOffset now)
    {
        if (blob.Length < 1 + NonceLength + TagLength || blob[0] is not (Version or Version1))
        {
            throw new InvalidDataException($"Consul key {name}: not GslbDns DNSSEC keys (version {(blob.Length > 0 ? blob[0] : 0)})");
        }

        var plain = new byte[blob.Length - 1 - NonceLength - TagLength];
        try
        {
            using var aes = new AesGcm(_encryptionKey, TagLength);
            aes.Decrypt(blob.AsSpan(1, NonceLength), blob.AsSpan(1 + NonceLength + TagLength), blob.AsSpan(1 + NonceLength, TagLength), plain, Encoding.UTF8.GetBytes(name));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new InvalidDataException($"Consul key {name}: cannot decrypt the zone's keys: another key encryption key was used, or the value was altered");
        }

        if (blob[0] == Version)
        {
            try
            {
                return ZoneKeyStateJson.Read(zone, plain, (text, flags) => DnssecKey.FromPkcs8(Convert.FromBase64String(text), flags), $"Consul key {name}");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plain);
            }
        }

        var lines = Encoding.UTF8.GetString(plain).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        CryptographicOperations.ZeroMemory(plain);
        if (lines.Length != 2)
        {
            throw new InvalidDataException($"Consul key {name}: expected a KSK and a ZSK");
        }

        return ZoneKeyState.Initial(zone, DnssecKey.FromPkcs8(Convert.FromBase64String(lines[0]), DnssecKey.KeySigningFlags), DnssecKey.FromPkcs8(Convert.FromBase64String(lines[1]), DnssecKey.ZoneKeyFlags), now);
    }
}
