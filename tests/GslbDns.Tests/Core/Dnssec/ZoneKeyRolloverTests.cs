using System.Text;
using GslbDns.Dns;
using GslbDns.Dnssec;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace GslbDns.Tests.Core.Dnssec;

/// <summary>
/// The ZSK rollover schedule (pre-publication, RFC 6781 4.1.1.1 / RFC 7583 3.3.1) driven through the real file key
/// store by a fake clock: every transition at exactly its time, and not a second before.
/// </summary>
public sealed class ZoneKeyRolloverTests
{
    private static readonly DnsName Zone = DnsName.Parse("roll.test.");

    // Max TTL 300 s + propagation 60 s: a successor signs 360 s after publication, the predecessor goes 360 s after that.
    private static readonly RolloverTimings Timings = new(TimeSpan.FromSeconds(300), TimeSpan.FromSeconds(60), TimeSpan.FromDays(30));
    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(360);

    [Fact]
    public async Task A_ZSK_at_the_end_of_its_lifetime_is_published_then_signs_then_retires_then_goes_at_each_transition_time()
    {
        using var folder = new TempFolder("dnssec-roll");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new ZoneKeyStore(folder.Path);
        var rollover = new ZoneKeyRollover(store, Timings, time);
        var t0 = time.GetUtcNow();

        var initial = await rollover.EvaluateAsync(Zone);
        var first = Assert.Single(initial.Zsks);
        Assert.Equal(KeyPhase.Active, first.PhaseAt(t0));
        var ksk = initial.Ksk.KeyTag;

        // One second before the lifetime ends: nothing changes.
        time.SetUtcNow(t0 + Timings.ZskLifetime - TimeSpan.FromSeconds(1));
        Assert.Single((await rollover.EvaluateAsync(Zone)).Zsks);

        // At the end of the lifetime: the successor is published, the old key still signs.
        var published = t0 + Timings.ZskLifetime;
        time.SetUtcNow(published);
        var rolling = await rollover.EvaluateAsync(Zone);
        Assert.Equal(2, rolling.Zsks.Count);
        var (old, successor) = (rolling.Zsks[0], rolling.Zsks[1]);
        Assert.Equal(first.Key.KeyTag, old.Key.KeyTag);
        Assert.Equal((published, published + Safety, (DateTimeOffset?)null, (DateTimeOffset?)null), (successor.Published, successor.ActiveAt, successor.RetireAt, successor.RemoveAt));
        Assert.Equal((published + Safety, published + Safety + Safety), (old.RetireAt!.Value, old.RemoveAt!.Value));
        AssertKeys(rolling.KeysAt(published), signing: old.Key.KeyTag, also: [successor.Key.KeyTag]);
        Assert.Equal(KeyPhase.Published, successor.PhaseAt(published));
        Assert.True(rolling.RollingAt(published));

        // A restart reads the same schedule from state.json: the times are data, not this process's memory.
        var reread = await new ZoneKeyRollover(new ZoneKeyStore(folder.Path), Timings, time).EvaluateAsync(Zone);
        Assert.Equal(rolling.Zsks.Select(z => (z.Key.KeyTag, z.ActiveAt, z.RetireAt, z.RemoveAt)), reread.Zsks.Select(z => (z.Key.KeyTag, z.ActiveAt, z.RetireAt, z.RemoveAt)));

        time.SetUtcNow(published + Safety - TimeSpan.FromSeconds(1));
        AssertKeys((await rollover.EvaluateAsync(Zone)).KeysAt(time.GetUtcNow()), signing: old.Key.KeyTag, also: [successor.Key.KeyTag]);

        // DNSKEY TTL + propagation after publication: the successor signs; the old key stays published, retired.
        time.SetUtcNow(published + Safety);
        var swapped = await rollover.EvaluateAsync(Zone);
        Assert.Equal([KeyPhase.Retired, KeyPhase.Active], swapped.Zsks.Select(z => z.PhaseAt(time.GetUtcNow())));
        AssertKeys(swapped.KeysAt(time.GetUtcNow()), signing: successor.Key.KeyTag, also: [old.Key.KeyTag]);

        time.SetUtcNow(published + Safety + Safety - TimeSpan.FromSeconds(1));
        AssertKeys((await rollover.EvaluateAsync(Zone)).KeysAt(time.GetUtcNow()), signing: successor.Key.KeyTag, also: [old.Key.KeyTag]);

        // Max TTL + propagation after retirement: the old key leaves the DNSKEY RRset, the state and the folder.
        time.SetUtcNow(published + Safety + Safety);
        var done = await rollover.EvaluateAsync(Zone);
        Assert.Equal(successor.Key.KeyTag, Assert.Single(done.Zsks).Key.KeyTag);
        AssertKeys(done.KeysAt(time.GetUtcNow()), signing: successor.Key.KeyTag, also: []);
        Assert.Equal(ksk, done.Ksk.KeyTag);
        Assert.False(File.Exists(Path.Combine(store.ZoneFolder(Zone), "zsk.pem")));
        Assert.True(File.Exists(Path.Combine(store.ZoneFolder(Zone), $"zsk-{successor.Key.KeyTag}.pem")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(store.ZoneFolder(Zone), $"zsk-{successor.Key.KeyTag}.pem")));
        }

        // The successor's own lifetime counts from when it started signing.
        time.SetUtcNow(published + Safety + Timings.ZskLifetime - TimeSpan.FromSeconds(1));
        Assert.Single((await rollover.EvaluateAsync(Zone)).Zsks);
        time.SetUtcNow(published + Safety + Timings.ZskLifetime);
        Assert.Equal(2, (await rollover.EvaluateAsync(Zone)).Zsks.Count);
    }

    [Fact]
    public async Task The_operator_starts_a_rollover_now_and_a_second_one_is_refused_while_it_runs()
    {
        using var folder = new TempFolder("dnssec-roll");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var rollover = new ZoneKeyRollover(new ZoneKeyStore(folder.Path), Timings, time);
        await rollover.EvaluateAsync(Zone);
        time.Advance(TimeSpan.FromHours(1));

        var started = await rollover.StartZskRolloverAsync(Zone);
        Assert.Equal(time.GetUtcNow() + Safety, started.Zsks[1].ActiveAt);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => rollover.StartZskRolloverAsync(Zone));
        Assert.Contains($"key {started.Zsks[1].Key.KeyTag} is published, not yet signing", refused.Message, StringComparison.Ordinal);

        // Once the successor signs, the next rollover may start (the retired key is still published and stays until its time).
        time.Advance(Safety);
        var next = await rollover.StartZskRolloverAsync(Zone);
        Assert.Equal(3, next.Zsks.Count);
        Assert.Equal(time.GetUtcNow() + Safety, next.Zsks[1].RetireAt);
        Assert.Equal(started.Zsks[0].RemoveAt, next.Zsks[0].RemoveAt);
    }

    [Fact]
    public async Task Keys_from_before_rollovers_are_read_as_in_use_and_a_broken_state_file_names_the_field()
    {
        using var folder = new TempFolder("dnssec-roll");
        var store = new ZoneKeyStore(folder.Path);
        var zoneFolder = store.ZoneFolder(Zone);
        Directory.CreateDirectory(zoneFolder);
        using var ksk = DnssecKey.Generate(DnssecKey.KeySigningFlags);
        using var zsk = DnssecKey.Generate(DnssecKey.ZoneKeyFlags);
        File.WriteAllText(Path.Combine(zoneFolder, "ksk.pem"), ksk.ExportPem());
        File.WriteAllText(Path.Combine(zoneFolder, "zsk.pem"), zsk.ExportPem());

        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var state = await new ZoneKeyRollover(store, Timings, time).EvaluateAsync(Zone);
        Assert.Equal((ksk.KeyTag, zsk.KeyTag), (state.Ksk.KeyTag, Assert.Single(state.Zsks).Key.KeyTag));
        Assert.Equal(time.GetUtcNow(), state.Zsks[0].ActiveAt);

        var stateFile = Path.Combine(zoneFolder, "state.json");
        File.WriteAllText(stateFile, File.ReadAllText(stateFile).Replace("\"active\": ", "\"active\": \"x\", \"was\": ", StringComparison.Ordinal));
        var error = Assert.Throws<InvalidDataException>(() => new ZoneKeyStore(folder.Path).LoadOrCreateState(Zone, time.GetUtcNow()));
        Assert.Equal($"{stateFile}: $.zsks[0].active: expected Unix seconds", error.Message);

        var empty = Assert.Throws<InvalidDataException>(() => ZoneKeyStateJson.Read(Zone, Encoding.UTF8.GetBytes("""{"ksk":"k","zsks":[]}"""), (_, _) => ksk, "x.json"));
        Assert.Equal("x.json: $.zsks: expected 1 to 16 ZSKs", empty.Message);
    }

    private static void AssertKeys(ZoneKeys keys, ushort signing, ushort[] also)
    {
        Assert.Equal(signing, keys.Zsk.KeyTag);
        Assert.Equal(also, keys.OtherZsks.Select(k => k.KeyTag));
        var signer = new ZoneSigner(keys);
        Assert.Equal(also.Length + 2, signer.ApexRecords().Count(r => r.Type == RecordType.DNSKEY));
        Assert.Same(keys.Zsk, signer.KeyFor(RecordType.A));
    }
}
