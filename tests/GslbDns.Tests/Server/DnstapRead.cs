using System.Text;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>One dnstap message as BIND's <c>dnstap-read -y</c> prints it: the message fields, and the DNS messages as dig-style text.</summary>
internal sealed record DnstapEntry(IReadOnlyDictionary<string, string> Fields, string QueryText, string ResponseText)
{
    public string Type => Fields.GetValueOrDefault("type", "");

    public string Field(string name) => Fields.TryGetValue(name, out var value) ? value : throw new KeyNotFoundException($"no {name} in {string.Join(", ", Fields.Keys)}");

    /// <summary>The question's name, from whichever DNS message the entry carries.</summary>
    public string QuestionName
    {
        get
        {
            var text = QueryText.Length > 0 ? QueryText : ResponseText;
            var lines = text.Split('\n').Select(static l => l.Trim()).ToList();
            var at = lines.IndexOf(";; QUESTION SECTION:");
            return at >= 0 && at + 1 < lines.Count ? lines[at + 1].TrimStart(';').Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[0] : "";
        }
    }
}

/// <summary>Reads a dnstap file with Debian's <c>dnstap-read</c> (bind9-dnsutils), the independent reader the tests trust.</summary>
internal static class DnstapRead
{
    public static async Task<IReadOnlyList<DnstapEntry>> ReadAsync(string file)
    {
        var result = await ChildProcess.RunAsync("dnstap-read", ["-y", file], TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"dnstap-read -y {file} failed: {result}");
        return Parse(result.StandardOutput);
    }

    /// <summary>
    /// The YAML documents (<c>---</c> separated): the <c>message:</c> mapping's scalar fields, and the
    /// <c>query_message: |</c> / <c>response_message: |</c> blocks.
    /// </summary>
    public static IReadOnlyList<DnstapEntry> Parse(string yaml)
    {
        var entries = new List<DnstapEntry>();
        foreach (var document in yaml.Split("\n---", StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            var blocks = new Dictionary<string, StringBuilder>(StringComparer.Ordinal);
            var inMessage = false;
            string? block = null;
            var blockIndent = 0;
            foreach (var raw in document.Split('\n'))
            {
                var line = raw.TrimEnd();
                var indent = line.Length - line.TrimStart().Length;
                if (block is not null && (line.Length == 0 || indent > blockIndent))
                {
                    blocks[block].Append(line.Trim()).Append('\n');
                    continue;
                }

                block = null;
                if (line.TrimStart().StartsWith("---", StringComparison.Ordinal) || line.Length == 0)
                {
                    continue;
                }

                if (indent == 0)
                {
                    inMessage = line.StartsWith("message:", StringComparison.Ordinal);
                    continue;
                }

                if (!inMessage || indent != 2)
                {
                    continue; // the message's own fields only, not dnstap-read's nested *_message_data decoding
                }

                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon < 0)
                {
                    continue;
                }

                var key = line[..colon].Trim();
                var value = line[(colon + 1)..].Trim();
                if (value == "|")
                {
                    block = key;
                    blockIndent = indent;
                    blocks[key] = new StringBuilder();
                    continue;
                }

                fields[key] = value.Trim('"');
            }

            if (fields.Count > 0)
            {
                entries.Add(new DnstapEntry(fields, blocks.GetValueOrDefault("query_message")?.ToString() ?? "", blocks.GetValueOrDefault("response_message")?.ToString() ?? ""));
            }
        }

        return entries;
    }
}
