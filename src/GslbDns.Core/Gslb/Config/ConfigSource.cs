using System.Text.Json;
using GslbDns.Dns;

namespace GslbDns.Gslb.Config;

/// <summary>One parsed config file: its root, its line map, and the origin its file name gives relative service names.</summary>
internal sealed class ConfigSource
{
    public ConfigSource(string file, JsonElement root, JsonLineMap lines, DnsName? origin, List<ConfigError> errors)
    {
        File = file;
        Root = root;
        Lines = lines;
        Origin = origin;
        Errors = errors;
    }

    public string File { get; }

    public JsonElement Root { get; }

    public JsonLineMap Lines { get; }

    /// <summary>The served zone named by <c>&lt;origin&gt;.gslb.json</c>, or null when the file name names none.</summary>
    public DnsName? Origin { get; }

    public List<ConfigError> Errors { get; }

    public void Error(string path, string reason) => Errors.Add(new ConfigError(File, Lines.LineOf(path), path, reason));

    /// <summary><c>file:line</c> of a path, for messages that point at a second place (duplicates).</summary>
    public string Where(string path)
    {
        var line = Lines.LineOf(path);
        return line > 0 ? $"{File}:{line}" : File;
    }
}
