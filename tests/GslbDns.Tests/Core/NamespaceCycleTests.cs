using System.Text.RegularExpressions;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Core;

/// <summary>
/// The folders of GslbDns.Core are its namespaces, and they depend on each other in one direction only
/// (names and wire -> zones -> query -> answers; reports <- probing, health). A cycle means two folders
/// can only change together, so a new one fails here, naming the files that close it.
/// Read from the source files' <c>using</c> lines and fully qualified <c>GslbDns.X.</c> references:
/// cheap, and enough because every file sits in the namespace of its folder (checked below).
/// </summary>
public sealed partial class NamespaceCycleTests
{
    private static readonly string CoreFolder = Path.Combine(RepoLayout.Root, "src", "GslbDns.Core");

    [Fact]
    public void Core_folders_depend_on_each_other_without_a_cycle()
    {
        var graph = ReadFolderGraph(CoreFolder);

        var cycle = FindCycle(graph.ToDictionary(e => e.Key, e => e.Value.Keys.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal));

        Assert.True(graph.Count >= 10, $"expected the Core folders, read {graph.Count}: {string.Join(", ", graph.Keys)}");
        Assert.True(cycle is null, cycle is null ? string.Empty : DescribeCycle(cycle, graph));
    }

    [Fact]
    public void Every_Core_file_declares_the_namespace_of_its_folder()
    {
        var wrong = new List<string>();
        foreach (var file in SourceFiles(CoreFolder))
        {
            var relative = Path.GetRelativePath(CoreFolder, Path.GetDirectoryName(file)!);
            var expected = relative == "." ? "GslbDns" : "GslbDns." + relative.Replace(Path.DirectorySeparatorChar, '.');
            var declared = NamespaceLine().Match(File.ReadAllText(file));
            if (!declared.Success || declared.Groups[1].Value != expected)
            {
                wrong.Add($"{Path.GetRelativePath(CoreFolder, file)}: {(declared.Success ? declared.Groups[1].Value : "no namespace")}, expected {expected}");
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void Zone_reading_and_geo_data_depend_on_names_only()
    {
        var graph = ReadFolderGraph(CoreFolder);

        // Zones is read by the query engine and the snapshot builder; Geo by policies and explain. If either
        // reached up (Zones -> Gslb, Geo -> Zones for an exception type), loading one would drag in the other.
        Assert.Equal(["Dns"], graph["Zones"].Keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain("Zones", graph["Geo"].Keys);
        Assert.DoesNotContain("Gslb", graph["Geo"].Keys);
    }

    [Fact]
    public void The_cycle_finder_reports_a_cycle_and_accepts_a_layering()
    {
        var layered = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal)
        {
            ["Query"] = ["Zones", "Dns"],
            ["Zones"] = ["Dns"],
            ["Dns"] = [],
        };
        var cyclic = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal)
        {
            ["Gslb"] = ["Dns", "Query"],
            ["Query"] = ["Zones", "Gslb"],
            ["Zones"] = ["Dns"],
            ["Dns"] = [],
        };

        Assert.Null(FindCycle(layered));
        var cycle = FindCycle(cyclic);
        Assert.NotNull(cycle);
        Assert.Equal(["Gslb", "Query"], cycle.Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(cycle[0], cycle[^1]);
    }

    /// <summary>Folder -> folders it references, each with the first file that does (for the failure message).</summary>
    private static Dictionary<string, Dictionary<string, string>> ReadFolderGraph(string root)
    {
        var graph = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var file in SourceFiles(root))
        {
            var folder = TopFolder(root, file);
            if (!graph.TryGetValue(folder, out var edges))
            {
                graph[folder] = edges = new Dictionary<string, string>(StringComparer.Ordinal);
            }

            foreach (var target in References(File.ReadAllLines(file)))
            {
                if (target != folder)
                {
                    edges.TryAdd(target, Path.GetRelativePath(root, file));
                }
            }
        }

        // "GslbDns.Core" and other names that are no folder of Core (strings, the test's own assembly) are not edges.
        foreach (var edges in graph.Values)
        {
            foreach (var target in edges.Keys.Where(t => !graph.ContainsKey(t)).ToList())
            {
                edges.Remove(target);
            }
        }

        return graph;
    }

    /// <summary>Top-level GslbDns.Core folders a file names: <c>using GslbDns.X...;</c> (also static and aliases) and <c>GslbDns.X.</c> in code.</summary>
    private static IEnumerable<string> References(string[] lines)
    {
        foreach (var line in lines)
        {
            var trimmed = line.TrimStart();
            if (trimmed.StartsWith("namespace ", StringComparison.Ordinal))
            {
                continue;
            }

            var code = trimmed.StartsWith("///", StringComparison.Ordinal) ? trimmed : StripComment(trimmed);
            foreach (Match match in QualifiedName().Matches(code))
            {
                yield return match.Groups[1].Value;
            }
        }
    }

    private static string StripComment(string line)
    {
        var comment = line.IndexOf("//", StringComparison.Ordinal);
        return comment < 0 ? line : line[..comment];
    }

    private static string TopFolder(string root, string file)
    {
        var relative = Path.GetRelativePath(root, file);
        var separator = relative.IndexOf(Path.DirectorySeparatorChar, StringComparison.Ordinal);
        return separator < 0 ? "(root)" : relative[..separator];
    }

    private static IEnumerable<string> SourceFiles(string root) =>
        Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => TopFolder(root, f) is not ("bin" or "obj"))
            .Order(StringComparer.Ordinal);

    /// <summary>A cycle as a path that starts and ends at the same folder, or null when the graph has none.</summary>
    internal static List<string>? FindCycle(IReadOnlyDictionary<string, HashSet<string>> graph)
    {
        var state = new Dictionary<string, bool>(StringComparer.Ordinal); // false: on the current path; true: done
        var path = new List<string>();
        foreach (var start in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (Visit(start) is { } found)
            {
                return found;
            }
        }

        return null;

        List<string>? Visit(string node)
        {
            if (state.TryGetValue(node, out var done))
            {
                return done ? null : [.. path.Skip(path.IndexOf(node)), node];
            }

            state[node] = false;
            path.Add(node);
            foreach (var next in (graph.TryGetValue(node, out var edges) ? edges : []).Order(StringComparer.Ordinal))
            {
                if (Visit(next) is { } found)
                {
                    return found;
                }
            }

            path.RemoveAt(path.Count - 1);
            state[node] = true;
            return null;
        }
    }

    private static string DescribeCycle(List<string> cycle, Dictionary<string, Dictionary<string, string>> graph)
    {
        var hops = new List<string>();
        for (var i = 0; i + 1 < cycle.Count; i++)
        {
            hops.Add($"{cycle[i]} -> {cycle[i + 1]} (first in {graph[cycle[i]][cycle[i + 1]]})");
        }

        return "namespace cycle in GslbDns.Core: " + string.Join(", ", hops);
    }

    [GeneratedRegex(@"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();

    [GeneratedRegex(@"\bGslbDns\.(\w+)\b")]
    private static partial Regex QualifiedName();
}
