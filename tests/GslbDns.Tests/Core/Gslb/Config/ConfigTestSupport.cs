using System.Runtime.CompilerServices;
using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Gslb.Config;

namespace GslbDns.Tests.Core.Gslb.ConfigFiles;

/// <summary>A small valid config, helpers to load text and to find the line a test marks with <c>/*!*/</c>.</summary>
internal static class ConfigTestSupport
{
    public const string Marker = "/*!*/";

    public const string FileName = "zones/example.com.gslb.json";

    public static readonly DnsName[] Served = [DnsName.Parse("example.com."), DnsName.Parse("example.net.")];

    /// <summary>Valid as it stands; each rule test breaks one thing in it (comments are allowed in config files).</summary>
    public const string Valid = """
        {
          "regions": {
            "eu": { "latitude": 50.1, "longitude": 8.7 },
            "na": { "latitude": 38.9, "longitude": -77.0 }
          },
          "dataCenters": {
            "eu-west": { "latitude": 53.35, "longitude": -6.26, "region": "eu", "bias": 0 },
            "us-east": { "latitude": 39.04, "longitude": -77.49, "region": "na" }
          },
          "rtt": { "eu": { "eu-west": 5, "us-east": 80 } },
          "ttl": { "default": 30, "min": 5, "max": 300 },
          "defaultLocation": { "latitude": 39.0, "longitude": -77.5 },
          "services": {
            "www": {
              "ttl": 20,
              "policy": [ { "type": "healthy" }, { "type": "geo-proximity", "count": 1 }, { "type": "weighted" } ],
              "whenAllUnhealthy": "fail-open",
              "check": { "type": "http", "port": 80, "path": "/health", "expectStatus": 200, "expectBody": null, "queryName": null, "interval": "1s", "timeout": "800ms", "failureThreshold": 3, "successThreshold": 2 },
              "endpoints": [
                { "dataCenter": "eu-west", "address": "192.0.2.10", "weight": 100, "priority": 1 },
                { "dataCenter": "us-east", "address": "2001:db8::10" }
              ]
            }
          }
        }
        """;

    public static GslbConfig Load(string json, string file = FileName) => GslbConfigLoader.LoadFromText([(file, json)], Served);

    public static IReadOnlyList<ConfigError> Errors(params (string File, string Json)[] files)
    {
        var ex = Assert.Throws<GslbConfigException>(() => GslbConfigLoader.LoadFromText(files, Served));
        Assert.NotEmpty(ex.Errors);
        return ex.Errors;
    }

    public static IReadOnlyList<ConfigError> Errors(string json, string file = FileName) => Errors((file, json));

    /// <summary>One broken thing in <see cref="Valid"/>: the error must name the file, the marked line and <paramref name="path"/>.</summary>
    public static void AssertRule(string find, string replace, string path, string reason)
    {
        var text = Edit(Valid, find, replace);

        var error = Single(Errors(text), path);

        Assert.Equal(FileName, error.File);
        Assert.Equal(MarkedLine(text), error.Line);
        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);
        Assert.StartsWith($"{FileName}:{error.Line}: {path}: ", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Applies <c>find</c> -> <c>replace</c> pairs (separated by <c>|</c>); each find must occur exactly once.</summary>
    public static string Edit(string text, string find, string replace)
    {
        var finds = find.Split('|');
        var replaces = replace.Split('|');
        Assert.Equal(finds.Length, replaces.Length);
        for (var i = 0; i < finds.Length; i++)
        {
            var at = text.IndexOf(finds[i], StringComparison.Ordinal);
            Assert.True(at >= 0, $"'{finds[i]}' is not in the text");
            Assert.True(text.IndexOf(finds[i], at + 1, StringComparison.Ordinal) < 0, $"'{finds[i]}' occurs more than once");
            text = string.Concat(text.AsSpan(0, at), replaces[i], text.AsSpan(at + finds[i].Length));
        }

        return text;
    }

    /// <summary>1-based line of the <see cref="Marker"/> comment.</summary>
    public static int MarkedLine(string text)
    {
        var at = text.IndexOf(Marker, StringComparison.Ordinal);
        Assert.True(at >= 0, "the test text has no marker");
        return text.AsSpan(0, at).Count('\n') + 1;
    }

    public static int LineOf(string text, string fragment)
    {
        var at = text.IndexOf(fragment, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{fragment}' is not in the text");
        return text.AsSpan(0, at).Count('\n') + 1;
    }

    public static ConfigError Single(IReadOnlyList<ConfigError> errors, string path)
    {
        var matches = errors.Where(e => e.Path == path).ToList();
        Assert.True(matches.Count == 1, $"expected one error at {path}, got:\n{string.Join('\n', errors)}");
        return matches[0];
    }

    /// <summary>The repository root (holds GslbDns.sln): from the test binaries, else from this source file (for --artifacts-path builds).</summary>
    public static string RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(SourceFile()) ?? "." })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (System.IO.File.Exists(Path.Combine(dir.FullName, "GslbDns.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("No directory above the tests or their source holds GslbDns.sln.");
    }

    private static string SourceFile([CallerFilePath] string path = "") => path;
}
