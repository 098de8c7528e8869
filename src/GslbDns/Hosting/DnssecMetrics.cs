using GslbDns.Dns;
using GslbDns.Dnssec;
using Prometheus;

namespace GslbDns.Server.Hosting;

/// <summary>
/// The signing stage's series, per signed zone: signatures made, the answer-signature cache's hits and misses, and
/// the time of the zone's next key event. A zone's signer lives as long as its compiled zone, so its counters start
/// again at each recompilation; what a replaced signer had counted (as of the last scrape) is carried over, so the
/// series only grow.
/// </summary>
internal sealed class DnssecMetrics
{
    private readonly Counter _signatures;
    private readonly Counter _cacheHits;
    private readonly Counter _cacheMisses;
    private readonly Gauge _nextKeyEvent;
    private readonly Dictionary<DnsName, Seen> _seen = [];

    public DnssecMetrics(MetricFactory factory)
    {
        _signatures = factory.CreateCounter("gslbdns_dnssec_signatures_total", "RRSIGs made by online signing (static RRsets, answer sets, compact-denial NSECs), by zone.", "zone");
        _cacheHits = factory.CreateCounter("gslbdns_dnssec_signature_cache_hits_total", "Signatures of varying answer sets (load-balanced, wildcard, denial) found in the zone's signature cache.", "zone");
        _cacheMisses = factory.CreateCounter("gslbdns_dnssec_signature_cache_misses_total", "Lookups in the zone's signature cache that had to sign.", "zone");
        _nextKeyEvent = factory.CreateGauge("gslbdns_dnssec_next_key_event_timestamp_seconds", "Unix time of the zone's next key transition (a rollover step, or the signing ZSK's end of life); a KSK rollover waiting for --ds-published has no time of its own.", "zone");
    }

    public void Collect(Query.ServerSnapshot snapshot, IReadOnlyList<SignedZoneView> keys)
    {
        foreach (var zone in snapshot.Zones.Zones)
        {
            if (zone.Signer is not { } signer)
            {
                continue;
            }

            var label = zone.Origin.ToString();
            if (!_seen.TryGetValue(zone.Origin, out var seen) || !ReferenceEquals(seen.Signer, signer))
            {
                // A new signer (the zone was recompiled): what the old one counted becomes the base.
                seen = seen is null ? new Seen(signer, 0, 0, 0) : new Seen(signer, seen.Signatures + seen.Signer.Signatures, seen.Hits + seen.Signer.Cache.Hits, seen.Misses + seen.Signer.Cache.Misses);
                _seen[zone.Origin] = seen;
            }

            _signatures.WithLabels(label).IncTo(seen.Signatures + signer.Signatures);
            _cacheHits.WithLabels(label).IncTo(seen.Hits + signer.Cache.Hits);
            _cacheMisses.WithLabels(label).IncTo(seen.Misses + signer.Cache.Misses);
        }

        foreach (var zone in keys)
        {
            _nextKeyEvent.WithLabels(zone.Zone).Set(zone.NextKeyEvent is { } next ? next.ToUnixTimeSeconds() : -1);
        }
    }

    private sealed record Seen(ZoneSigner Signer, long Signatures, long Hits, long Misses);
}
