using System.Net;
using System.Net.Sockets;
using GslbDns.Guards;
using GslbDns.Server.Hosting;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>DNS cookies (RFC 7873, RFC 9018) over real sockets, checked with dig and kdig and byte by byte.</summary>
public sealed class CookieTests
{
    private const ushort OptionCookie = 10;
    private static readonly byte[] ClientCookie = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57];

    private static async Task<(DnsServer Server, TempFolder Zones)> StartAsync(RateLimitOptions? rrl = null)
    {
        var zones = new TempFolder("cookies");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        var server = await InProcessServer.StartAsync(InProcessServer.Options(zones.Path) with { RateLimit = rrl ?? new RateLimitOptions() });
        return (server, zones);
    }

    private static byte[] Query(ushort id, byte[] cookie)
        => DnsWire.Query("www.example.test", DnsWire.TypeA, id, new EdnsSpec(Options: [new EdnsOptionBytes(OptionCookie, cookie)]));

    private static async Task<RawReply?> AskAsync(Socket socket, byte[] cookie, TimeSpan? timeout = null)
    {
        var id = DnsWire.NewId();
        await socket.SendAsync(Query(id, cookie));
        var reply = await RawDnsClient.ReceiveUdpAsync(socket, id, timeout ?? TimeSpan.FromSeconds(3));
        return reply is null ? null : RawReply.Parse(reply);
    }

    private static Socket From(string source, IPEndPoint server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
        socket.Connect(server);
        return socket;
    }

    [Fact]
    public async Task Dig_and_kdig_get_a_server_cookie_they_call_good()
    {
        var (server, zones) = await StartAsync();
        await using var _ = server;
        using var __ = zones;
        var endPoint = server.UdpListeners[0].LocalEndPoint;

        var dig = await DigRunner.DigAsync(endPoint, "+cookie", "www.example.test", "A");
        Assert.Equal("NOERROR", dig.Status);
        Assert.Matches(@"; COOKIE: [0-9a-f]{16}[0-9a-f]{32} \(good\)", dig.Raw);

        // kdig 3.2 prints the cookie without a verdict (upper-case hex): give it a client cookie and check it comes back
        // first, followed by a 16-byte version 1 server cookie, and that kdig has no complaint.
        var kdig = await DigRunner.KdigAsync(endPoint, "+cookie=2464c4abcf10c957", "www.example.test", "A");
        Assert.Equal("NOERROR", kdig.Status);
        Assert.Matches(@";; COOKIE: 2464C4ABCF10C95701000000[0-9A-F]{24}\r?\n", kdig.Raw);
        Assert.DoesNotContain("WARNING", kdig.Raw, StringComparison.Ordinal);

        // dig sends back the cookie it learned (+cookie=HEX) and the server takes it: same cookie, counted valid.
        var learned = System.Text.RegularExpressions.Regex.Match(dig.Raw, @"; COOKIE: ([0-9a-f]{48})").Groups[1].Value;
        var again = await DigRunner.DigAsync(endPoint, $"+cookie={learned}", "www.example.test", "A");
        Assert.Contains($"; COOKIE: {learned} (good)", again.Raw, StringComparison.Ordinal);
        Assert.Equal(1, server.UdpListeners[0].Contexts.Sum(c => c.Counters.ValidCookies));
    }

    [Fact]
    public async Task A_returned_cookie_is_accepted_and_exempts_the_client_from_rate_limiting_and_a_malformed_one_is_FORMERR()
    {
        var (server, zones) = await StartAsync(new RateLimitOptions { ResponsesPerSecond = 2, Slip = 0 });
        await using var _ = server;
        using var __ = zones;
        var endPoint = server.UdpListeners[0].LocalEndPoint;
        using var socket = From("127.0.5.1", endPoint);

        var first = await AskAsync(socket, ClientCookie) ?? throw new TimeoutException("no reply to the first query");
        var cookie = first.Opt!.Option(OptionCookie)!;
        Assert.Equal(24, cookie.Length);
        Assert.Equal(ClientCookie, cookie[..8]);
        Assert.Equal(1, cookie[8]); // RFC 9018 version 1

        // With the server cookie every query is answered, far past the 2 per second the prefix is allowed.
        for (var i = 0; i < 50; i++)
        {
            var reply = await AskAsync(socket, cookie) ?? throw new TimeoutException($"query {i} with a valid cookie went unanswered");
            Assert.Equal(2, reply.Answers.Count);
            Assert.Equal(cookie, reply.Opt!.Option(OptionCookie)); // under half an hour old: handed back as it is
        }

        // Without it (a wrong server cookie counts as none) the same client is limited at once.
        var forged = (byte[])cookie.Clone();
        forged[^1] ^= 0xff;
        var answered = 0;
        for (var i = 0; i < 20; i++)
        {
            answered += await AskAsync(socket, forged, TimeSpan.FromMilliseconds(300)) is null ? 0 : 1;
        }

        Assert.InRange(answered, 0, 3);

        // RFC 7873 5.2.2: a COOKIE option of another length is FORMERR.
        foreach (var length in new[] { 7, 9, 15, 41 })
        {
            using var other = From($"127.0.{100 + length}.1", endPoint); // each in its own /24: FORMERR counts against the error budget
            var reply = await AskAsync(other, new byte[length]) ?? throw new TimeoutException($"no reply to a {length}-byte cookie");
            Assert.Equal(1, reply.Rcode);
        }
    }

    [Fact]
    public async Task A_limited_client_that_speaks_cookies_slips_as_BADCOOKIE_with_a_fresh_cookie_and_its_retry_is_answered()
    {
        var (server, zones) = await StartAsync(new RateLimitOptions { ResponsesPerSecond = 1, Slip = 1 });
        await using var _ = server;
        using var __ = zones;
        using var socket = From("127.0.7.1", server.UdpListeners[0].LocalEndPoint);

        Assert.NotNull(await AskAsync(socket, ClientCookie)); // the budget of 1
        var slipped = await AskAsync(socket, ClientCookie) ?? throw new TimeoutException("slip 1 should answer every limited query");
        Assert.Equal(ResponseCodeBadCookie, slipped.Rcode);
        Assert.Empty(slipped.Answers);
        var fresh = slipped.Opt!.Option(OptionCookie)!;
        Assert.Equal(24, fresh.Length);

        var retry = await AskAsync(socket, fresh) ?? throw new TimeoutException("the retry with the fresh cookie went unanswered");
        Assert.Equal(0, retry.Rcode);
        Assert.Equal(2, retry.Answers.Count);
    }

    private const int ResponseCodeBadCookie = 23;
}
