using System.Buffers.Binary;
using GslbDns.Dns;
using GslbDns.Dnssec;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace GslbDns.Tests.Core.Dnssec;

/// <summary>
/// The double-KSK rollover (RFC 7583 3.3.2) driven through the real file key store by a fake clock: the new KSK is
/// published and co-signs the DNSKEY RRset at once, CDS/CDNSKEY switch to it once it is ready, the old KSK retires
/// only on the operator's DS confirmation and goes DS TTL + propagation later; each step at exactly its time.
/// </summary>
public sealed class KskRolloverTests
{
    private static readonly DnsName Zone = DnsName.Parse("ksk.test.");

    // DNSKEY TTL 300 s + propagation 60 s until ready; parent DS TTL 600 s + propagation 60 s until the old KSK goes.
    private static readonly RolloverTimings Timings = new(TimeSpan.FromSeconds(300), TimeSpan.FromSeconds(60), TimeSpan.FromDays(30)) { ParentDsTtl = TimeSpan.FromSeconds(600) };
    private static readonly TimeSpan ReadySafety = TimeSpan.FromSeconds(360);
    private static readonly TimeSpan RetireSafety = TimeSpan.FromSeconds(660);

    [Fact]
    public async Task A_KSK_rollover_co_signs_then_is_ready_then_waits_for_the_DS_then_retires_the_old_KSK_and_removes_it_at_each_time()
    {
        using var folder = new TempFolder("dnssec-ksk");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new ZoneKeyStore(folder.Path);
        var rollover = new ZoneKeyRollover(store, Timings, time);
        var initial = await rollover.EvaluateAsync(Zone);
        var old = Assert.Single(initial.Ksks).Key.KeyTag;
        var zsk = initial.SigningAt(time.GetUtcNow()).Key.KeyTag;

        time.Advance(TimeSpan.FromHours(1));
        var published = time.GetUtcNow();
        var started = await rollover.StartKskRolloverAsync(Zone);
        var successor = started.Ksks[1];
        Assert.Equal((published, published + ReadySafety, (DateTimeOffset?)null), (successor.Published, successor.ReadyAt, successor.ActiveAt));
        Assert.Equal([KeyPhase.Active, KeyPhase.Published], started.Ksks.Select(k => k.PhaseAt(published)));
        var niu = successor.Key.KeyTag;

        // Published: in the DNSKEY RRset, co-signing it; CDS still names the old KSK, whose DS the parent has.
        AssertKeys(started.KeysAt(published), cds: old, otherKsks: [niu], zsk);
        var second = Assert.Throws<InvalidOperationException>(() => started.StartKskRollover(published, Timings, successor.Key));
        Assert.Equal($"ksk.test.: a KSK rollover is already under way (KSK {old} active, KSK {niu} published); it ends when the old KSK is removed", second.Message);
        var again = await Assert.ThrowsAsync<InvalidOperationException>(() => rollover.StartKskRolloverAsync(Zone));
        Assert.Contains("a KSK rollover is already under way", again.Message, StringComparison.Ordinal);

        // The DS may not change before the new KSK is ready: the confirmation is refused, saying when it will be.
        time.SetUtcNow(published + ReadySafety - TimeSpan.FromSeconds(1));
        var early = await Assert.ThrowsAsync<InvalidOperationException>(() => rollover.ConfirmDsPublishedAsync(Zone));
        Assert.Contains($"KSK {niu} is not ready yet", early.Message, StringComparison.Ordinal);
        Assert.Contains($"ready at {published + ReadySafety:u}", early.Message, StringComparison.Ordinal);
        Assert.Equal(published + ReadySafety, (await rollover.EvaluateAsync(Zone)).NextChangeAfter(time.GetUtcNow(), Timings));
        AssertKeys((await rollover.EvaluateAsync(Zone)).KeysAt(time.GetUtcNow()), cds: old, otherKsks: [niu], zsk);

        // Ready: CDS/CDNSKEY name the new KSK; both still sign the DNSKEY RRset. A restart reads the same schedule.
        time.SetUtcNow(published + ReadySafety);
        var ready = await new ZoneKeyRollover(new ZoneKeyStore(folder.Path), Timings, time).EvaluateAsync(Zone);
        Assert.Equal([KeyPhase.Active, KeyPhase.Ready], ready.Ksks.Select(k => k.PhaseAt(time.GetUtcNow())));
        AssertKeys(ready.KeysAt(time.GetUtcNow()), cds: niu, otherKsks: [old], zsk);

        // Nothing retires the old KSK but the operator's word: a day later it is still waiting.
        time.Advance(TimeSpan.FromDays(1));
        var waiting = await rollover.EvaluateAsync(Zone);
        Assert.Equal([KeyPhase.Active, KeyPhase.Ready], waiting.Ksks.Select(k => k.PhaseAt(time.GetUtcNow())));
        Assert.Contains(waiting.Describe(time.GetUtcNow()), l => l.StartsWith($"ksk.test. KSK {niu} ready ", StringComparison.Ordinal) && l.EndsWith("(waiting for the parent's DS for this key, then dnssec-rollover --key ksk --ds-published)", StringComparison.Ordinal));

        // Confirmed: the new KSK is active, the old one retired but still published and co-signing for resolvers holding the old DS.
        var confirmedAt = time.GetUtcNow();
        var confirmed = await rollover.ConfirmDsPublishedAsync(Zone);
        Assert.Equal([KeyPhase.Retired, KeyPhase.Active], confirmed.Ksks.Select(k => k.PhaseAt(confirmedAt)));
        Assert.Equal((confirmedAt, confirmedAt + RetireSafety), (confirmed.Ksks[0].RetireAt!.Value, confirmed.Ksks[0].RemoveAt!.Value));
        Assert.Equal(niu, confirmed.Ksk.KeyTag);
        AssertKeys(confirmed.KeysAt(confirmedAt), cds: niu, otherKsks: [old], zsk);
        var twice = await Assert.ThrowsAsync<InvalidOperationException>(() => rollover.ConfirmDsPublishedAsync(Zone));
        Assert.Contains($"the DS change was already confirmed; KSK {old} is retired and goes at {confirmedAt + RetireSafety:u}", twice.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => rollover.StartKskRolloverAsync(Zone));

        time.SetUtcNow(confirmedAt + RetireSafety - TimeSpan.FromSeconds(1));
        AssertKeys((await rollover.EvaluateAsync(Zone)).KeysAt(time.GetUtcNow()), cds: niu, otherKsks: [old], zsk);

        // DS TTL + propagation after the confirmation: the old KSK leaves the DNSKEY RRset, the state and the folder.
        time.SetUtcNow(confirmedAt + RetireSafety);
        var done = await rollover.EvaluateAsync(Zone);
        Assert.Equal(niu, Assert.Single(done.Ksks).Key.KeyTag);
        AssertKeys(done.KeysAt(time.GetUtcNow()), cds: niu, otherKsks: [], zsk);
        Assert.False(File.Exists(Path.Combine(store.ZoneFolder(Zone), "ksk.pem")));
        var kept = Path.Combine(store.ZoneFolder(Zone), $"ksk-{niu}.pem");
        Assert.True(File.Exists(kept));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(kept));
        }

        // Over: the next KSK rollover may start, and the new KSK signs the DNSKEY RRset alone as read back after a restart.
        Assert.Equal(niu, (await new ZoneKeyRollover(new ZoneKeyStore(folder.Path), Timings, time).EvaluateAsync(Zone)).Ksk.KeyTag);
        Assert.Equal(2, (await rollover.StartKskRolloverAsync(Zone)).Ksks.Count);
    }

    [Fact]
    public async Task A_confirmation_without_a_KSK_rollover_is_refused_and_a_state_from_before_KSK_rollovers_reads_its_KSK_as_active()
    {
        using var folder = new TempFolder("dnssec-ksk");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var rollover = new ZoneKeyRollover(new ZoneKeyStore(folder.Path), Timings, time);
        var state = await rollover.EvaluateAsync(Zone);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => rollover.ConfirmDsPublishedAsync(Zone));
        Assert.Equal("ksk.test.: no KSK rollover is under way (start one with --key ksk)", refused.Message);

        // The state.json a server wrote before KSK rollovers: "ksk" and "zsks" only.
        var json = System.Text.Encoding.UTF8.GetBytes($$"""{"ksk":"ksk.pem","zsks":[{"key":"zsk.pem","published":1764547200,"active":1764547200,"retire":null,"remove":null}]}""");
        var read = ZoneKeyStateJson.Read(Zone, json, (name, flags) => name == "ksk.pem" ? state.Ksk : state.Zsks[0].Key, "state.json");
        Assert.Equal(KeyPhase.Active, Assert.Single(read.Ksks).PhaseAt(time.GetUtcNow()));
        Assert.Equal(state.Ksk.KeyTag, read.Ksk.KeyTag);

        var none = Assert.Throws<InvalidDataException>(() => ZoneKeyStateJson.Read(Zone, System.Text.Encoding.UTF8.GetBytes("""{"ksks":[{"key":"k","published":1,"ready":1,"active":null}],"zsks":[{"key":"z","published":1,"active":1}]}"""), (name, flags) => name == "k" ? state.Ksk : state.Zsks[0].Key, "x.json"));
        Assert.Equal("x.json: $.ksks: no KSK is active (one needs an \"active\" time)", none.Message);
    }

    /// <summary>What a server publishes and signs: CDS/CDNSKEY name <paramref name="cds"/>; the DNSKEY RRset holds every KSK and is signed by each (checked with the keys themselves).</summary>
    private static void AssertKeys(ZoneKeys keys, ushort cds, ushort[] otherKsks, ushort zsk)
    {
        Assert.Equal(cds, keys.Ksk.KeyTag);
        Assert.Equal(otherKsks, keys.OtherKsks.Select(k => k.KeyTag));
        Assert.Equal(zsk, keys.Zsk.KeyTag);
        var signer = new ZoneSigner(keys);
        var apex = signer.ApexRecords();
        Assert.Equal(otherKsks.Length + 2, apex.Count(r => r.Type == RecordType.DNSKEY));
        Assert.Equal(cds, BinaryPrimitives.ReadUInt16BigEndian(Assert.Single(apex, r => r.Type == RecordType.CDS).RData));

        var records = apex.Where(r => r.Type == RecordType.DNSKEY).SelectMany(r => Record(RecordType.DNSKEY, r.RData)).ToArray();
        var signed = signer.Sign(null, Zone.Wire, RecordType.DNSKEY, 300, records, now: 1_764_547_200);
        var signatures = new[] { signed.Rrsig }.Concat(signed.More).ToArray();
        Assert.Equal([cds, .. otherKsks], signatures.Select(s => BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(10 + 16))));
        foreach (var (signature, key) in signatures.Zip(new[] { keys.Ksk }.Concat(keys.OtherKsks)))
        {
            var data = RRsetSignature.SignedData(signature, Zone.Wire, records);
            Assert.True(key.Verify(data, signature.AsSpan(signature.Length - DnssecKey.SignatureLength)), $"RRSIG by {key.KeyTag}");
        }

        // Everything else: one signature, by the ZSK.
        var a = signer.Sign(null, Zone.Wire, RecordType.A, 300, Record(RecordType.A, [192, 0, 2, 1]), now: 1_764_547_200);
        Assert.Empty(a.More);
        Assert.Equal(zsk, BinaryPrimitives.ReadUInt16BigEndian(a.Rrsig.AsSpan(10 + 16)));
    }

    private static byte[] Record(ushort type, byte[] rdata)
    {
        var record = new byte[10 + rdata.Length];
        BinaryPrimitives.WriteUInt16BigEndian(record, type);
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt32BigEndian(record.AsSpan(4), 300);
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(8), (ushort)rdata.Length);
        rdata.CopyTo(record, 10);
        return record;
    }
}
