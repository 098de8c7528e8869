using System.Diagnostics;
using GslbDns.Dns;
using GslbDns.Gslb.Policies;

namespace GslbDns.Gslb;

/// <summary>
/// Runs a service's policy chain for one query: the one decision engine that DNS answers, explain
/// and drills share. Allocates nothing when <see cref="SelectionContext.Trace"/> is null.
/// </summary>
/// <remarks>
/// <para>
/// Health comes first even when the config forgets it: a chain without a <c>healthy</c> step gets one
/// run implicitly before its first step, so no chain can hand out an endpoint the probers failed. A
/// chain that names <c>healthy</c> runs it where it stands instead.
/// </para>
/// <para>
/// When a <c>healthy</c> step leaves no candidate, the service's <see cref="AllUnhealthyBehavior"/>
/// decides: <see cref="AllUnhealthyBehavior.FailOpen"/> carries on with the candidates the step was
/// given (all endpoints of the family when <c>healthy</c> is first, as it is implicitly), because a
/// broken health signal must not take the service down; <see cref="AllUnhealthyBehavior.Fallback"/>
/// stops with no candidates and tells the caller to answer with the fallback addresses.
/// </para>
/// </remarks>
public static class ServiceSelector
{
    private const string FailOpenNote = "all unhealthy: fail open";
    private const string FallbackNote = "all unhealthy: fallback addresses";
    private const string ImplicitNote = "implicit: the chain has no healthy step";

    /// <summary>
    /// Fills <paramref name="buffer"/> with the chosen endpoints (indexes into
    /// <c>service.Endpoints</c>, best first) and returns how many. <paramref name="context"/> must have
    /// been reset for <paramref name="service"/>. A qtype other than A or AAAA, or a service with no
    /// endpoint of that family, gives 0 (NODATA). Endpoints beyond <c>buffer.Length</c> are not
    /// considered, so the caller sizes the buffer to the largest service.
    /// </summary>
    /// <param name="useFallback">Set when every endpoint was unhealthy and the service answers with its fallback addresses instead (the count is then 0).</param>
    public static int Select(ServiceConfig service, ushort qtype, SelectionContext context, Span<int> buffer, out bool useFallback)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(context);
        if (!ReferenceEquals(context.Service, service))
        {
            throw new ArgumentException("The selection context was reset for another service.", nameof(context));
        }

        useFallback = false;
        bool wantIPv6;
        if (qtype == RecordType.A)
        {
            wantIPv6 = false;
        }
        else if (qtype == RecordType.AAAA)
        {
            wantIPv6 = true;
        }
        else
        {
            return 0;
        }

        var endpoints = service.Endpoints;
        var count = 0;
        for (var i = 0; i < endpoints.Count && count < buffer.Length; i++)
        {
            if (CalculatedHealth.Serves(service, endpoints[i], wantIPv6, context.Hosts))
            {
                buffer[count++] = i;
            }
        }

        var trace = context.Trace;
        trace?.Record("family", buffer[..count], service, wantIPv6 ? "AAAA: IPv6 endpoints" : "A: IPv4 endpoints");
        if (count == 0)
        {
            return 0;
        }

        var policies = service.Policies;
        if (!HasHealthyStep(policies))
        {
            count = RunHealthy(HealthyPolicy.Instance, buffer, count, context, ImplicitNote, out useFallback);
            if (useFallback)
            {
                return 0;
            }
        }

        for (var step = 0; step < policies.Count; step++)
        {
            var policy = policies[step];
            if (policy is HealthyPolicy)
            {
                count = RunHealthy(policy, buffer, count, context, null, out useFallback);
                if (useFallback)
                {
                    return 0;
                }

                continue;
            }

            var kept = policy.Apply(buffer, count, context);

            // A geofenced step with nothing usable in the client's region answers the fallback, not a far data center.
            if (kept == 0 && context.GeofenceFallback)
            {
                trace?.Record(policy.Name, [], service, context.TakeNote());
                useFallback = true;
                return 0;
            }

            // The interface forbids 0 here; answering nothing for a configured name would fail
            // closed, so a misbehaving step is overruled rather than obeyed. Only a geofenced step may
            // return more than it was given (its region's endpoints, failing open inside the region).
            Debug.Assert(kept > 0 && kept <= buffer.Length, $"policy {policy.Name} returned {kept} of {count}");
            count = kept > 0 && kept <= buffer.Length ? kept : count;
            trace?.Record(policy.Name, buffer[..count], service, context.TakeNote());
        }

        return count;
    }

    private static bool HasHealthyStep(IReadOnlyList<ISelectionPolicy> policies)
    {
        for (var i = 0; i < policies.Count; i++)
        {
            if (policies[i] is HealthyPolicy)
            {
                return true;
            }
        }

        return false;
    }

    private static int RunHealthy(ISelectionPolicy healthy, Span<int> buffer, int count, SelectionContext context, string? note, out bool useFallback)
    {
        useFallback = false;
        var trace = context.Trace;
        var kept = healthy.Apply(buffer, count, context);

        // The step's own note (where the endpoints were probed, when apart from the answer) joins the selector's.
        if (context.TakeNote() is { } stepNote)
        {
            note = note is null ? stepNote : note + "; " + stepNote;
        }
        if (kept > 0)
        {
            trace?.Record(healthy.Name, buffer[..kept], context.Service, note);
            return kept;
        }

        if (context.Service.WhenAllUnhealthy == AllUnhealthyBehavior.Fallback)
        {
            trace?.Record(healthy.Name, [], context.Service, FallbackNote);
            useFallback = true;
            return 0;
        }

        // HealthyPolicy writes nothing when it keeps nothing, so buffer[..count] is still its input.
        trace?.Record(healthy.Name, buffer[..count], context.Service, note is null ? FailOpenNote : note + "; " + FailOpenNote);
        return count;
    }
}
