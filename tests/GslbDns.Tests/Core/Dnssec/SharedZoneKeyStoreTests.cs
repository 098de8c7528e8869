using System.Security.Cryptography;
using GslbDns.Dns;
using GslbDns.Dnssec;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Core.Dnssec;

/// <summary>The fleet's zone keys in a real Consul (dev agent): created once, read by every server, encrypted at rest.</summary>
public sealed class SharedZoneKeyStoreTests(ConsulDevAgent agent) : IClassFixture<ConsulDevAgent>
{
    private static DnsName NewZone() => DnsName.Parse($"z{Guid.NewGuid():N}.test.");

    [Fact]
    public async Task Every_server_of_the_fleet_gets_the_keys_the_first_one_created()
    {
        var encryption = RandomNumberGenerator.GetBytes(32);
        var zone = NewZone();
        var stores = Enumerable.Range(0, 3).Select(_ => new SharedZoneKeyStore(agent.CreateClient(), "dnssec-test/", encryption)).ToArray();

        // Three servers starting at once: one create wins (check-and-set index 0), all read the same keys.
        var keys = await Task.WhenAll(stores.Select(s => s.LoadOrCreateAsync(zone)));
        Assert.All(keys, k => Assert.Equal(keys[0].Ksk.DnskeyRData, k.Ksk.DnskeyRData));
        Assert.All(keys, k => Assert.Equal(keys[0].Zsk.DnskeyRData, k.Zsk.DnskeyRData));
        var again = await new SharedZoneKeyStore(agent.CreateClient(), "dnssec-test/", encryption).LoadOrCreateAsync(zone);
        Assert.Equal(keys[0].DsText(), again.DsText());
    }

    [Fact]
    public async Task A_KSK_rollover_through_Consul_is_one_schedule_for_every_server_from_start_to_removal()
    {
        var encryption = RandomNumberGenerator.GetBytes(32);
        var zone = NewZone();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var timings = new RolloverTimings(TimeSpan.FromSeconds(300), TimeSpan.FromSeconds(60), TimeSpan.FromDays(30)) { ParentDsTtl = TimeSpan.FromSeconds(600) };
        var servers = Enumerable.Range(0, 3).Select(_ => new ZoneKeyRollover(new SharedZoneKeyStore(agent.CreateClient(), "dnssec-test/", encryption), timings, time)).ToArray();
        var old = (await servers[0].EvaluateAsync(zone)).Ksk.KeyTag;

        // The operator's command (one writer) starts it; every server reads the same KSKs and times from the encrypted value.
        var started = await servers[0].StartKskRolloverAsync(zone);
        string Schedule(ZoneKeyState s) => string.Join(' ', s.Ksks.Select(k => $"{k.Key.KeyTag}/{k.ReadyAt.ToUnixTimeSeconds()}/{k.ActiveAt?.ToUnixTimeSeconds()}/{k.RemoveAt?.ToUnixTimeSeconds()}"));
        Assert.All(await Task.WhenAll(servers.Select(s => s.EvaluateAsync(zone))), s => Assert.Equal(Schedule(started), Schedule(s)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => servers[1].ConfirmDsPublishedAsync(zone));

        time.Advance(timings.KskReadySafety);
        var confirmed = await servers[2].ConfirmDsPublishedAsync(zone);
        var states = await Task.WhenAll(servers.Select(s => s.EvaluateAsync(zone)));
        Assert.All(states, s => Assert.Equal(Schedule(confirmed), Schedule(s)));
        Assert.All(states, s => Assert.Equal((started.Ksks[1].Key.KeyTag, old), (s.KeysAt(time.GetUtcNow()).Ksk.KeyTag, Assert.Single(s.KeysAt(time.GetUtcNow()).OtherKsks).KeyTag)));

        time.Advance(timings.KskRetireSafety);
        Assert.All(await Task.WhenAll(servers.Select(s => s.EvaluateAsync(zone))), s => Assert.Equal(started.Ksks[1].Key.KeyTag, Assert.Single(s.Ksks).Key.KeyTag));
    }

    [Fact]
    public async Task Three_servers_seeing_a_ZSK_lifetime_end_at_once_start_one_rollover_and_agree_on_its_schedule()
    {
        var encryption = RandomNumberGenerator.GetBytes(32);
        var zone = NewZone();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var timings = new RolloverTimings(TimeSpan.FromSeconds(300), TimeSpan.FromSeconds(60), TimeSpan.FromDays(30));
        var servers = Enumerable.Range(0, 3).Select(_ => new ZoneKeyRollover(new SharedZoneKeyStore(agent.CreateClient(), "dnssec-test/", encryption), timings, time)).ToArray();
        var first = await servers[0].EvaluateAsync(zone);

        time.Advance(timings.ZskLifetime);
        var states = await Task.WhenAll(servers.Select(s => s.EvaluateAsync(zone)));

        // Check-and-set at the modify index: one successor, whichever server wrote it, the same times everywhere.
        var schedule = states.Select(s => string.Join(' ', s.Zsks.Select(z => $"{z.Key.KeyTag}/{z.ActiveAt.ToUnixTimeSeconds()}/{z.RemoveAt?.ToUnixTimeSeconds()}"))).Distinct().ToArray();
        Assert.Single(schedule);
        Assert.Equal(2, states[0].Zsks.Count);
        Assert.Equal(first.Zsks[0].Key.KeyTag, states[0].Zsks[0].Key.KeyTag);
        Assert.All(states, s => Assert.Equal(first.Zsks[0].Key.KeyTag, s.KeysAt(time.GetUtcNow()).Zsk.KeyTag));
    }

    [Fact]
    public async Task The_stored_value_holds_no_usable_key_and_another_encryption_key_cannot_read_it()
    {
        var zone = NewZone();
        var store = new SharedZoneKeyStore(agent.CreateClient(), "dnssec-test/", RandomNumberGenerator.GetBytes(32));
        var keys = await store.LoadOrCreateAsync(zone);
        var stored = await agent.CreateClient().KvGetAsync(store.KeyOf(zone));
        Assert.NotNull(stored);
        var text = System.Text.Encoding.Latin1.GetString(stored.Value);
        Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(keys.Ksk.ExportPkcs8()), text, StringComparison.Ordinal);
        Assert.Equal(-1, stored.Value.AsSpan().IndexOf(keys.Ksk.ExportPkcs8()));

        var wrong = new SharedZoneKeyStore(agent.CreateClient(), "dnssec-test/", RandomNumberGenerator.GetBytes(32));
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => wrong.LoadOrCreateAsync(zone));
        Assert.Contains("cannot decrypt", error.Message, StringComparison.Ordinal);
        Assert.Contains(store.KeyOf(zone), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_encryption_key_file_holds_64_hex_digits()
    {
        using var folder = new TempFolder("kek");
        var good = folder.File("good");
        File.WriteAllText(good, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)) + "\n");
        Assert.Equal(32, SharedZoneKeyStore.ReadEncryptionKey(good).Length);
        var bad = folder.File("bad");
        File.WriteAllText(bad, "secret");
        var error = Assert.Throws<InvalidDataException>(() => SharedZoneKeyStore.ReadEncryptionKey(bad));
        Assert.Contains(bad, error.Message, StringComparison.Ordinal);
    }
}
