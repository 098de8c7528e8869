using System.Buffers.Binary;
using System.Globalization;

namespace GslbDns.Guards;

/// <summary>What a query's COOKIE option proved (RFC 7873 5.2).</summary>
public enum CookieVerdict
{
    /// <summary>No COOKIE option (or cookies are off).</summary>
    None,

    /// <summary>A client cookie alone, or with a server cookie that is not ours, is stale or came from another address: answer with a fresh one.</summary>
    ClientOnly,

    /// <summary>A server cookie we made for this client and address, within its lifetime: the source address is not spoofed.</summary>
    Valid,
}

/// <summary>The secrets server cookies are made with: the current one signs, the previous one still verifies after a rotation.</summary>
public sealed record CookieSecrets(byte[] Current, byte[]? Previous)
{
    public static CookieSecrets Generate(CookieSecrets? rotatedFrom = null)
    {
        var secret = new byte[16];
        KernelRandom.Fill(secret);
        return new CookieSecrets(secret, rotatedFrom?.Current);
    }

    /// <summary>
    /// Reads a secret file: the current secret on the first non-comment line, optionally the previous one on the next, each
    /// 32 hex digits (16 bytes), as servers of one anycast set share them (RFC 9018 3). Errors name the file and line.
    /// </summary>
    public static CookieSecrets Read(string path)
    {
        var secrets = new List<byte[]>();
        var lineNumber = 0;
        foreach (var raw in File.ReadAllLines(path))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.Length != 32 || !line.All(Uri.IsHexDigit))
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{path}:{lineNumber}: a cookie secret is 32 hex digits (16 bytes)"));
            }

            if (secrets.Count == 2)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{path}:{lineNumber}: at most two secrets, the current one then the previous one"));
            }

            secrets.Add(Convert.FromHexString(line));
        }

        if (secrets.Count == 0)
        {
            throw new FormatException($"{path}: no cookie secret in the file");
        }

        return new CookieSecrets(secrets[0], secrets.Count > 1 ? secrets[1] : null);
    }
}

/// <summary>
/// DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018): version 1, three reserved bytes, a 32-bit
/// timestamp and SipHash-2-4 over client cookie | version | reserved | timestamp | client address, keyed by a secret.
/// A server cookie is valid for an hour and may be stamped up to five minutes ahead (clock skew between servers of a
/// set); one under half an hour old is handed back unchanged. Secrets are swapped as one immutable pair, so the query
/// path reads them without locks; nothing here allocates per query.
/// </summary>
public sealed class ServerCookies
{
    public const int ClientCookieLength = 8;
    public const int ServerCookieLength = 16;

    /// <summary>COOKIE option in a reply: code, length, client cookie, server cookie.</summary>
    public const int OptionSize = 4 + ClientCookieLength + ServerCookieLength;

    private const int MaxAge = 3600;
    private const int MaxAhead = 300;
    private const int RenewAge = 1800;

    private volatile Keys _keys;

    public ServerCookies(CookieSecrets secrets)
    {
        _keys = new Keys(secrets);
    }

    public CookieSecrets Secrets => _keys.Secrets;

    /// <summary>Makes <paramref name="secrets"/> current (a rotation or a re-read file); queries in flight finish with the old pair.</summary>
    public void Use(CookieSecrets secrets) => _keys = new Keys(secrets);

    /// <summary>A new random secret; the current one becomes the previous and keeps verifying the cookies it made.</summary>
    public void Rotate() => Use(CookieSecrets.Generate(_keys.Secrets));

    /// <summary>
    /// Checks the COOKIE option data of a query from <paramref name="address"/> at <paramref name="now"/> (Unix seconds);
    /// <paramref name="reuse"/> says the server cookie may be echoed as it is.
    /// </summary>
    public CookieVerdict Check(ReadOnlySpan<byte> option, UInt128 address, bool isIPv6, uint now, out bool reuse)
    {
        reuse = false;
        if (option.Length != ClientCookieLength + ServerCookieLength || option[ClientCookieLength] != 1)
        {
            // Only a client cookie, or a server cookie of a kind we never make.
            return CookieVerdict.ClientOnly;
        }

        var timestamp = BinaryPrimitives.ReadUInt32BigEndian(option[12..]);
        var age = (int)(now - timestamp); // serial arithmetic: the timestamp wraps in 2106
        if (age > MaxAge || age < -MaxAhead)
        {
            return CookieVerdict.ClientOnly;
        }

        var keys = _keys;
        var hash = BinaryPrimitives.ReadUInt64LittleEndian(option[16..]);
        if (hash != Hash(keys.K0, keys.K1, option[..16], address, isIPv6)
            && !(keys.HasPrevious && hash == Hash(keys.P0, keys.P1, option[..16], address, isIPv6)))
        {
            return CookieVerdict.ClientOnly;
        }

        reuse = age is >= 0 and < RenewAge && option[9] == 0 && option[10] == 0 && option[11] == 0;
        return CookieVerdict.Valid;
    }

    /// <summary>Writes a fresh 16-byte server cookie for the client cookie in <paramref name="clientCookie"/>.</summary>
    public void Write(Span<byte> serverCookie, ReadOnlySpan<byte> clientCookie, UInt128 address, bool isIPv6, uint now)
    {
        var keys = _keys;
        Span<byte> input = stackalloc byte[16];
        clientCookie[..ClientCookieLength].CopyTo(input);
        input[8] = 1;
        input[9] = input[10] = input[11] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(input[12..], now);
        input[8..16].CopyTo(serverCookie);
        BinaryPrimitives.WriteUInt64LittleEndian(serverCookie[8..], Hash(keys.K0, keys.K1, input, address, isIPv6));
    }

    /// <summary>SipHash-2-4 over client cookie | version | reserved | timestamp (the first 16 bytes) | client address.</summary>
    private static ulong Hash(ulong k0, ulong k1, ReadOnlySpan<byte> cookieAndHeader, UInt128 address, bool isIPv6)
    {
        Span<byte> input = stackalloc byte[32];
        cookieAndHeader.CopyTo(input);
        if (isIPv6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(input[16..], address);
            return SipHash.Hash(k0, k1, input);
        }

        BinaryPrimitives.WriteUInt32BigEndian(input[16..], (uint)address);
        return SipHash.Hash(k0, k1, input[..20]);
    }

    private sealed class Keys
    {
        public Keys(CookieSecrets secrets)
        {
            Secrets = secrets;
            (K0, K1) = SipHash.Key(secrets.Current);
            if (secrets.Previous is { } previous)
            {
                (P0, P1) = SipHash.Key(previous);
                HasPrevious = true;
            }
        }

        public CookieSecrets Secrets { get; }

        public ulong K0 { get; }

        public ulong K1 { get; }

        public ulong P0 { get; }

        public ulong P1 { get; }

        public bool HasPrevious { get; }
    }
}
