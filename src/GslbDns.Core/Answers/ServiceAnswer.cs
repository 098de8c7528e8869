using System.Net;
using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Query;

namespace GslbDns.Answers;

/// <summary>
/// The dynamic records of one load-balanced name: on each A/AAAA query it runs the service's policy
/// chain over the snapshot's state and writes the chosen addresses. The same selector serves DNS,
/// explain and drills (one decision engine).
/// </summary>
public sealed class ServiceAnswer : IDynamicAnswerSource
{
    private readonly byte[][] _addressBytes;
    private readonly byte[][] _fallbackV4;
    private readonly byte[][] _fallbackV6;
    private readonly bool _hasV4;
    private readonly bool _hasV6;
    private readonly int _serviceSlot;
    private readonly int[] _dataCenterSlots;

    private readonly ServiceGeoDecisions? _geo;

    /// <summary>Per endpoint: a hostname endpoint's name as CNAME RDATA, else null.</summary>
    private readonly byte[]?[] _hostWire;

    /// <summary>Per endpoint: the answer of the child service it stands for (nested services), else null.</summary>
    private readonly ServiceAnswer?[] _children;

    /// <param name="geo">The service's precompiled geo decisions for this snapshot (<see cref="GeoDecisionCompiler"/>), or null to locate each client through the snapshot's locator.</param>
    /// <param name="allGeo">Every service's precompiled geo decisions, for the child services this one nests; null: children locate through the locator.</param>
    public ServiceAnswer(ServiceConfig service, ServiceGeoDecisions? geo = null, IReadOnlyDictionary<DnsName, ServiceGeoDecisions>? allGeo = null)
    {
        Service = service;
        _geo = geo;
        _addressBytes = service.Endpoints.Select(e => e.Address.GetAddressBytes()).ToArray();
        _hasV4 = service.Endpoints.Any(e => CalculatedHealth.MayServe(e, ipv6: false));
        _hasV6 = service.Endpoints.Any(e => CalculatedHealth.MayServe(e, ipv6: true));

        _hostWire = service.Endpoints.Select(e => e.Host is { } host ? host.Wire.ToArray() : null).ToArray();

        // Built with the parent (the loader bounds the depth and rejects cycles), so a query never looks a child up.
        _children = service.Endpoints.Select(e => e.Child is { } child ? new ServiceAnswer(child, allGeo?.GetValueOrDefault(child.Name), allGeo) : null).ToArray();
        _fallbackV4 = service.FallbackAddresses.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).Select(a => a.GetAddressBytes()).ToArray();
        _serviceSlot = Observability.MetricSlots.Services.SlotOf(Observability.MetricSlots.ServiceLabel(service));
        _dataCenterSlots = service.Endpoints.Select(e => Observability.MetricSlots.DataCenters.SlotOf(e.DataCenter)).ToArray();
        _fallbackV6 = service.FallbackAddresses.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6).Select(a => a.GetAddressBytes()).ToArray();
    }

    public ServiceConfig Service { get; }

    public bool Serves(ushort qtype) => qtype switch
    {
        RecordType.A => _hasV4,
        RecordType.AAAA => _hasV6,
        _ => false,
    };

    public bool WriteAnswers(ushort qtype, ReadOnlySpan<byte> ownerWire, bool ownerIsQName, QueryContext context)
    {
        var selection = context.Selection;
        var snapshot = context.Snapshot;
        PrepareSelection(context, selection, snapshot);
        var candidates = context.Candidates.AsSpan(0, Math.Min(context.Candidates.Length, Service.Endpoints.Count));
        var count = ServiceSelector.Select(Service, qtype, selection, candidates, out var useFallback);
        if (selection.ScopePrefix > context.EcsScope)
        {
            context.EcsScope = selection.ScopePrefix;
        }

        // Nested services: the first-ranked child answers, under this name, with its own chain, TTL and health
        // (flattened: one response, no CNAME for the resolver to chase). Its steps follow this one's in explain.
        if (!useFallback && count > 0 && _children[candidates[0]] is { } child)
        {
            context.Stats?.RecordAnswer(_serviceSlot, _dataCenterSlots[candidates[0]]);
            selection.Trace?.Record("nested", candidates[..1], Service, $"answered by child service {child.Service.Name} (its steps follow)");
            return child.WriteAnswers(qtype, ownerWire, ownerIsQName, context);
        }

        // Short while the service's answers are changing, so resolvers follow the change (AnswerChanges).
        var ttl = snapshot.Gslb.Ttl.TtlAt(Service, snapshot.State, selection.Now);
        if (!useFallback && count > 0 && _hostWire[candidates[0]] is { } cname && Service.HostAnswer == HostAnswerMode.Cname)
        {
            // A CNAME owns its name, so it carries one target: the first-ranked hostname. The resolver follows it.
            context.Stats?.RecordAnswer(_serviceSlot, _dataCenterSlots[candidates[0]]);
            var target = context.Response.BeginRecord(ownerWire, ownerIsQName, cname.Length, RecordType.CNAME, RecordClass.IN, ttl);
            if (target.IsEmpty)
            {
                return false;
            }

            cname.CopyTo(target);
            context.DynamicType = RecordType.CNAME;
            return true;
        }

        var type = qtype == RecordType.AAAA ? RecordType.AAAA : RecordType.A;
        var rdLength = type == RecordType.AAAA ? 16 : 4;
        var builder = context.Response;
        if (useFallback)
        {
            context.Stats?.RecordAnswer(_serviceSlot, dataCenterSlot: 0);
            var fallback = type == RecordType.AAAA ? _fallbackV6 : _fallbackV4;
            foreach (var address in fallback)
            {
                var rdata = builder.BeginRecord(ownerWire, ownerIsQName, rdLength, type, RecordClass.IN, ttl);
                if (rdata.IsEmpty)
                {
                    return false;
                }

                address.CopyTo(rdata);
            }

            return true;
        }

        if (count > 0)
        {
            context.Stats?.RecordAnswer(_serviceSlot, _dataCenterSlots[candidates[0]]);
        }

        var ipv6 = type == RecordType.AAAA;
        var hosts = selection.Hosts;
        ttl = FlattenedTtl(candidates[..count], hosts, ttl);
        for (var i = 0; i < count; i++)
        {
            var index = candidates[i];
            if (_hostWire[index] is null)
            {
                if (!Write(builder, ownerWire, ownerIsQName, type, ttl, _addressBytes[index]))
                {
                    return false;
                }

                continue;
            }

            // A flattened hostname: every address it resolved to ("ALIAS"), each once in the RRset. A CNAME-mode hostname
            // ranked below an address is left out: a name with addresses cannot also carry a CNAME.
            if (Service.HostAnswer == HostAnswerMode.Cname || hosts.Find(Service.Endpoints[index].Host!) is not { } resolved)
            {
                continue;
            }

            foreach (var address in resolved.Wire(ipv6))
            {
                if (!WrittenBefore(candidates[..i], hosts, ipv6, address) && !Write(builder, ownerWire, ownerIsQName, type, ttl, address))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool Write(ResponseBuilder builder, ReadOnlySpan<byte> ownerWire, bool ownerIsQName, ushort type, uint ttl, byte[] address)
    {
        var rdata = builder.BeginRecord(ownerWire, ownerIsQName, address.Length, type, RecordClass.IN, ttl);
        if (rdata.IsEmpty)
        {
            return false;
        }

        address.CopyTo(rdata);
        return true;
    }

    /// <summary>One TTL for the whole RRset (RFC 2181 5.2): no more than any flattened hostname's record TTL.</summary>
    private uint FlattenedTtl(ReadOnlySpan<int> chosen, ResolvedHosts hosts, uint ttl)
    {
        if (Service.HostAnswer == HostAnswerMode.Cname)
        {
            return ttl;
        }

        foreach (var index in chosen)
        {
            if (Service.Endpoints[index].Host is { } host && hosts.Find(host) is { } resolved && resolved.Ttl < ttl)
            {
                ttl = resolved.Ttl;
            }
        }

        return ttl;
    }

    /// <summary>Whether an endpoint ranked before this one already wrote <paramref name="address"/> (two hostnames sharing an address, or a hostname and an address endpoint).</summary>
    private bool WrittenBefore(ReadOnlySpan<int> before, ResolvedHosts hosts, bool ipv6, byte[] address)
    {
        foreach (var index in before)
        {
            if (Service.Endpoints[index].Host is { } host)
            {
                if (hosts.Find(host) is { } resolved)
                {
                    foreach (var other in resolved.Wire(ipv6))
                    {
                        if (other.AsSpan().SequenceEqual(address))
                        {
                            return true;
                        }
                    }
                }
            }
            else if (_addressBytes[index].AsSpan().SequenceEqual(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The client a decision is made for: the ECS subnet when the resolver sent one (RFC 7871), else the packet's source.</summary>
    private void PrepareSelection(QueryContext context, SelectionContext selection, ServerSnapshot snapshot)
    {
        var query = context.Query;
        UInt128 address;
        bool isIPv6;
        byte prefix;
        if (query.HasClientSubnet && query.ClientSubnet.SourcePrefix > 0)
        {
            var ecs = query.ClientSubnet;
            isIPv6 = ecs.IsIPv6;
            address = isIPv6 ? ecs.Address : ecs.Address >> 96;
            prefix = ecs.SourcePrefix;
        }
        else
        {
            address = context.SourceAddress;
            isIPv6 = context.SourceIsIPv6;
            prefix = (byte)(isIPv6 ? 128 : 32);
        }

        selection.Locator = snapshot.Locator;
        selection.Reset(Service, snapshot.Gslb, snapshot.State, context.Time.GetUtcNow(), address, isIPv6, prefix);
        selection.Geo = _geo;
        selection.Hosts = snapshot.Hosts;
    }

    /// <summary>For explain: the addresses in the order chosen.</summary>
    public IPAddress AddressOf(int endpointIndex) => Service.Endpoints[endpointIndex].Address;
}
