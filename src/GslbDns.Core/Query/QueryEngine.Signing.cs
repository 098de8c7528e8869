using System.Buffers.Binary;
using GslbDns.Dns;
using GslbDns.Dnssec;

namespace GslbDns.Query;

/// <summary>
/// The signing stage of the query plan (see src/GslbDns.Core/Dnssec/README.md): after an RRset is written for a
/// DNSSEC-OK query in a signed zone, its RRSIG follows it. Static RRsets keep their signature in their own slot;
/// load-balanced answers, wildcard expansions and compact-denial NSECs are looked up by content in the zone's
/// bounded cache. A hit copies bytes; only a miss signs (and allocates).
/// </summary>
public sealed partial class QueryEngine
{
    private static long SigningNow(QueryContext context) => context.Time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Writes the RRSIG of <paramref name="set"/> after it; false when it did not fit.</summary>
    /// <param name="nodeName">The node the set belongs to (the wildcard for a synthesised answer).</param>
    /// <param name="synthesized">A wildcard expansion: signed as the expanded name, so no proof of the wildcard match is needed.</param>
    private static bool SignStatic(QueryContext context, ZoneSigner signer, CompiledRRset set, DnsName nodeName, ReadOnlySpan<byte> owner, bool ownerIsQName, bool synthesized)
    {
        if (synthesized)
        {
            var scratch = context.Signing;
            var rrsig = signer.Cached(scratch, LowerCase(owner, scratch.Owner), set.Type, set.Ttl, set.Wire, SigningNow(context));
            return ownerIsQName ? context.Response.AddAtQName(rrsig) : context.Response.Add(owner, rrsig);
        }

        // A KSK rollover signs the DNSKEY RRset (and CDS/CDNSKEY) with each KSK: the further RRSIGs follow the first.
        var signed = signer.StaticSet(ref set.SignatureSlot, nodeName.Wire, set.Type, set.Ttl, set.Wire, SigningNow(context));
        if (!(ownerIsQName ? context.Response.AddAtQName(signed.Rrsig) : context.Response.Add(owner, signed.Rrsig)))
        {
            return false;
        }

        foreach (var more in signed.More)
        {
            if (!(ownerIsQName ? context.Response.AddAtQName(more) : context.Response.Add(owner, more)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A load-balanced answer, then (when signing) the RRSIG of exactly the set this query got.</summary>
    private static bool WriteDynamic(QueryContext context, IDynamicAnswerSource dynamic, ushort qtype, ReadOnlySpan<byte> owner, bool ownerIsQName, ZoneSigner? signer)
    {
        var builder = context.Response;
        var start = builder.Position;
        var before = builder.AnswerCount;
        context.DynamicType = qtype;
        if (!dynamic.WriteAnswers(qtype, owner, ownerIsQName, context))
        {
            return false;
        }

        if (signer is null || builder.AnswerCount == before)
        {
            return true;
        }

        var scratch = context.Signing;
        var length = CopyRecords(builder.Buffer.AsSpan(start, builder.Position - start), scratch.Records, out var ttl);
        if (length < 0)
        {
            return false;
        }

        // The type of the set written: a hostname service in CNAME mode answers an A query with a CNAME.
        var rrsig = signer.Cached(scratch, LowerCase(owner, scratch.Owner), context.DynamicType, ttl, scratch.Records.AsSpan(0, length), SigningNow(context));
        return ownerIsQName ? builder.AddAtQName(rrsig) : builder.Add(owner, rrsig);
    }

    /// <summary>
    /// RFC 9824 compact denial, after the SOA in the authority section: the SOA's signature, then an NSEC at the
    /// denied name listing what it has (nothing but NXNAME when it does not exist) and that NSEC's signature.
    /// </summary>
    private static bool Deny(QueryContext context, ZoneSigner signer, CompiledZone zone, ZoneNode? node, ReadOnlySpan<byte> name, bool isQName)
    {
        var builder = context.Response;
        var now = SigningNow(context);
        var soaSignature = signer.Static(ref zone.NegativeSoaSignature, zone.Origin.Wire, RecordType.SOA, zone.NegativeTtl, zone.NegativeSoaWire, now);
        if (!builder.Add(zone.Origin.Wire, soaSignature))
        {
            return false;
        }

        Span<ushort> types = stackalloc ushort[64];
        var count = 0;
        if (node is null)
        {
            types[count++] = RecordType.NXNAME;
        }
        else
        {
            foreach (var type in node.Types)
            {
                if (count < types.Length - 2)
                {
                    types[count++] = type;
                }
            }

            if (node.Dynamic is { } dynamic)
            {
                if (dynamic.Serves(RecordType.A))
                {
                    types[count++] = RecordType.A;
                }

                if (dynamic.Serves(RecordType.AAAA))
                {
                    types[count++] = RecordType.AAAA;
                }
            }
        }

        return WriteNsec(context, signer, name, isQName, zone.NegativeTtl, types[..count], now);
    }

    /// <summary>A referral's DS RRset with its signature, or (no DS: an insecure delegation) the NSEC at the cut proving it.</summary>
    private static bool SignReferral(QueryContext context, ZoneSigner signer, ZoneNode cut)
    {
        if (cut.Find(RecordType.DS) is { } ds)
        {
            return WriteRRset(context.Response, ds, cut.Name.Wire, false) && SignStatic(context, signer, ds, cut.Name, cut.Name.Wire, false, synthesized: false);
        }

        ReadOnlySpan<ushort> types = [RecordType.NS];
        var zoneTtl = NegativeTtlOf(context, cut);
        return WriteNsec(context, signer, cut.Name.Wire, false, zoneTtl, types, SigningNow(context));
    }

    private static uint NegativeTtlOf(QueryContext context, ZoneNode cut)
    {
        var ns = cut.Find(RecordType.NS)!;
        return context.Snapshot.Zones.FindExact(ZoneOf(context, cut)) is { } zone ? zone.NegativeTtl : ns.Ttl;
    }

    private static ReadOnlySpan<byte> ZoneOf(QueryContext context, ZoneNode cut)
    {
        // The closest enclosing zone of the cut's parent: the zone that made the referral.
        var wire = cut.Name.Wire;
        var at = wire[0] + 1;
        while (wire[at] != 0)
        {
            if (context.Snapshot.Zones.FindExact(wire[at..]) is not null)
            {
                return wire[at..];
            }

            at += wire[at] + 1;
        }

        return wire[at..];
    }

    private static bool WriteNsec(QueryContext context, ZoneSigner signer, ReadOnlySpan<byte> owner, bool ownerIsQName, uint ttl, ReadOnlySpan<ushort> types, long now)
    {
        var builder = context.Response;
        var scratch = context.Signing;
        var lower = LowerCase(owner, scratch.Owner);
        var length = CompactDenial.WriteNsec(scratch.Nsec, lower, ttl, types);
        var nsec = scratch.Nsec.AsSpan(0, length);
        if (!(ownerIsQName ? builder.AddAtQName(nsec) : builder.Add(owner, nsec)))
        {
            return false;
        }

        var rrsig = signer.Cached(scratch, lower, RecordType.NSEC, ttl, nsec, now);
        return ownerIsQName ? builder.AddAtQName(rrsig) : builder.Add(owner, rrsig);
    }

    /// <summary>Copies records just written (owner, TYPE..RDATA each) as TYPE..RDATA into <paramref name="destination"/>; returns the length, -1 when too large.</summary>
    private static int CopyRecords(ReadOnlySpan<byte> written, Span<byte> destination, out uint ttl)
    {
        ttl = 0;
        var at = 0;
        var length = 0;
        while (at < written.Length)
        {
            // Skip the owner: labels, ended by the root label or a compression pointer.
            while (written[at] != 0 && written[at] < 0xC0)
            {
                at += written[at] + 1;
            }

            at += written[at] == 0 ? 1 : 2;
            var size = 10 + BinaryPrimitives.ReadUInt16BigEndian(written[(at + 8)..]);
            if (length + size > destination.Length)
            {
                return -1;
            }

            ttl = BinaryPrimitives.ReadUInt32BigEndian(written[(at + 4)..]);
            written.Slice(at, size).CopyTo(destination[length..]);
            length += size;
            at += size;
        }

        return length;
    }

    private static ReadOnlySpan<byte> LowerCase(ReadOnlySpan<byte> name, byte[] destination)
    {
        name.CopyTo(destination);
        var i = 0;
        while (destination[i] != 0)
        {
            var end = i + 1 + destination[i];
            for (var j = i + 1; j < end; j++)
            {
                if (destination[j] is >= (byte)'A' and <= (byte)'Z')
                {
                    destination[j] += 32;
                }
            }

            i = end;
        }

        return destination.AsSpan(0, name.Length);
    }
}
