using GslbDns.Probing;
using static GslbDns.Tests.Core.Gslb.ConfigFiles.ConfigTestSupport;

namespace GslbDns.Tests.Core.Probing;

/// <summary><c>check.host</c> on an https check: the probe's TLS SNI and Host name it, not the service (issue 15 item 2).</summary>
public sealed class CheckTargetProbeTests
{
    [Fact]
    public async Task An_https_probe_sends_the_check_host_as_sni_and_host_to_the_check_address()
    {
        await using var backend = HttpBackend.Start(System.Net.IPAddress.Loopback, 0, tlsName: "health.internal.example");
        var config = Load(Edit(
            Valid,
            "\"type\": \"http\", \"port\": 80,|\"interval\": \"1s\", \"timeout\": \"800ms\"|{ \"dataCenter\": \"us-east\", \"address\": \"2001:db8::10\" }",
            $"\"type\": \"https\", \"port\": {backend.Port}, \"host\": \"health.internal.example\", \"address\": \"127.0.0.1\",|\"interval\": \"6s\", \"timeout\": \"5s\"|{{ \"dataCenter\": \"us-east\", \"address\": \"192.0.2.11\" }}"));
        // The process's first TLS handshake (no warm-up before it, unlike CheckTests) on a shared machine: 5 s.
        var target = ProbeTarget.FromConfig(config).First(t => t.EndpointId.EndsWith("/192.0.2.10", StringComparison.Ordinal));
        using var runner = ProbeRunner.CreateDefault(allowInsecureTls: true);

        var outcome = await runner.RunAsync(target, CancellationToken.None);

        Assert.True(outcome.Success, outcome.Error);
        Assert.Contains("health.internal.example", backend.SniNames);
        Assert.Contains($"health.internal.example:{backend.Port}", backend.HostHeaders);
    }
}
