using System.Buffers.Binary;
using GslbDns.Dns;

namespace GslbDns.Query;

/// <summary>
/// A reply to one name and type that never changes while its snapshot serves: the answer, authority and additional
/// sections exactly as the general path writes them for a query without EDNS, with every owner a compression pointer
/// into the question at offset 12 (its label offsets are those of any spelling of the name, whatever its case). A query
/// copies them after the question it echoes; the header, the counts and the OPT record are its own.
/// </summary>
public sealed class PrecompiledAnswer(ushort type, byte[] sections, int answerCount, int authorityCount, int additionalCount, bool authoritative, int rcode)
{
    public ushort Type { get; } = type;

    public byte[] Sections { get; } = sections;

    public int AnswerCount { get; } = answerCount;

    public int AuthorityCount { get; } = authorityCount;

    public int AdditionalCount { get; } = additionalCount;

    public bool Authoritative { get; } = authoritative;

    public int Rcode { get; } = rcode;
}

/// <summary>
/// A name our zones hold, found with one lookup of the whole QNAME instead of a zone search and a walk down from the
/// apex: the zone that answers it (the most specific one, as the zone search picks), its node, which no zone cut is at
/// or above (so the walk would end at it for every type), and the precompiled replies of its static types.
/// </summary>
public sealed class KnownName(CompiledZone zone, ZoneNode node, PrecompiledAnswer[] answers)
{
    public CompiledZone Zone { get; } = zone;

    public ZoneNode Node { get; } = node;

    public PrecompiledAnswer[] Answers { get; } = answers;

    public PrecompiledAnswer? Find(ushort qtype)
    {
        foreach (var answer in Answers)
        {
            if (answer.Type == qtype)
            {
                return answer;
            }
        }

        return null;
    }
}

/// <summary>
/// Builds the <see cref="KnownName"/> of every node of a zone set (Knot's idea of pre-encoded answers). Each reply is
/// made by the query engine itself, answering a synthetic query without EDNS, so it is the general path's reply byte
/// for byte; it is kept only when nothing in it depends on the query: no load-balanced answer anywhere in it (a CNAME
/// chain may lead to one), not truncated. Which types: those the node holds, and for a CNAME node also A and AAAA (the
/// chain it starts). What still depends on the query, the engine decides at query time: DNSSEC-OK with a signed zone
/// in the set, a reply that does not fit the client's size, rate limiting, EDNS options and cookies.
/// </summary>
internal static class KnownNameCompiler
{
    public static Dictionary<byte[], KnownName> Compile(ZoneSet zones)
    {
        var names = new Dictionary<byte[], KnownName>(WireNameComparer.Instance);
        var byWire = names.GetAlternateLookup<ReadOnlySpan<byte>>();
        var engine = new QueryEngine(new SnapshotHolder(ServerSnapshot.Empty), new QueryEngineOptions());
        var context = new QueryContext(ushort.MaxValue) { Precompiling = true };
        var packet = new byte[ResponseBuilder.HeaderLength + DnsName.MaxWireLength + 4];
        var answers = new List<PrecompiledAnswer>();
        foreach (var zone in zones.Zones)
        {
            foreach (var (key, node) in zone.Nodes)
            {
                var wire = node.Name.Wire;
                if (byWire.ContainsKey(wire) || !ReferenceEquals(zones.FindZoneOf(wire), zone) || zone.IsAtOrBelowCut(node.Name))
                {
                    continue;
                }

                answers.Clear();
                foreach (var type in TypesOf(node))
                {
                    if (Precompile(engine, context, zones, packet, wire, type) is { } answer)
                    {
                        answers.Add(answer);
                    }
                }

                names[key] = new KnownName(zone, node, answers.Count == 0 ? [] : [.. answers]);
            }
        }

        return names;
    }

    private static IEnumerable<ushort> TypesOf(ZoneNode node)
    {
        foreach (var set in node.RRsets)
        {
            yield return set.Type;
        }

        if (node.Cname is not null)
        {
            yield return RecordType.A;
            yield return RecordType.AAAA;
        }
    }

    private static PrecompiledAnswer? Precompile(QueryEngine engine, QueryContext context, ZoneSet zones, byte[] packet, ReadOnlySpan<byte> name, ushort type)
    {
        packet.AsSpan(0, ResponseBuilder.HeaderLength).Clear();
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), 1);
        name.CopyTo(packet.AsSpan(ResponseBuilder.HeaderLength));
        var end = ResponseBuilder.HeaderLength + name.Length;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(end), type);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(end + 2), RecordClass.IN);
        end += 4;

        context.Varies = false;
        var length = engine.AnswerForPrecompile(packet.AsSpan(0, end), context, zones);
        var reply = context.Response.Buffer.AsSpan(0, length);
        if (context.Varies || length < end || (reply[2] & 0x02) != 0)
        {
            return null;
        }

        return new PrecompiledAnswer(
            type,
            reply[end..].ToArray(),
            BinaryPrimitives.ReadUInt16BigEndian(reply[6..]),
            BinaryPrimitives.ReadUInt16BigEndian(reply[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(reply[10..]),
            authoritative: (reply[2] & 0x04) != 0,
            rcode: reply[3] & 0x0F);
    }
}
