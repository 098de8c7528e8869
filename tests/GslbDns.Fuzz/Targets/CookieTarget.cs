using System.Buffers.Binary;
using GslbDns.Guards;

namespace GslbDns.Fuzz.Targets;

/// <summary>
/// DNS cookies: the input's first byte picks the client address family and a time offset, its next four the time and
/// the rest is the COOKIE option a query carries. Checking that option must not throw and never says Valid with
/// anything but 24 bytes of version 1; a server cookie made for the input's client cookie then verifies within its
/// lifetime (and is reused while it is fresh), fails a moment past it, fails from any other address and with any
/// one bit flipped or a byte cut, still verifies after one rotation of the secret and no longer after two. The
/// input as a whole is also read as a cookie secret file: secrets or an error naming the file.
/// </summary>
public sealed class CookieTarget : IFuzzTarget, IDisposable
{
    private static readonly byte[] First = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");
    private static readonly byte[] Second = Convert.FromHexString("f0e1d2c3b4a5968778695a4b3c2d1e0f");
    private static readonly byte[] Third = Convert.FromHexString("0123456789abcdeffedcba9876543210");
    private readonly string _folder = Directory.CreateTempSubdirectory("gslbdns-fuzz-cookie-").FullName;

    public void Run(ReadOnlySpan<byte> input)
    {
        Span<byte> head = stackalloc byte[5];
        input[..Math.Min(5, input.Length)].CopyTo(head);
        var option = input.Length > 5 ? input[5..] : [];
        var isIPv6 = (head[0] & 1) != 0;
        var now = BinaryPrimitives.ReadUInt32BigEndian(head[1..]);
        var address = isIPv6 ? new UInt128(0x2001_0db8_0000_0000UL | now, head[0]) : (UInt128)(now ^ head[0]);
        var cookies = new ServerCookies(new CookieSecrets(First, null));

        // Whatever a query carries.
        var verdict = cookies.Check(option, address, isIPv6, now, out var reuse);
        Check.That(verdict is CookieVerdict.ClientOnly or CookieVerdict.Valid, $"Check said {verdict} of an option");
        Check.That(verdict != CookieVerdict.Valid || (option.Length == 24 && option[8] == 1), $"a {option.Length}-byte option was Valid");
        Check.That(!reuse || verdict == CookieVerdict.Valid, "reuse of a server cookie that is not valid");

        // A cookie we made for the query's client cookie, checked at an offset from the input: -400 s to +3900 s.
        Span<byte> made = stackalloc byte[ServerCookies.ClientCookieLength + ServerCookies.ServerCookieLength];
        made.Clear();
        option[..Math.Min(ServerCookies.ClientCookieLength, option.Length)].CopyTo(made);
        cookies.Write(made[ServerCookies.ClientCookieLength..], made, address, isIPv6, now);
        var offset = ((head[0] >> 1) * 34) - 400;
        var later = (uint)(now + offset);
        var inLifetime = offset is >= -300 and <= 3600;
        Expect(cookies, made, address, isIPv6, later, inLifetime ? CookieVerdict.Valid : CookieVerdict.ClientOnly, $"made at {now}, checked {offset} s later");
        cookies.Check(made, address, isIPv6, later, out reuse);
        Check.That(reuse == offset is >= 0 and < 1800, $"reuse {reuse} of a cookie {offset} s old");
        Expect(cookies, made, address, isIPv6, now + 3601, CookieVerdict.ClientOnly, "checked 3601 s after it was made");
        Expect(cookies, made, address, isIPv6, now - 301, CookieVerdict.ClientOnly, "checked 301 s before it was made");

        Expect(cookies, made, address ^ (UInt128.One << (head[0] % (isIPv6 ? 128 : 32))), isIPv6, now, CookieVerdict.ClientOnly, "from another address");
        Expect(cookies, made, address, !isIPv6, now, CookieVerdict.ClientOnly, "from the other address family");
        Span<byte> flipped = stackalloc byte[made.Length];
        for (var bit = 0; bit < made.Length * 8; bit += 1 + (head[4] & 7))
        {
            made.CopyTo(flipped);
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Expect(cookies, flipped, address, isIPv6, now, CookieVerdict.ClientOnly, $"bit {bit} flipped");
        }

        Expect(cookies, made[..^1], address, isIPv6, now, CookieVerdict.ClientOnly, "its last byte cut");

        cookies.Use(new CookieSecrets(Second, First));
        Expect(cookies, made, address, isIPv6, now, CookieVerdict.Valid, "after one rotation");
        cookies.Use(new CookieSecrets(Third, Second));
        Expect(cookies, made, address, isIPv6, now, CookieVerdict.ClientOnly, "after two rotations");

        ReadSecretFile(input);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static void Expect(ServerCookies cookies, ReadOnlySpan<byte> option, UInt128 address, bool isIPv6, uint now, CookieVerdict expected, string what)
    {
        var verdict = cookies.Check(option, address, isIPv6, now, out _);
        Check.That(verdict == expected, $"a server cookie {what}: {verdict}, expected {expected}");
    }

    private void ReadSecretFile(ReadOnlySpan<byte> input)
    {
        var file = Path.Combine(_folder, "cookie-secret");
        File.WriteAllBytes(file, input.ToArray());
        try
        {
            var secrets = CookieSecrets.Read(file);
            Check.That(secrets.Current.Length == 16 && secrets.Previous is null or { Length: 16 }, "a secret file gave a secret that is not 16 bytes");
        }
        catch (FormatException ex)
        {
            Check.That(ex.Message.StartsWith(file, StringComparison.Ordinal), $"a secret file error that does not name the file: '{ex.Message}'");
        }
    }
}
