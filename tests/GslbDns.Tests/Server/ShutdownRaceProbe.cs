using System.Net;
using Xunit.Abstractions;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

public sealed class ShutdownRaceProbe(ITestOutputHelper output)
{
    [Fact]
    public async Task Probe()
    {
        using var zones = new TempFolder("race");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        var lost = 0;
        for (var i = 0; i < 400; i++)
        {
            var server = await InProcessServer.StartAsync(InProcessServer.Options(zones.Path));
            using var c = await TcpDnsConnection.ConnectAsync(server.TcpListeners[0].LocalEndPoint);
            var id = DnsWire.NewId();
            await c.SendAsync(DnsWire.Query("www.example.test", DnsWire.TypeA, id));
            await c.ReceiveAsync();
            id = DnsWire.NewId();
            await c.SendAsync(DnsWire.Query("www.example.test", DnsWire.TypeA, id));
            var dispose = server.DisposeAsync().AsTask();
            byte[]? reply = null;
            try { reply = await c.ReceiveAsync(TimeSpan.FromSeconds(6)); } catch (Exception) { }
            if (reply is null) lost++;
            await dispose;
        }
        output.WriteLine($"lost {lost} of 400");
        Assert.Equal(0, lost);
    }
}
