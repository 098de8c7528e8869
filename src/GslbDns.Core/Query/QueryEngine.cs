using System.Text;
using GslbDns.Dns;
using GslbDns.Guards;
using GslbDns.Wire;

namespace GslbDns.Query;

/// <summary>
/// Answers one query from the current snapshot, as a staged plan: parse, guard (opcode, class, EDNS
/// version), find the zone, walk down to the node, then answer, refer, or deny, and close with OPT.
/// Follows RFC 1034 4.3.2 with RFC 2308 negative answers, RFC 4592 wildcards, RFC 6891 EDNS,
/// RFC 7871 client subnet and RFC 8482 ANY. No locks, no I/O, no allocation in steady state.
/// </summary>
public sealed partial class QueryEngine
{
    private const int MaxCnameHops = 8;
    private static readonly byte[] WildcardLabel = [1, (byte)'*'];

    private readonly SnapshotHolder _snapshots;
    private readonly QueryEngineOptions _options;
    private readonly byte[] _nsid;
    private readonly byte[]? _versionTxt;
    private readonly byte[]? _identityTxt;
    private readonly ResponseRateLimiter? _limiter;
    private readonly ServerCookies? _cookies;

    /// <param name="limiter">Response rate limiting for UDP replies; null sends every reply.</param>
    /// <param name="cookies">DNS cookies (RFC 7873/9018); null ignores COOKIE options beyond checking their length.</param>
    public QueryEngine(SnapshotHolder snapshots, QueryEngineOptions options, ResponseRateLimiter? limiter = null, ServerCookies? cookies = null)
    {
        _snapshots = snapshots;
        _options = options;
        _limiter = limiter;
        _cookies = cookies;
        _nsid = options.NsidBytes;
        _versionTxt = options.Version is null ? null : TxtRdata(options.Version);
        _identityTxt = options.Identity is null ? null : TxtRdata(options.Identity);
    }

    public QueryEngineOptions Options => _options;

    public ResponseRateLimiter? RateLimiter => _limiter;

    public ServerCookies? Cookies => _cookies;

    /// <summary>Builds the reply to <paramref name="request"/> in the context's response buffer; returns its length, or 0 to send nothing.</summary>
    public int Process(ReadOnlySpan<byte> request, QueryContext context)
    {
        if (context.Stats is not { } stats)
        {
            return ProcessQuery(request, context);
        }

        // Counted here, around the whole plan, into the calling thread's own block: plain increments, and one clock
        // read per query when the listener chains them (StatsClock), two otherwise.
        var chained = context.StatsClock;
        var started = chained != 0 ? chained : Observability.DnsStats.Now();
        var dropped = context.Counters.Dropped;
        context.StatsZone = 0;
        context.StatsRcode = -1;
        var length = ProcessQuery(request, context);
        var ended = Observability.DnsStats.Now();
        context.StatsClock = chained != 0 ? ended : 0;
        if (context.Counters.Dropped == dropped)
        {
            var query = context.Query;
            stats.Record(context.StatsZone, query.HasQuestion ? query.QType : (ushort)0, query.DnssecOk, query.HasClientSubnet, request.Length, length > 0 ? context.StatsRcode : -1, length, ended - started);
        }

        return length;
    }

    private int ProcessQuery(ReadOnlySpan<byte> request, QueryContext context)
    {
        var query = context.Query;
        var outcome = query.Parse(request);
        var builder = context.Response;
        context.Cookie = CookieVerdict.None;
        if (outcome == ParseOutcome.Drop)
        {
            context.Counters.Dropped++;
            return 0;
        }

        var maxSize = context.OverTcp ? ushort.MaxValue : 512;
        if (outcome == ParseOutcome.FormErr)
        {
            // No OPT: whatever was wrong may have been the OPT itself (RFC 6891 7).
            builder.Begin(query, request, maxSize);
            return Finish(context, authoritative: false, truncated: false, ResponseCode.FormErr, withOpt: false);
        }

        if (query.HasEdns && !context.OverTcp)
        {
            maxSize = Math.Clamp(query.EdnsUdpSize, 512, (int)_options.MaxUdpPayload);
        }

        builder.Begin(query, request, maxSize);
        context.EcsScope = 0;
        if (query.HasEdns)
        {
            var cookieLength = PrepareCookie(context);
            builder.Reserve(ResponseBuilder.OptSize(query.NsidRequested ? _nsid.Length : 0, query.HasClientSubnet ? query.ClientSubnet : null, cookieLength));
            if (query.EdnsVersion > 0)
            {
                return Finish(context, authoritative: false, truncated: false, ResponseCode.BadVers, withOpt: true);
            }
        }

        if (query.Opcode != 0 || !query.HasQuestion)
        {
            return Finish(context, false, false, query.Opcode != 0 ? ResponseCode.NotImp : ResponseCode.FormErr, true);
        }

        if (query.QClass == RecordClass.CH)
        {
            return AnswerChaos(context);
        }

        if (query.QClass is not RecordClass.IN and not RecordClass.ANY)
        {
            return Finish(context, false, false, ResponseCode.Refused, true);
        }

        switch (query.QType)
        {
            case RecordType.OPT:
                return Finish(context, false, false, ResponseCode.FormErr, true);
            case RecordType.AXFR or RecordType.IXFR:
                // No zone transfers are offered; refuse like NSD and Knot do without an ACL.
                return Finish(context, false, false, ResponseCode.Refused, true);
            case RecordType.NXNAME:
                // RFC 9824 3.5: the compact-denial meta-type is never a question; an explicit query for it is a format error.
                return Finish(context, false, false, ResponseCode.FormErr, true);
            case RecordType.MAILA or RecordType.MAILB or (> RecordType.NXNAME and < RecordType.ANY):
                return Finish(context, false, false, ResponseCode.NotImp, true);
        }

        var snapshot = _snapshots.Current;
        context.Snapshot = snapshot;
        var zones = snapshot.Zones;

        // Most queries name a node of ours: one lookup of the whole QNAME finds its zone and node, and for a static
        // type the reply's sections ready to copy. The general path below handles everything else.
        if (_options.PrecompiledAnswers && zones.FindKnown(query.QName) is { } known)
        {
            context.StatsZone = known.Zone.MetricSlot;
            if (!(query.DnssecOk && zones.AnySigned) && known.Find(query.QType) is { } precompiled
                && builder.AddPrecompiled(precompiled.Sections, precompiled.AnswerCount, precompiled.AuthorityCount, precompiled.AdditionalCount))
            {
                return Finish(context, precompiled.Authoritative, truncated: false, precompiled.Rcode, true);
            }

            return Answer(context, zones, known.Zone, known.Node);
        }

        var zone = FindZone(zones, query.NameBuffer, query.LabelOffsets, query.LabelCount, query.QNameLength);
        if (zone is null)
        {
            return Finish(context, false, false, ResponseCode.Refused, true);
        }

        context.StatsZone = zone.MetricSlot;
        return Answer(context, zones, zone);
    }

    /// <summary>
    /// The general path's reply to <paramref name="request"/> (a query without EDNS for a name of <paramref name="zones"/>),
    /// for <see cref="KnownNameCompiler"/>: zone search and walk as for any query, no precompiled reply taken.
    /// </summary>
    internal int AnswerForPrecompile(ReadOnlySpan<byte> request, QueryContext context, ZoneSet zones)
    {
        var query = context.Query;
        if (query.Parse(request) != ParseOutcome.Ok)
        {
            return 0;
        }

        context.Response.Begin(query, request, ushort.MaxValue);
        var zone = FindZone(zones, query.NameBuffer, query.LabelOffsets, query.LabelCount, query.QNameLength);
        return zone is null ? 0 : Answer(context, zones, zone);
    }

    /// <param name="knownNode">The QNAME's node when <see cref="ZoneSet.FindKnown"/> found it: the walk for the first name is skipped.</param>
    private int Answer(QueryContext context, ZoneSet zones, CompiledZone zone, ZoneNode? knownNode = null)
    {
        var query = context.Query;
        var builder = context.Response;
        var qtype = query.QType;

        // The first name is the QNAME, written as pointers; later names (CNAME targets) are written in full or compressed against it.
        ReadOnlySpan<byte> name = query.QName;
        var labelOffsets = query.LabelOffsets;
        var labelCount = query.LabelCount;
        var isQName = true;
        var rcode = ResponseCode.NoError;
        CompiledZone? negativeZone = null;
        ZoneNode? negativeNode = null;

        for (var hop = 0; ; hop++)
        {
            // The signing stage runs for DNSSEC-OK queries in signed zones only; each hop of a CNAME chain asks its own zone.
            var signer = query.DnssecOk ? zone.Signer : null;
            var lookup = hop == 0 && knownNode is not null ? new Lookup(LookupKind.Exact, knownNode) : Walk(zone, name, labelOffsets, labelCount, qtype);
            if (lookup.Kind == LookupKind.Delegation)
            {
                if (!isQName)
                {
                    // A CNAME led out of our authority: the resolver follows it from here.
                    break;
                }

                return Referral(context, zones, lookup.Node!, signer);
            }

            if (lookup.Kind == LookupKind.NxDomain)
            {
                rcode = ResponseCode.NXDomain;
                negativeZone = zone;
                break;
            }

            var node = lookup.Node!;
            var synthesized = lookup.Kind == LookupKind.Wildcard;

            // RFC 1034 3.7.1 and 4.3.2 step 3a: QTYPE ANY matches the CNAME itself, so it is answered, not followed (as BIND and Knot do).
            if (node.Cname is { } cname && qtype is not (RecordType.CNAME or RecordType.ANY))
            {
                if (!WriteRRset(builder, cname, name, isQName) || (signer is not null && !SignStatic(context, signer, cname, node.Name, name, isQName, synthesized)))
                {
                    return Truncate(context);
                }

                var target = cname.Targets[0];
                if (hop + 1 >= MaxCnameHops || WroteOwnerBefore(target, query.QName, context.ChainTargets, hop))
                {
                    break;
                }

                context.ChainTargets[hop] = target;

                var nextZone = FindZone(zones, target, context.LabelScratch, out var targetLabels);
                if (nextZone is null)
                {
                    break;
                }

                zone = nextZone;
                name = target.Wire;
                labelOffsets = context.LabelScratch;
                labelCount = targetLabels;
                isQName = false;
                continue;
            }

            var wrote = WriteAnswerData(context, node, name, isQName, qtype, signer, synthesized);
            if (wrote < 0)
            {
                return Truncate(context);
            }

            if (wrote == 0)
            {
                negativeZone = zone;
                negativeNode = node;
            }
            else
            {
                AddAdditional(context, zones, node, qtype);
            }

            break;
        }

        if (negativeZone is not null)
        {
            builder.StartSection(ResponseBuilder.Section.Authority);
            if (!builder.Add(negativeZone.Origin.Wire, negativeZone.NegativeSoaWire))
            {
                // The answer is known (NXDOMAIN at the end of a CNAME chain, say): the TC reply carries its RCODE.
                return Truncate(context, rcode: rcode);
            }

            if (query.DnssecOk && negativeZone.Signer is { } denier)
            {
                // RFC 9824: the name's own NSEC proves the denial; a name that does not exist is answered NOERROR (NXNAME in the bitmap).
                if (!Deny(context, denier, negativeZone, negativeNode, name, isQName))
                {
                    return Truncate(context);
                }

                rcode = ResponseCode.NoError;
                return Finish(context, authoritative: true, truncated: false, rcode, true, rateClass: ResponseClass.NxDomain);
            }
        }

        return Finish(context, authoritative: true, truncated: false, rcode, true);
    }

    /// <summary>Writes the node's data for qtype; returns records written, 0 for NODATA, -1 when it did not fit.</summary>
    private static int WriteAnswerData(QueryContext context, ZoneNode node, ReadOnlySpan<byte> name, bool isQName, ushort qtype, Dnssec.ZoneSigner? signer, bool synthesized)
    {
        var builder = context.Response;
        var before = builder.AnswerCount;
        var dynamic = node.Dynamic;
        if (qtype == RecordType.ANY)
        {
            // RFC 8482: over UDP one RRset is a complete answer; over TCP, where size is no lever for amplification, give all.
            if (dynamic is not null && dynamic.Serves(RecordType.A))
            {
                if (!WriteDynamic(context, dynamic, RecordType.A, name, isQName, signer))
                {
                    return -1;
                }

                if (!context.OverTcp)
                {
                    return builder.AnswerCount - before;
                }

                if (dynamic.Serves(RecordType.AAAA) && !WriteDynamic(context, dynamic, RecordType.AAAA, name, isQName, signer))
                {
                    return -1;
                }
            }

            foreach (var set in node.RRsets)
            {
                if (dynamic is not null && set.Type is RecordType.A or RecordType.AAAA)
                {
                    continue;
                }

                if (!WriteRRset(builder, set, name, isQName) || (signer is not null && !SignStatic(context, signer, set, node.Name, name, isQName, synthesized)))
                {
                    return -1;
                }

                if (!context.OverTcp)
                {
                    break;
                }
            }

            return builder.AnswerCount - before;
        }

        if (dynamic is not null && dynamic.Serves(qtype))
        {
            if (context.Precompiling)
            {
                // Decided per query: nothing to precompile (the -1 makes it a truncation, which is not kept either).
                context.Varies = true;
                return -1;
            }

            return WriteDynamic(context, dynamic, qtype, name, isQName, signer) ? builder.AnswerCount - before : -1;
        }

        var rrset = node.Find(qtype);
        if (rrset is null)
        {
            return 0;
        }

        if (!WriteRRset(builder, rrset, name, isQName) || (signer is not null && !SignStatic(context, signer, rrset, node.Name, name, isQName, synthesized)))
        {
            return -1;
        }

        return builder.AnswerCount - before;
    }

    private static bool WriteRRset(ResponseBuilder builder, CompiledRRset set, ReadOnlySpan<byte> owner, bool ownerIsQName)
    {
        for (var i = 0; i < set.Count; i++)
        {
            var ok = ownerIsQName ? builder.AddAtQName(set.Record(i)) : builder.Add(owner, set.Record(i));
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 1034 4.3.2 step 3b: NS in authority, glue in additional, AA clear.</summary>
    private int Referral(QueryContext context, ZoneSet zones, ZoneNode cut, Dnssec.ZoneSigner? signer)
    {
        var builder = context.Response;
        builder.StartSection(ResponseBuilder.Section.Authority);
        var ns = cut.Find(RecordType.NS)!;
        if (!WriteRRset(builder, ns, cut.Name.Wire, false))
        {
            return Truncate(context, authoritative: false);
        }

        // RFC 4035 3.1.4: the DS RRset and its signature, or the proof there is none; NS and glue stay unsigned (the child's).
        if (signer is not null && !SignReferral(context, signer, cut))
        {
            return Truncate(context, authoritative: false);
        }

        builder.StartSection(ResponseBuilder.Section.Additional);
        if (!AddAddresses(context, zones, ns.Targets, signed: false, requiredBelow: cut.Name))
        {
            // RFC 9471: glue of name servers inside the delegated zone is not optional; without all of it, send the resolver to TCP.
            return Truncate(context, authoritative: false);
        }

        return Finish(context, authoritative: false, truncated: false, ResponseCode.NoError, true);
    }

    /// <summary>A/AAAA for the hosts named by NS, MX and SRV answers, from our own data; optional, so whatever does not fit is left out without TC.</summary>
    private static void AddAdditional(QueryContext context, ZoneSet zones, ZoneNode node, ushort qtype)
    {
        if (qtype is not (RecordType.NS or RecordType.MX or RecordType.SRV))
        {
            return;
        }

        var set = node.Find(qtype);
        if (set is null || set.Targets.Length == 0)
        {
            return;
        }

        context.Response.StartSection(ResponseBuilder.Section.Additional);
        AddAddresses(context, zones, set.Targets, signed: context.Query.DnssecOk);
    }

    /// <summary>
    /// Adds the A/AAAA RRsets of <paramref name="targets"/> that fit, each whole or not at all (RFC 2181 9). Returns false
    /// when one that had to fit did not: an address of a name at or below <paramref name="requiredBelow"/> (in-domain glue).
    /// </summary>
    private static bool AddAddresses(QueryContext context, ZoneSet zones, DnsName[] targets, bool signed, DnsName? requiredBelow = null)
    {
        var builder = context.Response;
        Span<int> offsets = stackalloc int[DnsQuery.MaxLabels];
        for (var t = 0; t < targets.Length; t++)
        {
            var target = targets[t];
            var duplicate = false;
            for (var p = 0; p < t; p++)
            {
                duplicate |= targets[p] == target;
            }

            if (duplicate)
            {
                continue;
            }

            var zone = FindZone(zones, target, offsets, out _);
            var node = zone?.Find(target.Wire);
            if (node is null)
            {
                continue;
            }

            foreach (var set in node.RRsets)
            {
                if (set.Type is not (RecordType.A or RecordType.AAAA))
                {
                    continue;
                }

                var mark = builder.Save();
                var signer = signed ? zone!.Signer : null;
                if (!WriteRRset(builder, set, target.Wire, false) || (signer is not null && !SignStatic(context, signer, set, node.Name, target.Wire, false, synthesized: false)))
                {
                    builder.Restore(mark);
                    if (requiredBelow is not null && target.IsAtOrBelow(requiredBelow))
                    {
                        return false;
                    }
                }
            }
        }

        return true;
    }

    private enum LookupKind
    {
        Exact,
        Wildcard,
        NxDomain,
        Delegation,
    }

    private readonly record struct Lookup(LookupKind Kind, ZoneNode? Node);

    /// <summary>Walks from the apex down to the name, one label at a time, stopping at a zone cut or the first missing name.</summary>
    private static Lookup Walk(CompiledZone zone, ReadOnlySpan<byte> name, ReadOnlySpan<int> labelOffsets, int labelCount, ushort qtype)
    {
        var apexLabels = zone.Origin.LabelCount;
        ZoneNode? encloser = null;
        for (var depth = apexLabels; depth <= labelCount; depth++)
        {
            var skip = labelCount - depth;
            var suffix = skip == labelCount ? name[^1..] : name[labelOffsets[skip]..];
            var node = zone.Find(suffix);
            if (node is null)
            {
                return WildcardOrNx(zone, encloser!);
            }

            if (node.IsDelegation && !(depth == labelCount && qtype == RecordType.DS))
            {
                return new Lookup(LookupKind.Delegation, node);
            }

            encloser = node;
        }

        return new Lookup(LookupKind.Exact, encloser);
    }

    /// <summary>RFC 4592 3.3.1: the source of synthesis is '*' directly below the closest encloser.</summary>
    private static Lookup WildcardOrNx(CompiledZone zone, ZoneNode closestEncloser)
    {
        Span<byte> key = stackalloc byte[DnsName.MaxWireLength + 2];
        var encloser = closestEncloser.Name.Wire;
        if (encloser.Length + 2 <= DnsName.MaxWireLength)
        {
            WildcardLabel.CopyTo(key);
            encloser.CopyTo(key[2..]);
            var wildcard = zone.Find(key[..(encloser.Length + 2)]);
            if (wildcard is not null)
            {
                return new Lookup(LookupKind.Wildcard, wildcard);
            }
        }

        return new Lookup(LookupKind.NxDomain, null);
    }

    private static CompiledZone? FindZone(ZoneSet zones, byte[] nameBuffer, int[] labelOffsets, int labelCount, int nameLength)
    {
        for (var skip = 0; skip < labelCount; skip++)
        {
            var zone = zones.FindExact(nameBuffer.AsSpan(labelOffsets[skip], nameLength - labelOffsets[skip]));
            if (zone is not null)
            {
                return zone;
            }
        }

        return zones.FindExact(nameBuffer.AsSpan(nameLength - 1, 1));
    }

    private static CompiledZone? FindZone(ZoneSet zones, DnsName name, Span<int> labelOffsets, out int labelCount)
    {
        var wire = name.Wire;
        labelCount = 0;
        var i = 0;
        while (wire[i] != 0)
        {
            labelOffsets[labelCount++] = i;
            i += wire[i] + 1;
        }

        for (var skip = 0; skip < labelCount; skip++)
        {
            var zone = zones.FindExact(wire[labelOffsets[skip]..]);
            if (zone is not null)
            {
                return zone;
            }
        }

        return zones.FindExact(wire[^1..]);
    }

    /// <summary>A loop (a -> b -> a): the target is the QNAME or a name this chain already answered for.</summary>
    private static bool WroteOwnerBefore(DnsName target, ReadOnlySpan<byte> qname, DnsName?[] chain, int hops)
    {
        if (target.Wire.SequenceEqual(qname))
        {
            return true;
        }

        for (var i = 0; i < hops; i++)
        {
            if (chain[i] == target)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// RFC 2181 9: TC tells the client to retry over TCP; a partial RRset would mislead a cache, so the sections go
    /// empty. The header stays the answer's: its AA and, once the lookup has decided it, its RCODE (a resolver that
    /// does not retry still learns the name does not exist; Knot keeps the RCODE too, though it leaves the SOA out
    /// of such an NXDOMAIN instead of setting TC).
    /// </summary>
    private int Truncate(QueryContext context, bool authoritative = true, int rcode = ResponseCode.NoError)
    {
        context.Response.ClearRecords();
        context.Counters.Truncated++;
        return Finish(context, authoritative, truncated: true, rcode, true);
    }

    private int AnswerChaos(QueryContext context)
    {
        var query = context.Query;
        var builder = context.Response;
        byte[]? txt = null;
        if (query.QType is RecordType.TXT or RecordType.ANY)
        {
            var qname = Encoding.ASCII.GetString(query.QName);
            txt = qname switch
            {
                "\u0007version\u0004bind\0" or "\u0007version\u0006server\0" => _versionTxt,
                "\u0008hostname\u0004bind\0" or "\u0002id\u0006server\0" => _identityTxt,
                _ => null,
            };
        }

        if (txt is null)
        {
            return Finish(context, false, false, ResponseCode.Refused, true);
        }

        var rdata = builder.BeginRecordAtQName(txt.Length, RecordType.TXT, RecordClass.CH, 0);
        if (rdata.IsEmpty)
        {
            return Truncate(context);
        }

        txt.CopyTo(rdata);
        return Finish(context, true, false, ResponseCode.NoError, true);
    }

    /// <summary>
    /// RFC 7873 5.2: checks the query's server cookie and prepares the one the reply carries (the same one while it is
    /// fresh, else a new one); returns the bytes the reply's COOKIE option needs, 0 when it has none.
    /// </summary>
    private int PrepareCookie(QueryContext context)
    {
        var query = context.Query;
        if (!query.HasCookie || _cookies is null)
        {
            return 0;
        }

        var now = (uint)context.Time.GetUtcNow().ToUnixTimeSeconds();
        var option = query.Cookie;
        context.Cookie = _cookies.Check(option, context.SourceAddress, context.SourceIsIPv6, now, out var reuse);
        var reply = context.CookieReply.AsSpan();
        option[..ServerCookies.ClientCookieLength].CopyTo(reply);
        if (reuse)
        {
            option.Slice(ServerCookies.ClientCookieLength, ServerCookies.ServerCookieLength).CopyTo(reply[ServerCookies.ClientCookieLength..]);
        }
        else
        {
            _cookies.Write(reply[ServerCookies.ClientCookieLength..], option, context.SourceAddress, context.SourceIsIPv6, now);
        }

        if (context.Cookie == CookieVerdict.Valid)
        {
            context.Counters.ValidCookies++;
        }

        return reply.Length;
    }

    /// <param name="rateClass">
    /// How rate limiting counts the reply when its RCODE does not say: a compact denial (RFC 9824) is NOERROR on the
    /// wire but denies a name, so a random-subdomain flood with DO set is still held to the NXDOMAIN rate.
    /// </param>
    private int Finish(QueryContext context, bool authoritative, bool truncated, int rcode, bool withOpt, ResponseClass? rateClass = null)
    {
        var query = context.Query;
        var builder = context.Response;

        // Rate limiting decides on the finished reply (its RCODE), in the one place every UDP loop goes through. TCP
        // cannot be spoofed, and a valid server cookie proves the source address, so neither is limited.
        if (_limiter is not null && !context.OverTcp && context.Cookie != CookieVerdict.Valid)
        {
            switch (_limiter.Check(context.SourceAddress, context.SourceIsIPv6, rateClass ?? ResponseRateLimiter.Classify(rcode), query.QName, query.QType))
            {
                case RateLimitVerdict.Drop:
                    context.Counters.RateLimited++;
                    return 0;
                case RateLimitVerdict.Slip:
                    context.Counters.Slipped++;
                    builder.ClearRecords();
                    authoritative = false;
                    if (withOpt && context.Cookie != CookieVerdict.None)
                    {
                        // A client that speaks cookies gets BADCOOKIE with a fresh cookie (as BIND does): its retry over UDP carries it and is exempt.
                        rcode = ResponseCode.BadCookie;
                    }
                    else
                    {
                        truncated = true;
                    }

                    break;
            }
        }

        if (withOpt && query.HasEdns)
        {
            var nsidLength = query.NsidRequested ? _nsid.Length : 0;
            ClientSubnet? subnet = query.HasClientSubnet ? query.ClientSubnet : null;
            ReadOnlySpan<byte> cookie = context.Cookie == CookieVerdict.None ? default : context.CookieReply;
            builder.Release(ResponseBuilder.OptSize(nsidLength, subnet, cookie.Length));
            builder.StartSection(ResponseBuilder.Section.Additional);
            builder.WriteOpt(_options.MaxUdpPayload, rcode, query.DnssecOk, query.NsidRequested ? _nsid : [], subnet, subnet is { SourcePrefix: 0 } ? (byte)0 : context.EcsScope, cookie);
        }

        context.Counters.ByRcode[rcode]++;
        context.StatsRcode = rcode;

        // RD and CD are defined for QUERY only (RFC 6895 2, RFC 4035 3.1.6; UPDATE and NOTIFY have zero bits there), so
        // a reply to another opcode copies neither: ISC's genreport reports an echoed one as opcodeflg=rd or =cd.
        var isQuery = query.Opcode == 0;
        return builder.Finish(query.Id, query.Opcode, authoritative, truncated, query.RecursionDesired && isQuery, query.CheckingDisabled && isQuery, rcode);
    }

    private static byte[] TxtRdata(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var length = Math.Min(bytes.Length, 255);
        var rdata = new byte[length + 1];
        rdata[0] = (byte)length;
        bytes.AsSpan(0, length).CopyTo(rdata.AsSpan(1));
        return rdata;
    }
}
