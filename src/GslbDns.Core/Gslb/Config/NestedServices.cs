using GslbDns.Dns;

namespace GslbDns.Gslb.Config;

/// <summary>
/// The <c>service</c> endpoints of every file (nested services): collected while services are read, resolved once all are.
/// Each reference keeps where it was written, so an unknown name, a self-reference or the reference that closes a cycle
/// (<c>a -> b -> a</c>) is reported with its file, line and JSON path.
/// </summary>
internal sealed class NestedServices
{
    private readonly List<Reference> _references = [];

    /// <summary>Endpoint <paramref name="endpoint"/> of the service with id <paramref name="parentId"/> stands for <paramref name="child"/>.</summary>
    public void Refer(string parentId, int endpoint, DnsName child, ConfigSource source, string path) =>
        _references.Add(new Reference(parentId, endpoint, child, source, path));

    /// <summary>
    /// The services with every child-service endpoint linked to the child it names, children first, so a parent holds its
    /// children as they are finally linked. Reports what cannot be linked; the config is then thrown away by the caller.
    /// </summary>
    /// <param name="read">The services that read without errors.</param>
    /// <param name="defined">Every service name defined, valid or not (a reference to one with errors adds no error of its own).</param>
    public Dictionary<DnsName, ServiceConfig> Link(Dictionary<DnsName, ServiceConfig> read, IEnumerable<DnsName> defined)
    {
        if (_references.Count == 0)
        {
            return read;
        }

        var names = defined.ToHashSet();
        var byId = read.Keys.ToDictionary(n => n.ToString()[..^1], StringComparer.Ordinal);
        var edges = new Dictionary<DnsName, List<Reference>>();
        var failed = false;
        foreach (var reference in _references)
        {
            if (!byId.TryGetValue(reference.ParentId, out var parent))
            {
                continue;
            }

            if (!names.Contains(reference.Child))
            {
                var known = names.Select(n => n.ToString());
                reference.Source.Error(reference.Path, $"unknown service '{reference.Child}'{NameHints.DidYouMean(reference.Child.ToString(), known)}: a child service must be defined in some file's 'services'");
                failed = true;
            }
            else if (reference.Child == parent)
            {
                reference.Source.Error(reference.Path, $"service {parent} refers to itself: nested services must form a tree");
                failed = true;
            }
            else if (read.ContainsKey(reference.Child))
            {
                if (!edges.TryGetValue(parent, out var list))
                {
                    edges[parent] = list = [];
                }

                list.Add(reference);
            }
            else
            {
                // The child has errors of its own, reported where it is defined.
                failed = true;
            }
        }

        failed |= RejectCycles(read.Keys, edges);
        if (failed)
        {
            return read;
        }

        var linked = new Dictionary<DnsName, (ServiceConfig Service, int Depth)>();
        foreach (var name in read.Keys)
        {
            LinkOne(name, read, edges, linked);
        }

        return linked.ToDictionary(e => e.Key, e => e.Value.Service);
    }

    /// <summary>Depth-first in definition order; a reference to a service still on the path closes a cycle and is reported there.</summary>
    private static bool RejectCycles(IEnumerable<DnsName> services, Dictionary<DnsName, List<Reference>> edges)
    {
        var done = new HashSet<DnsName>();
        var path = new List<DnsName>();
        var found = false;

        void Visit(DnsName service)
        {
            path.Add(service);
            foreach (var reference in edges.GetValueOrDefault(service) ?? [])
            {
                var onPath = path.IndexOf(reference.Child);
                if (onPath >= 0)
                {
                    var cycle = string.Join(" -> ", path.Skip(onPath).Append(reference.Child));
                    reference.Source.Error(reference.Path, $"nested services form a cycle ({cycle}): this reference closes it; nested services must form a tree");
                    found = true;
                }
                else if (!done.Contains(reference.Child))
                {
                    Visit(reference.Child);
                }
            }

            path.RemoveAt(path.Count - 1);
            done.Add(service);
        }

        foreach (var service in services)
        {
            if (!done.Contains(service))
            {
                Visit(service);
            }
        }

        return found;
    }

    private static (ServiceConfig Service, int Depth) LinkOne(DnsName name, Dictionary<DnsName, ServiceConfig> read, Dictionary<DnsName, List<Reference>> edges, Dictionary<DnsName, (ServiceConfig, int)> linked)
    {
        if (linked.TryGetValue(name, out var done))
        {
            return done;
        }

        var service = read[name];
        if (!edges.TryGetValue(name, out var references))
        {
            return linked[name] = (service, 0);
        }

        var endpoints = service.Endpoints.ToArray();
        var depth = 0;
        foreach (var reference in references)
        {
            var (child, childDepth) = LinkOne(reference.Child, read, edges, linked);
            endpoints[reference.Endpoint] = endpoints[reference.Endpoint] with { Child = child };
            if (childDepth == CalculatedHealth.MaxNesting)
            {
                reference.Source.Error(reference.Path, $"service {reference.Child} is itself nested {CalculatedHealth.MaxNesting} deep: at most {CalculatedHealth.MaxNesting} levels of nested services");
            }

            depth = Math.Max(depth, childDepth + 1);
        }

        return linked[name] = (service with { Endpoints = endpoints }, depth);
    }

    private sealed record Reference(string ParentId, int Endpoint, DnsName Child, ConfigSource Source, string Path);
}
