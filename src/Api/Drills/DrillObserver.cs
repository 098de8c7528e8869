using System.Net;
using System.Net.Sockets;
using GslbDns.Dns;
using GslbDns.Answers;
using GslbDns.Gslb;
using GslbDns.Query;

namespace GslbDns.Api.Drills;

/// <summary>
/// Asks authoritative servers what they answer, as a client would: a UDP query per name, type and client
/// subnet, with the subnet in an EDNS Client Subnet option (RFC 7871). The query is
/// <see cref="Explainer.BuildQuery"/>'s (DnsClient 1.8 cannot attach an ECS option), the reply is parsed
/// with ARSoft's message reader.
/// </summary>
internal static class DrillObserver
{
    /// <summary>The servers to verify: the configured ones, else every NS of the affected names' zones with its addresses from our own zone data.</summary>
    public static IReadOnlyList<IPEndPoint> Servers(ServerSnapshot snapshot, IEnumerable<string> services, DrillOptions options)
    {
        if (options.Servers.Count > 0)
        {
            return options.Servers;
        }

        var servers = new List<IPEndPoint>();
        foreach (var service in services)
        {
            if (!DnsName.TryParse(service.TrimEnd('.') + ".", null, out var name, out _))
            {
                continue;
            }

            var zone = snapshot.Zones.Zones.Where(z => name.IsAtOrBelow(z.Origin)).MaxBy(z => z.Origin.LabelCount);
            if (zone is null)
            {
                continue;
            }

            foreach (var ns in zone.ApexNs.Records.Select(r => r.Target).OfType<DnsName>())
            {
                foreach (var holder in snapshot.Zones.Zones.Where(z => ns.IsAtOrBelow(z.Origin)))
                {
                    var node = holder.Find(ns);
                    foreach (var type in new[] { RecordType.A, RecordType.AAAA })
                    {
                        foreach (var record in node?.Find(type)?.Records ?? [])
                        {
                            var endPoint = new IPEndPoint(new IPAddress(record.RData), options.NameServerPort);
                            if (!servers.Contains(endPoint))
                            {
                                servers.Add(endPoint);
                            }
                        }
                    }
                }
            }
        }

        return servers;
    }

    /// <summary>The addresses in the answer, or null when no reply came in time.</summary>
    public static async Task<IReadOnlyList<IPAddress>?> AskAsync(IPEndPoint server, DrillQuestion question, TimeSpan timeout, CancellationToken ct)
    {
        var id = (ushort)Random.Shared.Next(1, ushort.MaxValue);
        var query = Explainer.BuildQuery(question.Name, question.Type, question.Client, question.Prefix, id);
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timer.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(server, timer.Token);
            await socket.SendAsync(query, SocketFlags.None, timer.Token);
            var buffer = new byte[4096];
            while (true)
            {
                var length = await socket.ReceiveAsync(buffer, SocketFlags.None, timer.Token);
                if (length < 12 || buffer[0] != (byte)(id >> 8) || buffer[1] != (byte)id)
                {
                    continue;
                }

                var message = ARSoft.Tools.Net.Dns.DnsMessage.Parse(buffer.AsSpan(0, length).ToArray());
                var addresses = new List<IPAddress>();
                foreach (var record in message.AnswerRecords)
                {
                    switch (record)
                    {
                        case ARSoft.Tools.Net.Dns.ARecord a:
                            addresses.Add(a.Address);
                            break;
                        case ARSoft.Tools.Net.Dns.AaaaRecord aaaa:
                            addresses.Add(aaaa.Address);
                            break;
                    }
                }

                return addresses;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
        catch (SocketException)
        {
            // ICMP port unreachable: the server is not there (yet); same as no reply.
            return null;
        }
    }
}
