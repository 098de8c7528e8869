using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Gslb;
using GslbDns.Query;

namespace GslbDns.Answers;

/// <summary>One record of an explained answer, in presentation form.</summary>
public sealed record ExplainedRecord(string Section, string Owner, string Type, uint Ttl, string Data);

/// <summary>The answer to a query and why: who the client is taken to be, and what each policy step kept.</summary>
public sealed record Explanation(
    string Name,
    string Type,
    string Client,
    string Rcode,
    GeoLocation? Location,
    string? LocationSource,
    int EcsScope,
    IReadOnlyList<TraceStep> Steps,
    IReadOnlyList<ExplainedRecord> Records);

/// <summary>
/// Explains a decision by running the real query engine on a synthetic query carrying the client as
/// an EDNS Client Subnet, with tracing switched on. The DNS path, explain and drills therefore share
/// one decision engine and can never disagree.
/// </summary>
public sealed class Explainer
{
    private readonly QueryEngine _engine;

    public Explainer(QueryEngine engine)
    {
        _engine = engine;
    }

    /// <summary>Parses a client as explain takes it: <c>ADDR</c> (full length) or <c>ADDR/PREFIX</c>.</summary>
    public static bool TryParseClient(string text, out IPAddress address, out int prefix)
    {
        prefix = -1;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out address!))
        {
            return false;
        }

        var max = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (slash < 0)
        {
            prefix = max;
            return true;
        }

        return int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out prefix) && prefix >= 0 && prefix <= max;
    }

    public Explanation Explain(DnsName name, ushort qtype, IPAddress clientAddress, int prefixLength, TimeProvider? time = null)
    {
        var isIPv6 = clientAddress.AddressFamily == AddressFamily.InterNetworkV6;
        var maxBits = isIPv6 ? 128 : 32;
        if (prefixLength < 0 || prefixLength > maxBits)
        {
            throw new ArgumentOutOfRangeException(nameof(prefixLength), $"prefix must be 0..{maxBits}");
        }

        var request = BuildQuery(name, qtype, clientAddress, prefixLength);
        var context = new QueryContext(ushort.MaxValue) { OverTcp = true, Time = time ?? TimeProvider.System };
        context.Selection.Trace = new SelectionTrace();
        Span<byte> bytes = stackalloc byte[16];
        clientAddress.TryWriteBytes(bytes, out var written);
        context.SourceIsIPv6 = isIPv6;
        context.SourceAddress = written == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt128BigEndian(bytes);
        var length = _engine.Process(request, context);
        var reply = context.Response.Buffer.AsSpan(0, length).ToArray();
        var message = ARSoft.Tools.Net.Dns.DnsMessage.Parse(reply);
        var records = new List<ExplainedRecord>();
        Add(records, "answer", message.AnswerRecords);
        Add(records, "authority", message.AuthorityRecords);
        Add(records, "additional", message.AdditionalRecords.Where(r => r.RecordType != ARSoft.Tools.Net.Dns.RecordType.Opt));

        var usedSelection = context.Selection.Trace.Steps.Count > 0;
        var location = usedSelection ? context.Selection.Location : default;
        return new Explanation(
            name.ToString(),
            RecordType.ToText(qtype),
            $"{clientAddress}/{prefixLength}",
            message.ReturnCode.ToString().ToUpperInvariant(),
            usedSelection ? location.Location : null,
            usedSelection ? location.Source.ToString() : null,
            context.EcsScope,
            context.Selection.Trace.Steps,
            records);
    }

    private static void Add(List<ExplainedRecord> records, string section, IEnumerable<ARSoft.Tools.Net.Dns.DnsRecordBase> source)
    {
        foreach (var record in source)
        {
            var text = record.ToString();

            // ARSoft prints "owner ttl class type rdata"; keep just the RDATA part.
            var parts = text.Split(' ', 5, StringSplitOptions.RemoveEmptyEntries);
            records.Add(new ExplainedRecord(section, record.Name.ToString(), record.RecordType.ToString().ToUpperInvariant(), (uint)record.TimeToLive, parts.Length == 5 ? parts[4] : text));
        }
    }

    /// <summary>A plain EDNS query with the client as ECS (RFC 7871 6): address truncated to the prefix.</summary>
    public static byte[] BuildQuery(DnsName name, ushort qtype, IPAddress clientAddress, int prefixLength, ushort id = 0x4558)
    {
        var address = clientAddress.GetAddressBytes();
        var addressLength = (prefixLength + 7) / 8;
        var packet = new byte[12 + name.WireLength + 4 + 11 + 8 + addressLength];
        var span = packet.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, id);
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(span[10..], 1);
        var pos = 12;
        pos += name.WriteTo(span[pos..]);
        BinaryPrimitives.WriteUInt16BigEndian(span[pos..], qtype);
        BinaryPrimitives.WriteUInt16BigEndian(span[(pos + 2)..], RecordClass.IN);
        pos += 4;
        span[pos] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(span[(pos + 1)..], RecordType.OPT);
        BinaryPrimitives.WriteUInt16BigEndian(span[(pos + 3)..], 1232);
        BinaryPrimitives.WriteUInt16BigEndian(span[(pos + 9)..], (ushort)(8 + addressLength));
        pos += 11;
        BinaryPrimitives.WriteUInt16BigEndian(span[pos..], Wire.EdnsOption.ClientSubnet);
        BinaryPrimitives.WriteUInt16BigEndian(span[(pos + 2)..], (ushort)(4 + addressLength));
        BinaryPrimitives.WriteUInt16BigEndian(span[(pos + 4)..], (ushort)(address.Length == 4 ? 1 : 2));
        span[pos + 6] = (byte)prefixLength;
        span[pos + 7] = 0;
        address.AsSpan(0, addressLength).CopyTo(span[(pos + 8)..]);
        if (prefixLength % 8 != 0)
        {
            span[pos + 8 + addressLength - 1] &= (byte)(0xFF << (8 - (prefixLength % 8)));
        }

        return packet;
    }
}
