using System.Net;
using DnsClient;

namespace GslbDns.Probing;

/// <summary>
/// A DNS check: asks the endpoint (address and port) for <c>queryName</c> type A over UDP, with TCP on
/// truncation; passes on NOERROR with at least one answer record. NXDOMAIN, REFUSED, SERVFAIL or an empty
/// answer fail: a server that answers but has lost its data is not healthy.
/// </summary>
public sealed class DnsCheck : IEndpointCheck
{
    // Name servers are given per query, so one client serves every endpoint; the resolver list is never read.
    private readonly LookupClient _client = new(new LookupClientOptions(IPAddress.Loopback) { UseCache = false });

    public async ValueTask<ProbeResult> CheckAsync(ProbeTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var check = target.Check;
        var name = check.QueryName ?? throw new InvalidOperationException($"dns check of {target.EndpointId} has no queryName");
        var options = new DnsQueryOptions
        {
            UseCache = false,

            // The runner's timeout and the endpoint's streak are the retries; DnsClient's own would hide a lost answer.
            Retries = 0,
            Timeout = check.Timeout,
            ThrowDnsErrors = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
            UseTcpFallback = true,
        };
        var response = await _client.QueryServerAsync(
            [new NameServer(target.Address, check.Port)],
            new DnsQuestion(name, QueryType.A),
            options,
            cancellationToken);
        var rcode = response.Header.ResponseCode;
        if (rcode != DnsHeaderResponseCode.NoError)
        {
            return ProbeResult.Fail($"DNS {rcode} for {name}", ProbeReasons.DnsRcode);
        }

        return response.Answers.Count > 0 ? ProbeResult.Ok : ProbeResult.Fail($"DNS NOERROR without an answer for {name}", ProbeReasons.DnsNoAnswer);
    }
}
