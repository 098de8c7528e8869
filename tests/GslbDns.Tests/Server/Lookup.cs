using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace GslbDns.Tests.Server;

/// <summary>DnsClient set up as the tests need it: no cache, one explicit server, errors returned rather than thrown.</summary>
internal static class Lookup
{
    public static LookupClient Client(IPEndPoint server, bool recursion = false, bool tcpOnly = false, bool tcpFallback = true, int bufferSize = 4096)
        => new(new LookupClientOptions(new NameServer(server))
        {
            UseCache = false,
            Recursion = recursion,
            Retries = 1,
            Timeout = TimeSpan.FromSeconds(3),
            ThrowDnsErrors = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
            UseTcpFallback = tcpFallback,
            UseTcpOnly = tcpOnly,
            ExtendedDnsBufferSize = bufferSize,
        });

    public static Task<IDnsQueryResponse> QueryAsync(IPEndPoint server, string name, QueryType type, bool recursion = false, bool tcpOnly = false)
        => Client(server, recursion, tcpOnly).QueryAsync(name, type);

    /// <summary>Records of a section other than OPT, which DnsClient lists with the additional records.</summary>
    public static List<DnsResourceRecord> Plain(this IEnumerable<DnsResourceRecord> records)
        => records.Where(r => r.RecordType != ResourceRecordType.OPT).ToList();

    public static string Describe(this IDnsQueryResponse response)
    {
        var lines = new List<string> { $"{response.Header} (from {response.NameServer})" };
        lines.AddRange(response.Answers.Select(r => $"AN {r}"));
        lines.AddRange(response.Authorities.Select(r => $"NS {r}"));
        lines.AddRange(response.Additionals.Select(r => $"AR {r}"));
        return string.Join('\n', lines);
    }
}
