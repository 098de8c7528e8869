using System.Buffers.Binary;
using System.Security.Cryptography;
using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>
/// One ECDSA P-256 / SHA-256 signing key (DNSSEC algorithm 13, RFC 6605) with its DNSKEY RDATA and key tag.
/// .NET's IEEE P1363 signature format is DNSSEC's r||s, so signatures go on the wire as produced.
/// </summary>
public sealed class DnssecKey : IDisposable
{
    public const byte Algorithm = 13;
    public const int SignatureLength = 64;

    /// <summary>DNSKEY flags: ZONE (bit 7).</summary>
    public const ushort ZoneKeyFlags = 256;

    /// <summary>DNSKEY flags: ZONE and SEP (bit 15), a key signing key.</summary>
    public const ushort KeySigningFlags = 257;

    private readonly ECDsa _key;

    // Signing runs on cache misses only; one at a time per key, as ECDsa instances are not documented thread-safe.
    private readonly Lock _signLock = new();

    private DnssecKey(ECDsa key, ushort flags)
    {
        _key = key;
        Flags = flags;
        var parameters = key.ExportParameters(includePrivateParameters: false);
        var rdata = new byte[4 + 64];
        BinaryPrimitives.WriteUInt16BigEndian(rdata, flags);
        rdata[2] = 3; // protocol (RFC 4034 2.1.2)
        rdata[3] = Algorithm;
        parameters.Q.X!.CopyTo(rdata, 4);
        parameters.Q.Y!.CopyTo(rdata, 36);
        DnskeyRData = rdata;
        KeyTag = ComputeKeyTag(rdata);
    }

    public ushort Flags { get; }

    public bool IsKeySigningKey => (Flags & 1) != 0;

    /// <summary>FLAGS, PROTOCOL, ALGORITHM, then the public key X||Y.</summary>
    public byte[] DnskeyRData { get; }

    public ushort KeyTag { get; }

    public static DnssecKey Generate(ushort flags) => new(ECDsa.Create(ECCurve.NamedCurves.nistP256), flags);

    /// <summary>Reads a key written by <see cref="ExportPem"/> (PKCS#8, unencrypted: the file itself is 0600).</summary>
    public static DnssecKey FromPem(string pem, ushort flags)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        if (key.KeySize != 256)
        {
            key.Dispose();
            throw new CryptographicException($"not a P-256 key ({key.KeySize} bits)");
        }

        return new DnssecKey(key, flags);
    }

    public string ExportPem() => _key.ExportPkcs8PrivateKeyPem();

    public byte[] ExportPkcs8() => _key.ExportPkcs8PrivateKey();

    public static DnssecKey FromPkcs8(ReadOnlySpan<byte> pkcs8, ushort flags)
    {
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(pkcs8, out _);
        return new DnssecKey(key, flags);
    }

    /// <summary>Signs <paramref name="data"/> into <paramref name="signature"/> (64 bytes, r||s).</summary>
    public void Sign(ReadOnlySpan<byte> data, Span<byte> signature)
    {
        lock (_signLock)
        {
            _key.SignData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
    }

    /// <summary>Verifies a signature made by this key (tests, and the self-check of a freshly read key).</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        _key.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary>DS RDATA (RFC 4034 5.1) with SHA-256 (digest type 2, RFC 4509): key tag, algorithm, digest type, SHA-256(owner | DNSKEY RDATA).</summary>
    public byte[] DsRData(DnsName owner)
    {
        var input = new byte[owner.WireLength + DnskeyRData.Length];
        owner.Wire.CopyTo(input);
        DnskeyRData.CopyTo(input, owner.WireLength);
        var rdata = new byte[4 + 32];
        BinaryPrimitives.WriteUInt16BigEndian(rdata, KeyTag);
        rdata[2] = Algorithm;
        rdata[3] = 2;
        SHA256.HashData(input, rdata.AsSpan(4));
        return rdata;
    }

    /// <summary>RFC 4034 appendix B.</summary>
    private static ushort ComputeKeyTag(ReadOnlySpan<byte> rdata)
    {
        uint ac = 0;
        for (var i = 0; i < rdata.Length; i++)
        {
            ac += (i & 1) != 0 ? rdata[i] : (uint)rdata[i] << 8;
        }

        ac += (ac >> 16) & 0xFFFF;
        return (ushort)(ac & 0xFFFF);
    }

    public void Dispose() => _key.Dispose();
}
