using System.Net;
using System.Text.Json;
using GslbDns.Dns;
using GslbDns.Gslb.Policies;

namespace GslbDns.Gslb.Config;

/// <summary>Reads the <c>services</c> sections of all files into one map keyed by absolute name.</summary>
internal sealed class ServiceReader
{
    public const int MaxWeight = 1000;
    public const int DefaultWeight = 100;
    public const int MaxPriority = 100;

    private static readonly string[] Known = ["ttl", "policy", "whenAllUnhealthy", "fallback", "check", "endpoints", "health", "hostAnswer", "feed", "loadShedding"];
    private static readonly string[] EndpointKnown = ["dataCenter", "address", "weight", "priority", "check", "service", "host", "capacity"];
    private static readonly string[] Behaviors = ["fail-open", "fallback"];

    private readonly IReadOnlyCollection<DnsName> _servedZones;
    private readonly TopologyReader _topology;
    private readonly Dictionary<DnsName, Defined<ServiceConfig?>> _services = [];
    private readonly NestedServices _nested = new();

    public ServiceReader(IReadOnlyCollection<DnsName> servedZones, TopologyReader topology)
    {
        _servedZones = servedZones;
        _topology = topology;
    }

    /// <summary>Every service that read without errors (a config with errors is thrown away as a whole anyway), child services linked.</summary>
    public Dictionary<DnsName, ServiceConfig> Services { get; private set; } = [];

    /// <summary>
    /// After every file's services: resolves <c>service</c> endpoints to the services they name, rejects unknown names, cycles and
    /// nesting deeper than <see cref="CalculatedHealth.MaxNesting"/>, and links each child into its parent (children first).
    /// </summary>
    public void Link()
    {
        var read = _services.Where(e => e.Value.Value is not null).ToDictionary(e => e.Key, e => e.Value.Value!);

        // Slots before links: linking copies each parent endpoint with its child, and the copies keep their slots.
        (Slots, read) = EndpointSlots.Assign(read);
        Services = _nested.Link(read, _services.Keys);
    }

    /// <summary>The slot of every endpoint of <see cref="Services"/> (set by <see cref="Link"/>).</summary>
    public EndpointSlots Slots { get; private set; } = EndpointSlots.Empty;

    /// <summary>The top-level <c>feeds.mode</c>: a service's <c>feed</c> when it sets none.</summary>
    public FeedMode DefaultFeedMode { get; init; }

    public void Read(ConfigObject root)
    {
        if (!root.TryGet("services", out var section))
        {
            return;
        }

        var source = root.Source;
        foreach (var (key, value, path) in ConfigObject.Entries(source, section, root.PathOf("services")))
        {
            var name = ResolveName(source, key, path);

            // The id drops only the root's dot: "www.example.com/eu-west/192.0.2.10".
            var service = ReadService(source, value, path, name is null ? key : name.ToString()[..^1]);
            if (name is null)
            {
                continue;
            }

            if (_services.TryGetValue(name, out var first))
            {
                source.Error(path, $"service {name} is already defined at {first.Where}");
                continue;
            }

            _services[name] = new Defined<ServiceConfig?>(service is null ? null : service with { Name = name }, source, path);
        }
    }

    /// <summary>
    /// Absolute names stand alone; relative ones take the zone the file is named after
    /// (<c>example.com.gslb.json</c>), which must be a served zone. Either way the name must lie
    /// below a served zone's apex.
    /// </summary>
    private DnsName? ResolveName(ConfigSource source, string key, string path)
    {
        DnsName name;
        if (DnsName.TryParse(key, null, out var absolute, out _))
        {
            name = absolute;
        }
        else if (!DnsName.TryParse(key, DnsName.Root, out _, out var syntaxError))
        {
            source.Error(path, $"invalid service name '{key}': {syntaxError}");
            return null;
        }
        else if (source.Origin is null)
        {
            var example = _servedZones.FirstOrDefault()?.ToString()[..^1] ?? "example.com";
            source.Error(path, $"relative service name '{key}' needs a file named after a served zone, such as {example}{GslbConfigLoader.FileSuffix} ('{Path.GetFileName(source.File)}' is not), or write it absolute with a trailing dot");
            return null;
        }
        else if (!DnsName.TryParse(key, source.Origin, out name, out var relativeError))
        {
            source.Error(path, $"invalid service name '{key}': {relativeError}");
            return null;
        }

        if (name.IsWildcard)
        {
            source.Error(path, $"service {name}: wildcard names cannot be load-balanced; name each service");
            return null;
        }

        if (_servedZones.Any(z => z == name))
        {
            source.Error(path, $"service {name} is a zone apex; a service needs a name below the apex (the apex carries SOA and NS)");
            return null;
        }

        if (!_servedZones.Any(zone => IsAtOrBelow(name, zone)))
        {
            var served = _servedZones.Count == 0 ? "none" : string.Join(", ", _servedZones.Take(5)) + (_servedZones.Count > 5 ? ", ..." : string.Empty);
            source.Error(path, $"service {name} is not inside a served zone (served: {served})");
            return null;
        }

        return name;
    }

    /// <summary>
    /// Guards DnsName.IsAtOrBelow, which indexes out of range when the ancestor has no more labels
    /// but a longer wire form (e.g. "a.b." against "example.com.").
    /// </summary>
    private static bool IsAtOrBelow(DnsName name, DnsName zone) => zone.WireLength <= name.WireLength && name.IsAtOrBelow(zone);

    /// <summary>Reads one service; null when it has errors. The name is patched in by the caller.</summary>
    private ServiceConfig? ReadService(ConfigSource source, JsonElement element, string path, string serviceId)
    {
        var errorsBefore = source.Errors.Count;
        var obj = ConfigObject.Open(source, element, path, Known);
        if (obj is null)
        {
            return null;
        }

        var ttl = ReadTtl(obj);

        // The check first: an endpoint's own check target is read against it (a host needs an HTTP check).
        var hasCheck = obj.TryGet("check", out var checkElement);
        var check = hasCheck ? HealthCheckReader.Read(source, checkElement, obj.PathOf("check")) : null;
        var endpoints = ReadEndpoints(obj, serviceId, check, hasCheck);
        var policies = ReadPolicies(obj);
        var behavior = AllUnhealthyBehavior.FailOpen;
        if (obj.Text("whenAllUnhealthy") is { } behaviorText)
        {
            switch (behaviorText)
            {
                case "fail-open":
                    break;
                case "fallback":
                    behavior = AllUnhealthyBehavior.Fallback;
                    break;
                default:
                    obj.Error("whenAllUnhealthy", $"whenAllUnhealthy must be 'fail-open' or 'fallback', not '{behaviorText}'{NameHints.DidYouMean(behaviorText, Behaviors)}");
                    break;
            }
        }

        var (dataCenterHealth, serviceHealth) = CalculatedHealthReader.Read(obj, endpoints);
        var hostAnswer = ReadHostAnswer(obj, HostCount);
        var feedMode = FeedConfigReader.ReadServiceMode(obj, DefaultFeedMode);
        var shedding = FeedConfigReader.ReadShedding(obj);
        var fallback = ReadFallback(obj);
        if (behavior == AllUnhealthyBehavior.Fallback && fallback.Count == 0 && !obj.Has("fallback"))
        {
            obj.Error("fallback", "whenAllUnhealthy 'fallback' needs a non-empty 'fallback' list of addresses");
        }

        if (source.Errors.Count != errorsBefore)
        {
            return null;
        }

        // Arrays, not the lists being filled: the snapshot is shared by every query thread and must not change.
        return new ServiceConfig(DnsName.Root, ttl, [.. endpoints.Select(e => e with { FeedMode = feedMode })], check, [.. policies], behavior, [.. fallback])
        {
            DataCenterHealth = dataCenterHealth,
            ServiceHealth = serviceHealth,
            HostAnswer = hostAnswer,
            FeedMode = feedMode,
            Shedding = shedding,
        };
    }

    private uint ReadTtl(ConfigObject obj)
    {
        var limits = _topology.Ttl;
        if (obj.Integer("ttl", 0, TopologyReader.MaxTtl) is not { } ttl)
        {
            return limits.Default;
        }

        if (_topology.TtlValid && (ttl < limits.Min || ttl > limits.Max))
        {
            obj.Error("ttl", $"ttl {ttl} is outside ttl.min..ttl.max ({limits.Min}..{limits.Max})");
        }

        return (uint)ttl;
    }

    private List<Endpoint> ReadEndpoints(ConfigObject obj, string serviceId, HealthCheck? check, bool hasCheck)
    {
        var endpoints = new List<Endpoint>();
        if (!obj.TryGet("endpoints", out var array))
        {
            obj.Error("endpoints", "a service needs at least one endpoint");
            return endpoints;
        }

        var path = obj.PathOf("endpoints");
        if (!ConfigObject.IsKind(obj.Source, array, path, JsonValueKind.Array))
        {
            return endpoints;
        }

        if (array.GetArrayLength() == 0)
        {
            obj.Error("endpoints", "a service needs at least one endpoint");
            return endpoints;
        }

        HostCount = 0;
        var seen = new Dictionary<(string, string), int>();
        var children = 0;
        var hosts = 0;
        var index = 0;
        foreach (var element in array.EnumerateArray())
        {
            var endpointPath = JsonPathText.Index(path, index);
            var endpoint = ConfigObject.Open(obj.Source, element, endpointPath, EndpointKnown);
            if (endpoint is not null)
            {
                var dataCenter = endpoint.Text("dataCenter", required: true);
                if (dataCenter is not null && !_topology.DataCenters.ContainsKey(dataCenter) && !_topology.Incomplete)
                {
                    endpoint.Error("dataCenter", $"unknown data center '{dataCenter}'{NameHints.DidYouMean(dataCenter, _topology.DataCenters.Keys)}");
                }

                var childName = ReadChildName(endpoint, obj.Source.Origin);
                var host = endpoint.Has("host") && HealthCheckReader.ReadHost(endpoint) is { } hostText ? DnsName.Parse(hostText + ".") : null;
                var address = childName is null && host is null && !endpoint.Has("host") ? ReadAddress(endpoint, "address") : IPAddress.Any;
                if (childName is not null)
                {
                    children++;
                }

                if ((endpoint.Has("service") ? 1 : 0) + (endpoint.Has("host") ? 1 : 0) + (endpoint.Has("address") ? 1 : 0) > 1)
                {
                    endpoint.Error(endpoint.Has("address") ? "address" : "host", "an endpoint is one of 'address', 'host' or 'service'");
                }

                if (host is not null)
                {
                    hosts++;
                }

                var weight = (int)(endpoint.Integer("weight", 0, MaxWeight) ?? DefaultWeight);
                var priority = (int)(endpoint.Integer("priority", 0, MaxPriority) ?? 0);
                var capacity = FeedConfigReader.ReadCapacity(endpoint);
                var checkTarget = endpoint.TryGet("check", out var checkElement)
                    ? HealthCheckReader.ReadEndpoint(obj.Source, checkElement, endpoint.PathOf("check"), check, hasCheck)
                    : null;
                var answer = childName?.ToString()[..^1] ?? host?.ToString()[..^1] ?? address?.ToString();
                if (dataCenter is not null && address is not null && answer is not null)
                {
                    if (seen.TryGetValue((dataCenter, answer), out var firstIndex))
                    {
                        obj.Source.Error(endpointPath, $"endpoint {dataCenter}/{answer} is listed twice (first at endpoints[{firstIndex}])");
                    }
                    else
                    {
                        seen[(dataCenter, answer)] = index;
                        if (childName is not null)
                        {
                            _nested.Refer(serviceId, endpoints.Count, childName, obj.Source, endpoint.PathOf("service"));
                        }

                        endpoints.Add(new Endpoint($"{serviceId}/{dataCenter}/{answer}", dataCenter, address, weight, priority) { Check = checkTarget, Host = host, Capacity = capacity });
                    }
                }
            }

            index++;
        }

        HostCount = hosts;
        if (children > 0 && children < index)
        {
            obj.Error("endpoints", "a service's endpoints are all services or none: mixing child services with addresses would answer either kind for one name");
        }

        if (children > 0 && hasCheck)
        {
            obj.Error("check", "a service whose endpoints are services has no check of its own: each child service's check decides");
        }

        return endpoints;
    }

    /// <summary>Hostname endpoints in the service last read (<c>hostAnswer</c> applies only to services with some).</summary>
    private int HostCount { get; set; }

    private static HostAnswerMode ReadHostAnswer(ConfigObject obj, int hosts)
    {
        if (obj.Text("hostAnswer") is not { } text)
        {
            return HostAnswerMode.Flatten;
        }

        if (hosts == 0)
        {
            obj.Error("hostAnswer", "'hostAnswer' applies to services with 'host' endpoints; this one has none");
        }

        switch (text)
        {
            case "flatten":
                return HostAnswerMode.Flatten;
            case "cname":
                return HostAnswerMode.Cname;
            default:
                obj.Error("hostAnswer", $"hostAnswer must be 'flatten' or 'cname', not '{text}'{NameHints.DidYouMean(text, ["flatten", "cname"])}");
                return HostAnswerMode.Flatten;
        }
    }

    /// <summary>An endpoint's <c>service</c>: absolute, or relative to the zone the file is named after; null when absent or invalid (reported).</summary>
    private static DnsName? ReadChildName(ConfigObject endpoint, DnsName? origin)
    {
        if (endpoint.Text("service") is not { } text)
        {
            return null;
        }

        if (DnsName.TryParse(text, null, out var absolute, out _))
        {
            return absolute;
        }

        if (origin is null)
        {
            endpoint.Error("service", $"relative service name '{text}' needs a file named after a served zone, or write it absolute with a trailing dot");
            return null;
        }

        if (!DnsName.TryParse(text, origin, out var name, out var error))
        {
            endpoint.Error("service", $"invalid service name '{text}': {error}");
            return null;
        }

        return name;
    }

    private List<ISelectionPolicy> ReadPolicies(ConfigObject obj)
    {
        var policies = new List<ISelectionPolicy>();
        if (!obj.TryGet("policy", out var array))
        {
            obj.Missing("policy");
            return policies;
        }

        var path = obj.PathOf("policy");
        if (!ConfigObject.IsKind(obj.Source, array, path, JsonValueKind.Array))
        {
            return policies;
        }

        if (array.GetArrayLength() == 0)
        {
            obj.Error("policy", "policy needs at least one step, e.g. [{\"type\": \"healthy\"}, {\"type\": \"weighted\"}]");
            return policies;
        }

        var index = 0;
        foreach (var step in array.EnumerateArray())
        {
            var stepPath = JsonPathText.Index(path, index++);
            if (!ConfigObject.IsKind(obj.Source, step, stepPath, JsonValueKind.Object))
            {
                continue;
            }

            // Each policy reads its own options; its errors go through this file's source, so they carry their lines.
            if (PolicyFactory.Create(obj.Source, step, stepPath, _topology.DataCenters) is { } policy)
            {
                policies.Add(policy);
            }
        }

        return policies;
    }

    private static List<IPAddress> ReadFallback(ConfigObject obj)
    {
        var addresses = new List<IPAddress>();
        if (!obj.TryGet("fallback", out var array))
        {
            return addresses;
        }

        var path = obj.PathOf("fallback");
        if (!ConfigObject.IsKind(obj.Source, array, path, JsonValueKind.Array))
        {
            return addresses;
        }

        if (array.GetArrayLength() == 0)
        {
            obj.Error("fallback", "fallback must list at least one address; leave it out when there is none");
            return addresses;
        }

        foreach (var (text, elementPath) in ConfigObject.StringItems(obj.Source, array, path))
        {
            if (!AddressText.TryParse(text, out var address, out var error))
            {
                obj.Source.Error(elementPath, error);
            }
            else if (addresses.Contains(address))
            {
                obj.Source.Error(elementPath, $"fallback address {address} is listed twice");
            }
            else
            {
                addresses.Add(address);
            }
        }

        return addresses;
    }

    private static IPAddress? ReadAddress(ConfigObject obj, string name)
    {
        var text = obj.Text(name, required: true);
        if (text is null)
        {
            return null;
        }

        if (!AddressText.TryParse(text, out var address, out var error))
        {
            obj.Error(name, error);
            return null;
        }

        return address;
    }
}
