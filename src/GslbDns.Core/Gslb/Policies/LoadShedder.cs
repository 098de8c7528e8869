using System.Globalization;

namespace GslbDns.Gslb.Policies;

/// <summary>
/// Capacity-aware load shedding (a service's <c>loadShedding</c>) inside the ranking steps (geo-proximity, latency):
/// a data center whose utilisation reaches the low watermark hands a share of its clients to the next-ranked data
/// center, all of them at the high watermark. Which clients is decided by a stable hash of the client's /24 (IPv6:
/// /48), the same on every server and restart, so one resolver's cache sees one answer and the clients that move at
/// a share of 0.3 are among those that move at 0.6.
/// </summary>
internal static class LoadShedder
{
    /// <summary>Added to a shed data center's score: it ranks after every data center not shed, in its own order among the shed.</summary>
    public const double Penalty = 1e12;

    public const byte IPv4Prefix = 24;
    public const byte IPv6Prefix = 48;

    /// <summary>
    /// Ranks shed groups last by adding <see cref="Penalty"/> to their scores. <paramref name="firstOf"/> holds each group's
    /// first candidate (an index into <paramref name="candidates"/>), <paramref name="groupOf"/> each candidate's group.
    /// </summary>
    public static void Apply(SelectionContext context, ReadOnlySpan<int> candidates, ReadOnlySpan<int> groupOf, int groups, Span<double> scores)
    {
        var shedding = context.Service.Shedding;
        var state = context.State;
        if (shedding is null || (state.ProbedLoads.Count == 0 && state.Feeds.Count == 0))
        {
            return;
        }

        var endpoints = context.Service.Endpoints;
        double? point = null;
        for (var g = 0; g < groups; g++)
        {
            double load = 0, capacity = 0;
            for (var i = 0; i < candidates.Length; i++)
            {
                if (groupOf[i] == g && state.TryGetLoad(endpoints[candidates[i]], context.Now, out var figure, out _))
                {
                    load += figure;
                    capacity += endpoints[candidates[i]].Capacity;
                }
            }

            if (capacity <= 0)
            {
                continue;
            }

            var utilisation = load / capacity;
            var share = shedding.ShareAt(utilisation);
            if (share <= 0)
            {
                continue;
            }

            point ??= ClientPoint(context);
            var shed = point.Value <= share;
            if (shed)
            {
                scores[g] += Penalty;
            }

            if (context.Trace is not null)
            {
                var dataCenter = FirstDataCenter(endpoints, candidates, groupOf, g);
                context.NoteAlso(string.Create(
                    CultureInfo.InvariantCulture,
                    $"load shedding: {dataCenter} at {utilisation * 100:0.#}% of capacity (watermarks {shedding.LowWatermark:0.###}..{shedding.HighWatermark:0.###}) sheds {share * 100:0.#}% of clients; this client's /{(context.ClientIsIPv6 ? IPv6Prefix : IPv4Prefix)} hashes to {point.Value:0.###}: {(shed ? "shed to the next-ranked data center" : "kept")}"));
            }
        }
    }

    /// <summary>The client's place in (0, 1]: a stable hash of its /24 (IPv6 /48); the answer now depends on that prefix.</summary>
    private static double ClientPoint(SelectionContext context)
    {
        var prefix = context.ClientIsIPv6 ? IPv6Prefix : IPv4Prefix;
        context.DependOnPrefix(prefix);
        var bits = context.ClientIsIPv6 ? 128 : 32;
        var masked = context.ClientAddress >> (bits - prefix);
        Span<byte> bytes = stackalloc byte[17];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(bytes, masked);
        bytes[16] = prefix;
        return StableHash.ToUnitInterval(StableHash.Finish(StableHash.Add(StableHash.Seed, bytes)));
    }

    private static string FirstDataCenter(IReadOnlyList<Endpoint> endpoints, ReadOnlySpan<int> candidates, ReadOnlySpan<int> groupOf, int group)
    {
        for (var i = 0; i < candidates.Length; i++)
        {
            if (groupOf[i] == group)
            {
                return endpoints[candidates[i]].DataCenter;
            }
        }

        return "?";
    }
}
