using GslbDns.Dns;
using GslbDns.Query;
using GslbDns.Wire;

namespace GslbDns.Fuzz;

/// <summary>
/// Every invariant of one query and its replies, one over UDP and one over TCP, as the engine built them:
/// nothing but an empty reply for what must be dropped; the reply within the size the client allowed; it decodes
/// strictly (<see cref="ReplyDecoder"/>) and with ARSoft.Tools.Net to the counts in its header; ID, opcode and
/// question echoed octet for octet; OPT exactly when the query had a usable one; answers that form a chain from the
/// QNAME; TC only when the full answer does not fit; and without TC the same answer over UDP as over TCP.
/// </summary>
public static class ReplyChecks
{
    /// <summary>What the server may send over TCP: one length-prefixed message (RFC 1035 4.2.2).</summary>
    public const int TcpLimit = ushort.MaxValue;

    public static void CheckPair(ReadOnlySpan<byte> request, ReadOnlySpan<byte> udpReply, ReadOnlySpan<byte> tcpReply, ushort maxUdpPayload)
    {
        // The parser's own view decides the limit the client asked for and whether a question and an OPT were readable.
        var query = new DnsQuery();
        var outcome = query.Parse(request);
        var mustDrop = request.Length < 12 || (request[2] & 0x80) != 0;
        Check.That(mustDrop == (outcome == ParseOutcome.Drop), $"parser says {outcome} for a {request.Length}-octet packet with QR={(request.Length > 2 ? request[2] >> 7 : -1)}");
        if (mustDrop)
        {
            Check.That(udpReply.IsEmpty && tcpReply.IsEmpty, "a packet that must be dropped got a reply");
            return;
        }

        var udpLimit = outcome == ParseOutcome.Ok && query.HasEdns ? Math.Clamp(query.EdnsUdpSize, 512, (int)maxUdpPayload) : 512;
        var udp = CheckOne(request, udpReply, query, outcome, udpLimit, "UDP");
        var tcp = CheckOne(request, tcpReply, query, outcome, TcpLimit, "TCP");

        Check.That(!tcp.Truncated, "TC over TCP (no answer here comes near 64 KiB)");
        if (udp.Truncated)
        {
            Check.That(tcpReply.Length > udpLimit, $"TC over UDP, yet the full reply ({tcpReply.Length} octets over TCP) fits the {udpLimit}-octet limit");
        }
        else if (query.QType != RecordType.ANY)
        {
            // RFC 8482 lets ANY give one RRset over UDP and all over TCP; any other answer is the same on both.
            Check.That(udp.Rcode == tcp.Rcode, $"RCODE {udp.Rcode} over UDP, {tcp.Rcode} over TCP");
            Check.That(udp.Answers.Count == tcp.Answers.Count, $"{udp.Answers.Count} answers over UDP, {tcp.Answers.Count} over TCP, without TC");
            Check.That(udp.Authority.Count == tcp.Authority.Count, $"{udp.Authority.Count} authority records over UDP, {tcp.Authority.Count} over TCP, without TC");
        }
    }

    private static DecodedReply CheckOne(ReadOnlySpan<byte> request, ReadOnlySpan<byte> reply, DnsQuery query, ParseOutcome outcome, int limit, string transport)
    {
        Check.That(!reply.IsEmpty, $"{transport}: no reply to a query that has a readable header");
        Check.That(reply.Length <= limit, $"{transport}: reply of {reply.Length} octets over the {limit}-octet limit");
        var decoded = ReplyDecoder.Decode(reply);
        CrossCheckWithArSoft(reply, decoded, transport);

        Check.That(decoded.Id == query.Id, $"{transport}: ID {decoded.Id} does not echo {query.Id}");
        Check.That((decoded.Flags & 0x8000) != 0, $"{transport}: QR not set");
        Check.That(decoded.Opcode == query.Opcode, $"{transport}: opcode {decoded.Opcode} does not echo {query.Opcode}");
        if (query.HasQuestion)
        {
            Check.That(decoded.QuestionCount == 1, $"{transport}: the question was not echoed");
            Check.That(reply[12..query.QuestionEnd].SequenceEqual(request[12..query.QuestionEnd]), $"{transport}: the question is not echoed octet for octet");
        }
        else
        {
            Check.That(decoded.QuestionCount == 0, $"{transport}: a question in the reply to a query without a readable one");
        }

        // RFC 6891 7: no OPT in a reply to a query without one, nor in FORMERR (the OPT may be what was wrong); one otherwise.
        var wantOpt = outcome == ParseOutcome.Ok && query.HasEdns;
        Check.That(decoded.OptCount == (wantOpt ? 1 : 0), $"{transport}: {decoded.OptCount} OPT records, expected {(wantOpt ? 1 : 0)}");
        if (decoded.Truncated)
        {
            Check.That(transport == "UDP", "TC set over TCP");
        }

        Check.That(decoded.MaxTtl <= int.MaxValue, $"{transport}: a TTL of {decoded.MaxTtl} (RFC 2181 8: at most 2^31 - 1)");
        if (decoded.OptCount == 1)
        {
            CheckEdnsEcho(decoded, query, transport);
        }

        if (query.HasQuestion)
        {
            CheckAnswerChain(decoded, query, transport);
        }

        return decoded;
    }

    /// <summary>
    /// The reply's OPT: version 0; the client subnet echoed with its family, source prefix and address (RFC 7871 7.2.1);
    /// NSID when asked for (RFC 5001); the client cookie echoed in the first 8 octets of the COOKIE (RFC 7873 5.2).
    /// </summary>
    private static void CheckEdnsEcho(DecodedReply reply, DnsQuery query, string transport)
    {
        Check.That(reply.EdnsVersion == 0, $"{transport}: OPT of EDNS version {reply.EdnsVersion}");
        if (query.EdnsVersion != 0)
        {
            // BADVERS (RFC 6891 6.1.3): what else the OPT carries is the server's choice.
            return;
        }

        var ecs = reply.EdnsOptions.FindAll(o => o.Code == EdnsOption.ClientSubnet);
        Check.That(ecs.Count <= 1, $"{transport}: {ecs.Count} client subnet options");
        if (query.HasClientSubnet)
        {
            Check.That(ecs.Count == 1, $"{transport}: the client subnet option was not echoed");
            var data = ecs[0].Data;
            var subnet = query.ClientSubnet;
            Check.That(data.Length >= 4 && System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(data) == subnet.Family && data[2] == subnet.SourcePrefix,
                $"{transport}: client subnet echoed as {Convert.ToHexString(data)}, asked for family {subnet.Family} /{subnet.SourcePrefix}");
            Span<byte> address = stackalloc byte[16];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(address, subnet.Address);
            var addressLength = (subnet.SourcePrefix + 7) / 8;
            Check.That(data.Length == 4 + addressLength && data.AsSpan(4).SequenceEqual(address[..addressLength]), $"{transport}: client subnet address echoed as {Convert.ToHexString(data)}");
            Check.That(data[3] <= subnet.AddressBits, $"{transport}: client subnet scope /{data[3]} longer than the address");
        }
        else
        {
            Check.That(ecs.Count == 0, $"{transport}: a client subnet option in the reply to a query without one");
        }

        var nsid = reply.EdnsOptions.FindAll(o => o.Code == EdnsOption.Nsid);
        Check.That(nsid.Count == (query.NsidRequested ? 1 : 0), $"{transport}: {nsid.Count} NSID options, NSID {(query.NsidRequested ? "asked for" : "not asked for")}");
        var cookies = reply.EdnsOptions.FindAll(o => o.Code == EdnsOption.Cookie);
        Check.That(cookies.Count <= 1, $"{transport}: {cookies.Count} COOKIE options");
        if (query.HasCookie)
        {
            Check.That(cookies.Count == 1, $"{transport}: the client cookie was not answered");
            Check.That(cookies[0].Data.Length == 24 && cookies[0].Data.AsSpan(0, 8).SequenceEqual(query.Cookie[..8]), $"{transport}: COOKIE {Convert.ToHexString(cookies[0].Data)} does not echo the client cookie {Convert.ToHexString(query.Cookie)}");
        }
        else
        {
            Check.That(cookies.Count == 0, $"{transport}: a COOKIE option in the reply to a query without one");
        }
    }

    /// <summary>RFC 1034 4.3.2: each answer is owned by the QNAME or by a name a CNAME before it pointed to, and has the asked type (or CNAME).</summary>
    private static void CheckAnswerChain(DecodedReply reply, DnsQuery query, string transport)
    {
        var owners = new List<byte[]> { query.QName.ToArray() };
        foreach (var answer in reply.Answers)
        {
            Check.That(owners.Exists(o => o.AsSpan().SequenceEqual(answer.Owner)), $"{transport}: answer owned by {DnsName.WireToText(answer.Owner)}, which is neither the QNAME nor a CNAME target before it");
            Check.That(answer.Type == query.QType || query.QType == RecordType.ANY || answer.Type == RecordType.CNAME, $"{transport}: type {answer.Type} answer to a type {query.QType} question");
            if (answer.Type == RecordType.CNAME && answer.TargetName is { } target)
            {
                owners.Add(target);
            }
        }
    }

    private static bool HasLongestName(DecodedReply decoded) =>
        decoded.QuestionName?.Length == DnsName.MaxWireLength
        || decoded.Answers.Concat(decoded.Authority).Concat(decoded.Additional).Any(r => r.Owner.Length == DnsName.MaxWireLength || r.TargetName?.Length == DnsName.MaxWireLength);

    private static void CrossCheckWithArSoft(ReadOnlySpan<byte> reply, DecodedReply decoded, string transport)
    {
        // ARSoft.Tools.Net refuses a name of exactly 255 octets ("Domain name could not be parsed"), which RFC 1035
        // 3.1 allows and our strict decoder, dig and kdig read (found by the query target: a QNAME of 127 one-octet
        // labels). Such a reply is checked by the strict decoder alone.
        if (HasLongestName(decoded))
        {
            return;
        }

        ARSoft.Tools.Net.Dns.DnsMessage message;
        try
        {
            message = ARSoft.Tools.Net.Dns.DnsMessage.Parse(reply.ToArray());
        }
        catch (Exception ex)
        {
            throw new InvariantViolationException($"{transport}: ARSoft.Tools.Net cannot parse the reply", ex);
        }

        Check.That(message.TransactionID == decoded.Id, $"{transport}: ARSoft reads ID {message.TransactionID}");
        Check.That(message.Questions.Count == decoded.QuestionCount, $"{transport}: ARSoft reads {message.Questions.Count} questions");
        Check.That(message.AnswerRecords.Count == decoded.Answers.Count, $"{transport}: ARSoft reads {message.AnswerRecords.Count} answers, the header says {decoded.Answers.Count}");
        Check.That(message.AuthorityRecords.Count == decoded.Authority.Count, $"{transport}: ARSoft reads {message.AuthorityRecords.Count} authority records, the header says {decoded.Authority.Count}");
        Check.That(message.AdditionalRecords.Count == decoded.Additional.Count, $"{transport}: ARSoft reads {message.AdditionalRecords.Count} additional records (OPT among them), the header says {decoded.Additional.Count}");
        Check.That(message.IsEDnsEnabled == (decoded.OptCount == 1), $"{transport}: ARSoft and the header disagree on EDNS");
    }
}
