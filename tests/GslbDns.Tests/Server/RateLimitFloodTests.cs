using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using GslbDns.Guards;
using GslbDns.Server.Hosting;
using GslbDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace GslbDns.Tests.Server;

/// <summary>
/// Response rate limiting against a spoofed-source amplification flood over real UDP sockets: 200 sources in
/// 127.0.0.0/24 ask for a 700-byte TXT RRset with a 48-byte query.
/// </summary>
public sealed partial class RateLimitFloodTests(ITestOutputHelper output)
{
    private const int Sources = 200;
    private const int PerSource = 50;

    private static byte[] MedTxtQuery() => DnsWire.Query("medtxt.example.test", DnsWire.TypeTXT, 1, new EdnsSpec());

    private static async Task<(DnsServer Server, TempFolder Zones)> StartAsync(RateLimitOptions rrl, IPEndPoint? metrics = null)
    {
        var zones = new TempFolder("rrl");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        var server = await InProcessServer.StartAsync(InProcessServer.Options(zones.Path) with { RateLimit = rrl, MetricsEndPoint = metrics });
        return (server, zones);
    }

    [GeneratedRegex("""^(gslbdns_rrl_\w+_total)\{server="dns://[^"]+"\} ([0-9.e+]+)$""", RegexOptions.Multiline)]
    private static partial Regex RrlMetric();

    [Fact]
    public async Task A_spoofed_flood_loses_its_amplification_while_another_prefix_gets_every_answer_and_an_exempt_prefix_is_never_limited()
    {
        // Baseline: the same flood against a server without RRL.
        FloodResult open;
        var (plain, plainZones) = await StartAsync(new RateLimitOptions());
        await using (plain)
        using (plainZones)
        {
            open = await UdpFlood.RunAsync(plain, plain.UdpListeners[0].LocalEndPoint, UdpFlood.Sources(0, 0, Sources), MedTxtQuery(), PerSource);
        }

        output.WriteLine($"no RRL:        {open}");
        Assert.Equal(open.Sent, open.Full);
        Assert.True(open.Factor > 10, $"the TXT answer should amplify over 10x: {open}");

        var metricsPort = PortFinder.Take();
        var (server, zones) = await StartAsync(
            new RateLimitOptions { ResponsesPerSecond = 20, Slip = 2, Exempt = [(IPAddress.Parse("127.0.2.0"), 24)] },
            new IPEndPoint(IPAddress.Loopback, metricsPort));
        await using var _ = server;
        using var __ = zones;
        var target = server.UdpListeners[0].LocalEndPoint;

        // A resolver in another /24 keeps asking the same name during the flood.
        using var stop = new CancellationTokenSource();
        var bystander = Task.Run(async () =>
        {
            var answered = 0;
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.1.1"), 0));
            socket.Connect(target);
            while (!stop.IsCancellationRequested && answered < 15)
            {
                var id = DnsWire.NewId();
                await socket.SendAsync(DnsWire.Query("medtxt.example.test", DnsWire.TypeTXT, id, new EdnsSpec()));
                var reply = await RawDnsClient.ReceiveUdpAsync(socket, id, TimeSpan.FromSeconds(3)) ?? throw new TimeoutException($"query {answered + 1} from 127.0.1.1 went unanswered");
                var message = RawReply.Parse(reply);
                Assert.False(message.Truncated, $"query {answered + 1} from 127.0.1.1 was slipped");
                Assert.Equal(TestZones.MediumTxtStrings, message.Answers.Count);
                answered++;
            }

            return answered;
        });

        var limited = await UdpFlood.RunAsync(server, target, UdpFlood.Sources(0, 0, Sources), MedTxtQuery(), PerSource);
        await stop.CancelAsync();
        var bystanderAnswers = await Deadline.Within(bystander, TimeSpan.FromSeconds(30), "the bystander's queries");
        output.WriteLine($"RRL 20/s:      {limited}");
        output.WriteLine($"factor {open.Factor:0.000} -> {limited.Factor:0.000}: {open.Factor / limited.Factor:0.0}x lower; bystander answered {bystanderAnswers}");

        Assert.True(open.Factor / limited.Factor >= 10, $"the factor dropped only {open.Factor / limited.Factor:0.0}x: {limited}");
        Assert.True(bystanderAnswers > 0, "the bystander never got to ask");

        // Slip: about every second limited reply went out as TC=1 with no records (checked per reply in UdpFlood).
        Assert.InRange(limited.Truncated, (limited.Sent - limited.Full) / 3, limited.Sent - limited.Full);

        // An exempt prefix is never limited, however hard it asks.
        var exempt = await UdpFlood.RunAsync(server, target, UdpFlood.Sources(0, 2, 50), MedTxtQuery(), PerSource);
        output.WriteLine($"exempt prefix: {exempt}");
        Assert.Equal(exempt.Sent, exempt.Full);

        // And /metrics counts what was withheld and what slipped.
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
        var values = RrlMetric().Matches(text).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        output.WriteLine(string.Join(", ", values.Select(v => $"{v.Key} {v.Value}")));
        Assert.Equal(limited.Truncated, (int)values["gslbdns_rrl_slipped_total"]);
        Assert.Equal(limited.Sent - limited.Replies, (int)values["gslbdns_rrl_limited_total"]);
    }
}
