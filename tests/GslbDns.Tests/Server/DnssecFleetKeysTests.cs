using System.Net;
using System.Security.Cryptography;
using GslbDns.Hosting;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>DNS servers in Consul mode sign a zone with the fleet's keys, read from a real Consul agent.</summary>
public sealed class DnssecFleetKeysTests(ConsulDevAgent agent) : IClassFixture<ConsulDevAgent>
{
    private const string Zone = "fleet.test";

    private static void WriteZone(string folder) => File.WriteAllText(Path.Combine(folder, "fleet.test.zone"), """
        $ORIGIN fleet.test.
        $TTL 300
        @ IN SOA ns1 hostmaster 1 3600 600 86400 60
          IN NS ns1
        ns1 IN A 127.0.0.1
        """);

    private GslbDns.Server.Hosting.ServerOptions Options(TempFolder folder, string name, string? encryptionFile)
    {
        var zones = folder.Folder(name);
        WriteZone(zones);
        return InProcessServer.Options(zones) with
        {
            ConsulAddresses = [agent.HttpAddress],
            ConsulPrefix = $"fleet-{Guid.NewGuid():N}/",
            DnssecZones = [GslbDns.Dns.DnsName.Parse(Zone + ".")],
            DnssecKeyEncryptionFile = encryptionFile,
            DnssecKeysFolder = Path.Combine(folder.Path, name, "keys"),
            ApiEndPoint = null,
        };
    }

    private static async Task<string> Dnskeys(IPEndPoint server)
    {
        var reply = await RawDnsClient.UdpQueryAsync(server, Zone, 48, new EdnsSpec());
        return string.Join(",", reply.Answers.Where(r => r.Type == 48).Select(r => Convert.ToBase64String(r.RData)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Two_servers_publish_the_same_DNSKEYs_and_keep_no_key_files()
    {
        using var folder = new TempFolder("dnssec-fleet");
        var encryption = folder.File("kek");
        File.WriteAllText(encryption, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));
        var first = Options(folder, "a", encryption);
        var second = Options(folder, "b", encryption) with { ConsulPrefix = first.ConsulPrefix };
        await using var a = await InProcessServer.StartAsync(first);
        await using var b = await InProcessServer.StartAsync(second);
        var keysA = await Dnskeys(a.UdpListeners[0].LocalEndPoint);
        Assert.Equal(2, keysA.Split(',').Length);
        Assert.Equal(keysA, await Dnskeys(b.UdpListeners[0].LocalEndPoint));
        Assert.False(Directory.Exists(first.DnssecKeysFolder));
        Assert.NotNull(await agent.CreateClient().KvGetAsync($"{first.ConsulPrefix}dnssec/{Zone}"));
    }

    [Fact]
    public async Task Consul_mode_without_the_encryption_key_file_does_not_start()
    {
        using var folder = new TempFolder("dnssec-fleet");
        var error = await Assert.ThrowsAsync<StartupException>(() => InProcessServer.StartAsync(Options(folder, "c", null)));
        Assert.Contains("--dnssec-key-encryption-file", error.Message, StringComparison.Ordinal);
    }
}
