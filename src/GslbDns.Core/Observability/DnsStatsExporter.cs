using System.Diagnostics;
using Prometheus;

namespace GslbDns.Observability;

/// <summary>
/// Turns the per-thread <see cref="DnsStats"/> blocks into CoreDNS-named series at scrape time (called from the
/// registry's before-collect callback): sums every block of every listener, then raises the prometheus-net
/// counters to the sums and feeds each histogram the observations it has not seen yet (per bucket: the count,
/// at that bucket's mean, so bucket counts and sums both come out exact). The query path never touches
/// prometheus-net.
/// </summary>
public sealed class DnsStatsExporter
{
    private readonly Lock _lock = new();
    private readonly Counter _requests;
    private readonly Counter _responses;
    private readonly Counter _doRequests;
    private readonly Counter _ecsRequests;
    private readonly Histogram _duration;
    private readonly Histogram _requestSize;
    private readonly Histogram _responseSize;
    private readonly Counter _answers;
    private readonly Dictionary<(Histogram, string, string, string), long[]> _exported = [];

    public DnsStatsExporter(MetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _requests = factory.CreateCounter("gslbdns_dns_requests_total", "DNS queries, by server, zone, query type (rare types as other), transport and address family (1 IPv4, 2 IPv6).", "server", "zone", "type", "proto", "family");
        _responses = factory.CreateCounter("gslbdns_dns_responses_total", "DNS responses sent, by server, zone and RCODE.", "server", "zone", "rcode");
        _doRequests = factory.CreateCounter("gslbdns_dns_do_requests_total", "Queries with the DNSSEC OK bit set.", "server", "zone");
        _ecsRequests = factory.CreateCounter("gslbdns_dns_ecs_requests_total", "Queries carrying an EDNS Client Subnet option (RFC 7871).", "server", "zone");
        _duration = factory.CreateHistogram("gslbdns_dns_request_duration_seconds", "Time from a parsed query to its finished reply (excludes socket I/O).", new HistogramConfiguration
        {
            LabelNames = ["server", "zone"],
            Buckets = DnsLabels.DurationBounds,
        });
        _requestSize = factory.CreateHistogram("gslbdns_dns_request_size_bytes", "Size of queries in bytes.", new HistogramConfiguration
        {
            LabelNames = ["server", "zone", "proto"],
            Buckets = DnsLabels.SizeBounds,
        });
        _responseSize = factory.CreateHistogram("gslbdns_dns_response_size_bytes", "Size of responses in bytes.", new HistogramConfiguration
        {
            LabelNames = ["server", "zone", "proto"],
            Buckets = DnsLabels.SizeBounds,
        });
        _answers = factory.CreateCounter("gslbdns_gslb_answers_total", "Load-balanced answers, by service and the data center of the first address handed out (fallback: the service's fallback addresses).", "service", "datacenter");
    }

    public void Collect(IEnumerable<DnsStatsGroup> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        lock (_lock)
        {
            var byServer = new Dictionary<(string Server, int Zone), long[]>();
            var answers = new Dictionary<(int Service, int DataCenter), long>();
            foreach (var group in groups)
            {
                var rows = new long[]?[MetricSlots.Zones.Capacity];
                foreach (var block in group.Blocks)
                {
                    AddRows(block.Zones, rows);
                    AddAnswers(block.Services, answers);
                }

                for (var zone = 0; zone < rows.Length; zone++)
                {
                    if (rows[zone] is not { } row)
                    {
                        continue;
                    }

                    var zoneName = MetricSlots.Zones.NameOf(zone);
                    for (var type = 0; type < DnsStats.Types; type++)
                    {
                        if (row[DnsStats.RequestsAt + type] > 0)
                        {
                            _requests.WithLabels(group.Server, zoneName, DnsLabels.TypeNames[type], group.Proto, group.Family).IncTo(row[DnsStats.RequestsAt + type]);
                        }
                    }

                    Feed(_requestSize, group.Server, zoneName, group.Proto, row, DnsStats.RequestSizeAt, DnsLabels.SizeBounds, 1);
                    Feed(_responseSize, group.Server, zoneName, group.Proto, row, DnsStats.ResponseSizeAt, DnsLabels.SizeBounds, 1);
                    var total = byServer.TryGetValue((group.Server, zone), out var sum) ? sum : byServer[(group.Server, zone)] = new long[DnsStats.RowLength];
                    for (var i = 0; i < row.Length; i++)
                    {
                        total[i] += row[i];
                    }
                }
            }

            foreach (var ((server, zone), row) in byServer)
            {
                var zoneName = MetricSlots.Zones.NameOf(zone);
                for (var rcode = 0; rcode < DnsStats.Rcodes; rcode++)
                {
                    if (row[DnsStats.ResponsesAt + rcode] > 0)
                    {
                        _responses.WithLabels(server, zoneName, DnsLabels.RcodeName(rcode)).IncTo(row[DnsStats.ResponsesAt + rcode]);
                    }
                }

                _doRequests.WithLabels(server, zoneName).IncTo(row[DnsStats.DoAt]);
                _ecsRequests.WithLabels(server, zoneName).IncTo(row[DnsStats.EcsAt]);
                Feed(_duration, server, zoneName, string.Empty, row, DnsStats.DurationAt, DnsLabels.DurationBounds, 1.0 / Stopwatch.Frequency);
            }

            foreach (var ((service, dataCenter), count) in answers)
            {
                _answers.WithLabels(MetricSlots.Services.NameOf(service), MetricSlots.DataCenters.NameOf(dataCenter)).IncTo(count);
            }
        }
    }

    private static void AddRows(long[]?[] from, long[]?[] into)
    {
        for (var zone = 0; zone < from.Length; zone++)
        {
            if (Volatile.Read(ref from[zone]) is not { } row)
            {
                continue;
            }

            var total = into[zone] ??= new long[DnsStats.RowLength];
            for (var i = 0; i < row.Length; i++)
            {
                total[i] += row[i];
            }
        }
    }

    private static void AddAnswers(long[]?[] from, Dictionary<(int, int), long> into)
    {
        for (var service = 0; service < from.Length; service++)
        {
            if (Volatile.Read(ref from[service]) is not { } row)
            {
                continue;
            }

            for (var dc = 0; dc < row.Length; dc++)
            {
                if (row[dc] > 0)
                {
                    into[(service, dc)] = into.GetValueOrDefault((service, dc)) + row[dc];
                }
            }
        }
    }

    /// <summary>Observes what the histogram has not seen: per bucket, the new count at the new values' mean (kept inside the bucket).</summary>
    private void Feed(Histogram histogram, string server, string zone, string proto, long[] row, int at, double[] bounds, double unit)
    {
        var buckets = bounds.Length + 1;
        var key = (histogram, server, zone, proto);
        if (!_exported.TryGetValue(key, out var seen))
        {
            _exported[key] = seen = new long[2 * buckets];
        }

        var child = proto.Length == 0 ? histogram.WithLabels(server, zone) : histogram.WithLabels(server, zone, proto);
        for (var b = 0; b < buckets; b++)
        {
            var count = row[at + b] - seen[b];
            if (count <= 0)
            {
                continue;
            }

            var sum = row[at + buckets + b] - seen[buckets + b];
            var lower = b == 0 ? double.NegativeInfinity : bounds[b - 1];
            var upper = b < bounds.Length ? bounds[b] : double.PositiveInfinity;
            var mean = Math.Clamp(sum * unit / count, Math.BitIncrement(lower), upper);
            child.Observe(mean, count);
            seen[b] += count;
            seen[buckets + b] += sum;
        }
    }
}
