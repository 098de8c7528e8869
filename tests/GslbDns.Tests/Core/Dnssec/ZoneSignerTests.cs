using System.Buffers.Binary;
using GslbDns.Dns;
using GslbDns.Dnssec;
using GslbDns.Query;
using GslbDns.Tests.TestSupport;
using GslbDns.Zones;

namespace GslbDns.Tests.Core.Dnssec;

/// <summary>The signing stage's parts: keys and their store, RRSIG signed data, the caches' bounds and refresh, compact denial's NSEC.</summary>
public sealed class ZoneSignerTests
{
    private static readonly DnsName Zone = DnsName.Parse("sign.test.");

    private static ZoneKeys NewKeys() => new(Zone, DnssecKey.Generate(DnssecKey.KeySigningFlags), DnssecKey.Generate(DnssecKey.ZoneKeyFlags));

    private static byte[] ARecords(params byte[][] addresses)
    {
        var wire = new List<byte>();
        foreach (var a in addresses)
        {
            wire.AddRange(new byte[] { 0, 1, 0, 1, 0, 0, 1, 44, 0, 4 });
            wire.AddRange(a);
        }

        return [.. wire];
    }

    [Fact]
    public void An_RRSIG_verifies_over_the_canonical_RRset_whatever_the_record_order()
    {
        var keys = NewKeys();
        var signer = new ZoneSigner(keys);
        var owner = DnsName.Parse("www.sign.test.").Wire;
        var records = ARecords([192, 0, 2, 2], [192, 0, 2, 1]);
        var signed = signer.Sign(null, owner, RecordType.A, 300, records, 1_800_000_000);
        var rdata = signed.Rrsig.AsSpan(10);
        Assert.Equal(RecordType.A, BinaryPrimitives.ReadUInt16BigEndian(rdata));
        Assert.Equal(13, rdata[2]);
        Assert.Equal(3, rdata[3]);
        Assert.Equal(1_800_000_000u - 3600, BinaryPrimitives.ReadUInt32BigEndian(rdata[12..]));
        Assert.Equal(keys.Zsk.KeyTag, BinaryPrimitives.ReadUInt16BigEndian(rdata[16..]));
        var swapped = ARecords([192, 0, 2, 1], [192, 0, 2, 2]);
        Assert.True(keys.Zsk.Verify(RRsetSignature.SignedData(signed.Rrsig, owner, swapped), rdata[^64..]));
        Assert.False(keys.Zsk.Verify(RRsetSignature.SignedData(signed.Rrsig, owner, ARecords([192, 0, 2, 1])), rdata[^64..]));
    }

    [Fact]
    public void The_DNSKEY_RRset_is_signed_by_the_KSK_and_a_wildcard_owner_counts_one_label_less()
    {
        var keys = NewKeys();
        var signer = new ZoneSigner(keys);
        Assert.Same(keys.Ksk, signer.KeyFor(RecordType.DNSKEY));
        Assert.Same(keys.Ksk, signer.KeyFor(RecordType.CDS));
        Assert.Same(keys.Zsk, signer.KeyFor(RecordType.NSEC));
        var wildcard = signer.Sign(null, DnsName.Parse("*.wild.sign.test.").Wire, RecordType.A, 300, ARecords([192, 0, 2, 1]), 1_800_000_000);
        Assert.Equal(3, wildcard.Rrsig[10 + 3]);
        Assert.Contains(signer.ApexRecords(), r => r.Type == RecordType.CDNSKEY);
    }

    [Fact]
    public void The_DS_digest_and_key_tag_follow_RFC_4034_and_RFC_4509()
    {
        var keys = NewKeys();
        var ds = keys.Ksk.DsRData(Zone);
        Assert.Equal(keys.Ksk.KeyTag, BinaryPrimitives.ReadUInt16BigEndian(ds));
        var digest = System.Security.Cryptography.SHA256.HashData([.. Zone.Wire.ToArray(), .. keys.Ksk.DnskeyRData]);
        Assert.Equal(digest, ds[4..]);
        Assert.Matches($"^sign\\.test\\. 3600 IN DS {keys.Ksk.KeyTag} 13 2 [0-9A-F]{{64}}$", keys.DsText());
        Assert.Equal(257, BinaryPrimitives.ReadUInt16BigEndian(keys.Ksk.DnskeyRData));
    }

    [Fact]
    public void A_static_slot_signs_once_and_again_only_when_the_refresh_time_passes()
    {
        var signer = new ZoneSigner(NewKeys(), new SignatureValidity(TimeSpan.FromHours(1), TimeSpan.FromDays(14), TimeSpan.FromDays(7)));
        SignedSet? slot = null;
        var owner = Zone.Wire;
        var records = ARecords([192, 0, 2, 1]);
        var now = 1_800_000_000L;
        var first = signer.Static(ref slot, owner, RecordType.A, 300, records, now);
        Assert.Same(first, signer.Static(ref slot, owner, RecordType.A, 300, records, now + (long)TimeSpan.FromDays(7).TotalSeconds - 1));
        var refreshed = signer.Static(ref slot, owner, RecordType.A, 300, records, now + (long)TimeSpan.FromDays(7).TotalSeconds);
        Assert.NotSame(first, refreshed);
        Assert.Equal(2, signer.Signatures);

        // A re-made signature always has at least RefreshBefore left: it expires 14 days after it was made.
        Assert.Equal((uint)(now + TimeSpan.FromDays(21).TotalSeconds), BinaryPrimitives.ReadUInt32BigEndian(refreshed.AsSpan(10 + 8)));
    }

    [Fact]
    public void The_cache_shares_one_signature_per_answer_set_and_never_outgrows_its_slots()
    {
        var signer = new ZoneSigner(NewKeys(), cacheSlots: 64);
        var scratch = new SigningScratch();
        var owner = DnsName.Parse("lb.sign.test.").Wire;
        var now = 1_800_000_000L;
        var a = signer.Cached(scratch, owner, RecordType.A, 30, ARecords([198, 51, 100, 1], [198, 51, 100, 2]), now);
        var b = signer.Cached(scratch, owner, RecordType.A, 30, ARecords([198, 51, 100, 2], [198, 51, 100, 1]), now);
        Assert.Same(a, b);
        Assert.NotSame(a, signer.Cached(scratch, owner, RecordType.A, 60, ARecords([198, 51, 100, 2], [198, 51, 100, 1]), now));
        for (var i = 0; i < 1000; i++)
        {
            signer.Cached(scratch, DnsName.Parse($"n{i}.sign.test.").Wire, RecordType.A, 30, ARecords([198, 51, 100, 1]), now);
        }

        Assert.InRange(signer.Cache.Count(), 1, signer.Cache.Capacity);
        Assert.Equal(64, signer.Cache.Capacity);
    }

    [Fact]
    public void Compact_denial_NSEC_names_the_immediate_successor_and_lists_the_types()
    {
        var buffer = new byte[512];
        var owner = DnsName.Parse("nope.sign.test.").Wire;
        var length = CompactDenial.WriteNsec(buffer, owner, 60, [RecordType.NXNAME]);
        var rdata = buffer.AsSpan(10, length - 10);
        Assert.Equal(RecordType.NSEC, BinaryPrimitives.ReadUInt16BigEndian(buffer));
        Assert.Equal(60u, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(4)));
        Assert.Equal([1, 0], rdata[..2].ToArray());
        Assert.True(rdata.Slice(2, owner.Length).SequenceEqual(owner));
        var bitmap = rdata[(2 + owner.Length)..];

        // Window 0, 17 octets: RRSIG (46), NSEC (47) and NXNAME (128).
        Assert.Equal(0, bitmap[0]);
        Assert.Equal(17, bitmap[1]);
        Assert.Equal(0x03, bitmap[2 + 5]);
        Assert.Equal(0x80, bitmap[2 + 16]);

        var withCaa = CompactDenial.WriteNsec(buffer, owner, 60, [RecordType.A, RecordType.CAA]);
        var caaBitmap = buffer.AsSpan(10 + 2 + owner.Length, withCaa - 12 - owner.Length);
        Assert.Equal(0x40, caaBitmap[2]);
        Assert.Equal([1, 1, 0x40], caaBitmap[^3..].ToArray());
    }

    [Fact]
    public void Keys_are_generated_once_with_mode_0600_and_read_back_unchanged()
    {
        using var folder = new TempFolder("dnssec-keys");
        var store = new ZoneKeyStore(Path.Combine(folder.Path, "dnssec"));
        var first = store.LoadOrCreate(Zone);
        var again = store.LoadOrCreate(Zone);
        Assert.Equal(first.Ksk.DnskeyRData, again.Ksk.DnskeyRData);
        Assert.Equal(first.Zsk.DnskeyRData, again.Zsk.DnskeyRData);
        Assert.False(OperatingSystem.IsWindows(), "the key files' modes are POSIX modes");
        if (!OperatingSystem.IsWindows())
        {
            foreach (var file in new[] { "ksk.pem", "zsk.pem" })
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(store.ZoneFolder(Zone), file)));
            }

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(store.ZoneFolder(Zone)));
        }

        File.WriteAllText(Path.Combine(store.ZoneFolder(Zone), "zsk.pem"), "not a key");
        var error = Assert.Throws<InvalidDataException>(() => store.LoadOrCreate(Zone));
        Assert.Contains("zsk.pem", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_signed_zone_publishes_DNSKEY_CDS_and_CDNSKEY_at_the_apex()
    {
        var zone = ZoneFileReader.ReadText("""
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            """, "sign.test.zone", Zone);
        var compiled = CompiledZone.Build(zone, signer: new ZoneSigner(NewKeys()));
        var apex = compiled.Find(Zone)!;
        Assert.Equal(2, apex.Find(RecordType.DNSKEY)!.Count);
        Assert.Equal(1, apex.Find(RecordType.CDS)!.Count);
        Assert.Equal(1, apex.Find(RecordType.CDNSKEY)!.Count);
        Assert.Null(CompiledZone.Build(zone).Find(Zone)!.Find(RecordType.DNSKEY));
    }
}
