using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using GslbDns.Dns;
using GslbDns.Observability;
using Prometheus;

namespace GslbDns.Tests.Core.Observability;

/// <summary>
/// The scrape-time sum of per-thread blocks: counters are the sums over every block of a listener (and, for
/// responses and durations, over its UDP and TCP groups), histogram buckets and sums come out exact, and a
/// second scrape adds only what happened since. Rare types fold into <c>other</c>.
/// </summary>
public sealed partial class DnsStatsExporterTests
{
    [GeneratedRegex("""^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>\S+)$""", RegexOptions.Multiline)]
    private static partial Regex Sample();

    [Fact]
    public async Task Blocks_of_every_thread_sum_into_exact_counters_and_histograms_across_scrapes()
    {
        var zone = MetricSlots.Zones.SlotOf("exporter.test.");
        var udp = new DnsStatsGroup("dns://127.0.0.1:5300", "udp", "1");
        var tcp = new DnsStatsGroup("dns://127.0.0.1:5300", "tcp", "1");
        var (a, b, t) = (udp.NewBlock(), udp.NewBlock(), tcp.NewBlock());
        var micro = Stopwatch.Frequency / 1_000_000;
        a.Record(zone, RecordType.A, dnssecOk: true, clientSubnet: false, requestBytes: 40, rcode: 0, responseBytes: 90, elapsedTicks: 3 * micro);
        b.Record(zone, RecordType.A, dnssecOk: false, clientSubnet: true, requestBytes: 50, rcode: 3, responseBytes: 150, elapsedTicks: 5 * micro);
        t.Record(zone, RecordType.NAPTR, dnssecOk: false, clientSubnet: false, requestBytes: 60, rcode: 0, responseBytes: 700, elapsedTicks: 3 * micro);
        a.Record(zone, RecordType.A, dnssecOk: false, clientSubnet: false, requestBytes: 40, rcode: -1, responseBytes: 0, elapsedTicks: micro);

        var registry = Metrics.NewCustomRegistry();
        var exporter = new DnsStatsExporter(Metrics.WithCustomRegistry(registry));
        var page = await ScrapeAsync(registry, exporter, udp, tcp);
        const string Server = "server=\"dns://127.0.0.1:5300\",zone=\"exporter.test.\"";
        Assert.Equal(3, page[$"gslbdns_dns_requests_total{{{Server},type=\"A\",proto=\"udp\",family=\"1\"}}"]);
        Assert.Equal(1, page[$"gslbdns_dns_requests_total{{{Server},type=\"other\",proto=\"tcp\",family=\"1\"}}"]);
        Assert.Equal(2, page[$"gslbdns_dns_responses_total{{{Server},rcode=\"NOERROR\"}}"]);
        Assert.Equal(1, page[$"gslbdns_dns_responses_total{{{Server},rcode=\"NXDOMAIN\"}}"]);
        Assert.Equal(1, page[$"gslbdns_dns_do_requests_total{{{Server}}}"]);
        Assert.Equal(1, page[$"gslbdns_dns_ecs_requests_total{{{Server}}}"]);

        // Durations from both transports in one histogram: 1 µs, 3 µs twice, 5 µs.
        Assert.Equal(4, page[$"gslbdns_dns_request_duration_seconds_count{{{Server}}}"]);
        Assert.Equal(12e-6, page[$"gslbdns_dns_request_duration_seconds_sum{{{Server}}}"], 1e-9);
        Assert.Equal(1, page[$"gslbdns_dns_request_duration_seconds_bucket{{{Server},le=\"1e-06\"}}"]);
        Assert.Equal(1, page[$"gslbdns_dns_request_duration_seconds_bucket{{{Server},le=\"2e-06\"}}"]);
        Assert.Equal(3, page[$"gslbdns_dns_request_duration_seconds_bucket{{{Server},le=\"4e-06\"}}"]);
        Assert.Equal(4, page[$"gslbdns_dns_request_duration_seconds_bucket{{{Server},le=\"8e-06\"}}"]);

        // Sizes per transport; the reply that was never sent has no response size.
        Assert.Equal(130, page[$"gslbdns_dns_request_size_bytes_sum{{{Server},proto=\"udp\"}}"]);
        Assert.Equal(2, page[$"gslbdns_dns_response_size_bytes_count{{{Server},proto=\"udp\"}}"]);
        Assert.Equal(1, page[$"gslbdns_dns_response_size_bytes_bucket{{{Server},proto=\"udp\",le=\"100\"}}"]);
        Assert.Equal(700, page[$"gslbdns_dns_response_size_bytes_sum{{{Server},proto=\"tcp\"}}"]);
        Assert.Equal(0, page[$"gslbdns_dns_response_size_bytes_bucket{{{Server},proto=\"tcp\",le=\"511\"}}"]);

        // A second scrape adds only the new query, to the right bucket.
        b.Record(zone, RecordType.AAAA, dnssecOk: false, clientSubnet: false, requestBytes: 45, rcode: 0, responseBytes: 2000, elapsedTicks: 100 * micro);
        page = await ScrapeAsync(registry, exporter, udp, tcp);
        Assert.Equal(5, page[$"gslbdns_dns_request_duration_seconds_count{{{Server}}}"]);
        Assert.Equal(112e-6, page[$"gslbdns_dns_request_duration_seconds_sum{{{Server}}}"], 1e-9);
        Assert.Equal(4, page[$"gslbdns_dns_request_duration_seconds_bucket{{{Server},le=\"6.4e-05\"}}"]);
        Assert.Equal(5, page[$"gslbdns_dns_request_duration_seconds_bucket{{{Server},le=\"0.000128\"}}"]);
        Assert.Equal(1, page[$"gslbdns_dns_requests_total{{{Server},type=\"AAAA\",proto=\"udp\",family=\"1\"}}"]);
        Assert.Equal(3, page[$"gslbdns_dns_response_size_bytes_count{{{Server},proto=\"udp\"}}"]);
    }

    [Fact]
    public void Zone_slots_are_stable_bounded_and_never_reused()
    {
        var slots = new MetricSlots(4, "dropped");
        Assert.Equal(0, slots.SlotOf("dropped"));
        var first = slots.SlotOf("a.test.");
        Assert.Equal(first, slots.SlotOf("a.test."));
        var second = slots.SlotOf("b.test.");
        Assert.NotEqual(first, second);

        // Past the capacity every new name shares the overflow slot, labelled other.
        Assert.Equal(slots.OverflowSlot, slots.SlotOf("c.test."));
        Assert.Equal(slots.OverflowSlot, slots.SlotOf("d.test."));
        Assert.Equal(MetricSlots.OtherLabel, slots.NameOf(slots.OverflowSlot));
        Assert.Equal("a.test.", slots.NameOf(first));
    }

    private static async Task<Dictionary<string, double>> ScrapeAsync(CollectorRegistry registry, DnsStatsExporter exporter, params DnsStatsGroup[] groups)
    {
        exporter.Collect(groups);
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        return Sample().Matches(text).ToDictionary(m => $"{m.Groups["name"].Value}{{{m.Groups["labels"].Value}}}", m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));
    }
}
