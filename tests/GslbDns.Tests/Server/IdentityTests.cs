using System.Net;
using System.Text;
using GslbDns.Query;
using GslbDns.Server.Hosting;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>A server configured to say who it is: NSID (RFC 5001) and the CHAOS names.</summary>
public sealed class IdentityServerFixture : IAsyncLifetime
{
    public const string Nsid = "gslb-test-7";
    public const string Version = "GslbDns 0.0-test";
    public const string Identity = "host-7.test";

    private readonly TempFolder _zones = new("identity");
    private DnsServer? _server;

    internal DnsServer Server => _server ?? throw new InvalidOperationException("fixture not started");

    internal IPEndPoint EndPoint => Server.UdpListeners[0].LocalEndPoint;

    public async Task InitializeAsync()
    {
        TestZones.WriteParentZones(_zones.Path, IPAddress.Parse("127.0.0.53"));
        var options = InProcessServer.Options(_zones.Path) with
        {
            Engine = new QueryEngineOptions { Nsid = Nsid, Version = Version, Identity = Identity },
        };
        _server = await InProcessServer.StartAsync(options);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _zones.Dispose();
    }
}

public sealed class IdentityTests(IdentityServerFixture fixture) : IClassFixture<IdentityServerFixture>
{
    [Fact]
    public async Task NSID_is_returned_when_asked_and_configured()
    {
        var reply = await RawDnsClient.UdpQueryAsync(fixture.EndPoint, "www.example.test", DnsWire.TypeA, new EdnsSpec(Options: [new EdnsOptionBytes(DnsWire.OptionNsid, [])]));
        Assert.Equal(0, reply.Rcode);
        Assert.Equal(IdentityServerFixture.Nsid, Encoding.UTF8.GetString(reply.Opt!.Option(DnsWire.OptionNsid)!));

        // Not asked, not sent.
        var plain = await RawDnsClient.UdpQueryAsync(fixture.EndPoint, "www.example.test", DnsWire.TypeA, new EdnsSpec());
        Assert.Null(plain.Opt!.Option(DnsWire.OptionNsid));

        // Errors carry it too: it is about the server, not the answer.
        var refused = await RawDnsClient.UdpQueryAsync(fixture.EndPoint, "www.example.org", DnsWire.TypeA, new EdnsSpec(Options: [new EdnsOptionBytes(DnsWire.OptionNsid, [])]));
        Assert.Equal(5, refused.Rcode);
        Assert.Equal(IdentityServerFixture.Nsid, Encoding.UTF8.GetString(refused.Opt!.Option(DnsWire.OptionNsid)!));
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task Dig_and_kdig_show_the_NSID(string tool)
    {
        var reply = tool == "dig"
            ? await DigRunner.DigAsync(fixture.EndPoint, "+nsid", "www.example.test", "A")
            : await DigRunner.KdigAsync(fixture.EndPoint, "+nsid", "www.example.test", "A");
        Assert.Equal("NOERROR", reply.Status);
        Assert.Equal(IdentityServerFixture.Nsid, reply.Nsid);
    }

    [Theory]
    [InlineData("version.bind", IdentityServerFixture.Version)]
    [InlineData("version.server", IdentityServerFixture.Version)]
    [InlineData("hostname.bind", IdentityServerFixture.Identity)]
    [InlineData("id.server", IdentityServerFixture.Identity)]
    [InlineData("VERSION.BIND", IdentityServerFixture.Version)]
    public async Task CHAOS_names_are_answered_when_configured(string name, string text)
    {
        var reply = await RawDnsClient.UdpQueryAsync(fixture.EndPoint, name, DnsWire.TypeTXT, new EdnsSpec(), DnsWire.ClassCH);
        Assert.Equal(0, reply.Rcode);
        var txt = Assert.Single(reply.Answers);
        Assert.Equal((name + ".", DnsWire.TypeTXT, DnsWire.ClassCH), (txt.Name, txt.Type, txt.Class));
        Assert.Equal([text], txt.TxtStrings);
        Assert.False(reply.RecursionAvailable);

        // Other CHAOS names, and other types, stay refused.
        var other = await RawDnsClient.UdpQueryAsync(fixture.EndPoint, "authors.bind", DnsWire.TypeTXT, new EdnsSpec(), DnsWire.ClassCH);
        Assert.Equal(5, other.Rcode);
        var wrongType = await RawDnsClient.UdpQueryAsync(fixture.EndPoint, name, DnsWire.TypeA, new EdnsSpec(), DnsWire.ClassCH);
        Assert.Equal(5, wrongType.Rcode);
    }

    [Fact]
    public async Task Dig_and_kdig_read_the_CHAOS_answers()
    {
        var version = await DigRunner.DigAsync(fixture.EndPoint, "-c", "CH", "-t", "TXT", "version.bind");
        Assert.Equal("NOERROR", version.Status);
        Assert.Equal(("version.bind.", "CH", "TXT", $"\"{IdentityServerFixture.Version}\""), (Assert.Single(version.Answer).Name, version.Answer[0].Class, version.Answer[0].Type, version.Answer[0].Data));

        var hostname = await DigRunner.KdigAsync(fixture.EndPoint, "-c", "CH", "-t", "TXT", "hostname.bind");
        Assert.Equal($"\"{IdentityServerFixture.Identity}\"", Assert.Single(hostname.Answer).Data);
    }
}
