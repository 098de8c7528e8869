using System.Buffers.Binary;
using System.Net;
using GslbDns.Guards;

namespace GslbDns.Tests.Core.Guards;

/// <summary>SipHash-2-4 against the reference vectors, and server cookies against RFC 9018 Appendix A.</summary>
public sealed class SipHashAndCookieTests
{
    // veorq/SipHash vectors.h, vectors_sip64: key 00..0f, message 00..(n-1), output little-endian.
    [Theory]
    [InlineData(0, "310e0edd47db6f72")]
    [InlineData(1, "fd67dc93c539f874")]
    [InlineData(7, "37d1018bf50002ab")]
    [InlineData(8, "6224939a79f5f593")]
    [InlineData(9, "b0e4a90bdf82009e")]
    [InlineData(11, "a7ad6b22462fb3f4")]
    [InlineData(15, "e545be4961ca29a1")]
    public void SipHash_matches_the_reference_vectors(int length, string expected)
    {
        var key = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        var message = Enumerable.Range(0, length).Select(i => (byte)i).ToArray();
        var (k0, k1) = SipHash.Key(key);
        var output = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(output, SipHash.Hash(k0, k1, message));
        Assert.Equal(expected, Convert.ToHexStringLower(output));
    }

    private static (UInt128 Address, bool IsIPv6) Client(string text)
    {
        var bytes = IPAddress.Parse(text).GetAddressBytes();
        return bytes.Length == 4 ? (BinaryPrimitives.ReadUInt32BigEndian(bytes), false) : (BinaryPrimitives.ReadUInt128BigEndian(bytes), true);
    }

    [Theory]
    [InlineData("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", 1559731985u, "010000005cf79f111f8130c3eee29480")]
    [InlineData("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", 1559734385u, "010000005cf7a871d4a564a1442aca77")]
    [InlineData("e5e973e5a6b2a43f48e7dc849e37bfcf", "fc93fc62807ddb86", "203.0.113.203", 1559734700u, "010000005cf7a9acf73a7810aca2381e")]
    [InlineData("dd3bdf9344b678b185a6f5cb60fca715", "22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741817u, "010000005cf7c57926556bd0934c72f8")]
    public void Server_cookies_are_the_ones_RFC_9018_appendix_A_shows(string secret, string clientCookie, string address, uint now, string expected)
    {
        var cookies = new ServerCookies(new CookieSecrets(Convert.FromHexString(secret), null));
        var (value, isIPv6) = Client(address);
        var server = new byte[16];
        cookies.Write(server, Convert.FromHexString(clientCookie), value, isIPv6, now);
        Assert.Equal(expected, Convert.ToHexStringLower(server));

        // What we made verifies, from that address only.
        var option = Convert.FromHexString(clientCookie + expected);
        Assert.Equal(CookieVerdict.Valid, cookies.Check(option, value, isIPv6, now + 10, out var reuse));
        Assert.True(reuse);
        Assert.Equal(CookieVerdict.ClientOnly, cookies.Check(option, value + 1, isIPv6, now + 10, out _));
    }

    [Fact]
    public void A_cookie_with_reserved_bytes_set_by_another_server_of_the_set_verifies_over_the_bytes_received()
    {
        // RFC 9018 A.3: the query carries a cookie whose reserved bytes are 0xabcdef, stamped 1559727985 (checked a minute later;
        // the example's own reply comes 1h52m later, past the hour this server keeps a cookie).
        var cookies = new ServerCookies(new CookieSecrets(Convert.FromHexString("e5e973e5a6b2a43f48e7dc849e37bfcf"), null));
        var (value, isIPv6) = Client("203.0.113.203");
        var option = Convert.FromHexString("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
        Assert.Equal(CookieVerdict.Valid, cookies.Check(option, value, isIPv6, 1559727985 + 60, out var reuse));
        Assert.False(reuse); // not one we would make: a fresh one goes back
    }

    [Fact]
    public void Lifetime_is_an_hour_back_and_five_minutes_ahead_and_the_previous_secret_verifies_after_one_rotation()
    {
        var cookies = new ServerCookies(CookieSecrets.Generate());
        var (value, isIPv6) = Client("192.0.2.7");
        var client = Convert.FromHexString("0102030405060708");
        const uint stamped = 2_000_000_000;
        var option = new byte[24];
        client.CopyTo(option, 0);
        cookies.Write(option.AsSpan(8), client, value, isIPv6, stamped);

        Assert.Equal(CookieVerdict.Valid, cookies.Check(option, value, isIPv6, stamped + 3600, out var reuse));
        Assert.False(reuse); // older than half an hour: valid, but renewed
        Assert.Equal(CookieVerdict.ClientOnly, cookies.Check(option, value, isIPv6, stamped + 3601, out _));
        Assert.Equal(CookieVerdict.Valid, cookies.Check(option, value, isIPv6, stamped - 300, out _));
        Assert.Equal(CookieVerdict.ClientOnly, cookies.Check(option, value, isIPv6, stamped - 301, out _));

        cookies.Rotate();
        Assert.Equal(CookieVerdict.Valid, cookies.Check(option, value, isIPv6, stamped + 60, out _));
        cookies.Rotate();
        Assert.Equal(CookieVerdict.ClientOnly, cookies.Check(option, value, isIPv6, stamped + 60, out _));
    }

    [Fact]
    public void A_secret_file_holds_the_current_then_the_previous_secret_and_a_bad_line_is_reported_with_file_and_line()
    {
        using var folder = new TestSupport.TempFolder("cookie-secret");
        var path = Path.Combine(folder.Path, "secret");
        File.WriteAllText(path, "# shared by ns1 and ns2\ne5e973e5a6b2a43f48e7dc849e37bfcf\ndd3bdf9344b678b185a6f5cb60fca715\n");
        var secrets = CookieSecrets.Read(path);
        Assert.Equal("e5e973e5a6b2a43f48e7dc849e37bfcf", Convert.ToHexStringLower(secrets.Current));
        Assert.Equal("dd3bdf9344b678b185a6f5cb60fca715", Convert.ToHexStringLower(secrets.Previous!));

        File.WriteAllText(path, "e5e973e5a6b2a43f48e7dc849e37bfcf\nnot-hex\n");
        var error = Assert.Throws<FormatException>(() => CookieSecrets.Read(path));
        Assert.Contains($"{path}:2:", error.Message, StringComparison.Ordinal);
    }
}
