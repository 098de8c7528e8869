namespace GslbDns.Gslb.Policies;

/// <summary>
/// <c>"geofence": true</c> on a <c>geo-proximity</c> or <c>geolocation</c> step (data residency, as Google Cloud DNS's
/// geofencing): answers stay inside the client's region, the region of the data center the step would pick for the
/// client with every endpoint healthy. When that region has no usable endpoint the service does not fail over to a far
/// data center: it answers the region's fallback, the service's <c>fallback</c> addresses when <c>whenAllUnhealthy</c>
/// is <c>fallback</c>, else the region's own endpoints whatever their health (fail open inside the region).
/// </summary>
internal static class Geofence
{
    /// <summary>A data center's region for fencing: its configured region, else itself (a region of one).</summary>
    public static string? RegionOf(SelectionContext context, string dataCenter) =>
        context.Config.DataCenters.TryGetValue(dataCenter, out var found)
            ? (string.IsNullOrEmpty(found.Region) ? found.Name : found.Region)
            : null;

    /// <summary>
    /// Keeps the candidates inside <paramref name="region"/>. None usable there: 0 with
    /// <see cref="SelectionContext.GeofenceFallback"/> set (fallback addresses), or the region's endpoints of the
    /// candidates' family written into <paramref name="candidates"/> (fail open inside the region).
    /// </summary>
    public static int Keep(Span<int> candidates, int count, SelectionContext context, string region)
    {
        var endpoints = context.Service.Endpoints;
        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            var index = candidates[i];
            if (string.Equals(RegionOf(context, endpoints[index].DataCenter), region, StringComparison.Ordinal))
            {
                candidates[kept++] = index;
            }
        }

        if (kept > 0)
        {
            if (context.Trace is not null)
            {
                context.NoteAlso("geofence: answers kept inside region " + region);
            }

            return kept;
        }

        if (context.Service.WhenAllUnhealthy == AllUnhealthyBehavior.Fallback)
        {
            context.GeofenceFallback = true;
            if (context.Trace is not null)
            {
                context.NoteAlso("geofence: region " + region + " has no usable endpoint: the service's fallback addresses, not a data center outside it");
            }

            return 0;
        }

        // Fail open inside the region: its endpoints of the query's family (the candidates' family), unhealthy as they are.
        var ipv6 = endpoints[candidates[0]].IsIPv6;
        for (var i = 0; i < endpoints.Count && kept < candidates.Length; i++)
        {
            if (endpoints[i].IsIPv6 == ipv6 && string.Equals(RegionOf(context, endpoints[i].DataCenter), region, StringComparison.Ordinal))
            {
                candidates[kept++] = i;
            }
        }

        if (context.Trace is not null)
        {
            context.NoteAlso(kept == 0
                ? "geofence: region " + region + " has no endpoint of this address family: not fenced"
                : "geofence: region " + region + " has no usable endpoint: failing open inside it, not to a data center outside it");
        }

        return kept == 0 ? count : kept;
    }
}
