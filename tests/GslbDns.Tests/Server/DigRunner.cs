using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>One record line of dig or kdig output: owner, TTL, class, type, then the RDATA as printed.</summary>
internal sealed record DigRecord(string Name, uint Ttl, string Class, string Type, string Data);

/// <summary>
/// The parts of a dig (BIND 9.18) or kdig (Knot 3.2) reply printout the tests check: header line, flags line,
/// EDNS pseudo-section, NSID, and the answer, authority and additional sections.
/// </summary>
internal sealed partial class DigOutput
{
    public required string Raw { get; init; }

    public string Opcode { get; private set; } = "";

    public string Status { get; private set; } = "";

    public int Id { get; private set; }

    public HashSet<string> Flags { get; } = new(StringComparer.Ordinal);

    public int QueryCount { get; private set; } = -1;

    public int AnswerCount { get; private set; } = -1;

    public int AuthorityCount { get; private set; } = -1;

    public int AdditionalCount { get; private set; } = -1;

    public bool HasEdns { get; private set; }

    public int? EdnsVersion { get; private set; }

    public int? EdnsUdpSize { get; private set; }

    public string? Nsid { get; private set; }

    /// <summary>Reply size as printed ("MSG SIZE rcvd: N" / "Received N B").</summary>
    public int? Size { get; private set; }

    public List<DigRecord> Question { get; } = [];

    public List<DigRecord> Answer { get; } = [];

    public List<DigRecord> Authority { get; } = [];

    public List<DigRecord> Additional { get; } = [];

    public bool Authoritative => Flags.Contains("aa");

    public bool Truncated => Flags.Contains("tc");

    public bool RecursionAvailable => Flags.Contains("ra");

    public override string ToString() => Raw;

    [GeneratedRegex(@"->>HEADER<<- opcode: (\w+)[,;] status: (\w+)[,;] id: (\d+)")]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@"^;; [Ff]lags:([^;]*); QUERY: (\d+)[,;] ANSWER: (\d+)[,;] AUTHORITY: (\d+)[,;] ADDITIONAL: (\d+)")]
    private static partial Regex FlagsLine();

    [GeneratedRegex(@"(?:EDNS: version: |;; Version: )(\d+)")]
    private static partial Regex EdnsLine();

    [GeneratedRegex(@"(?:udp: |UDP size: )(\d+)")]
    private static partial Regex UdpSize();

    [GeneratedRegex(@"NSID: [^""]*""([^""]*)""")]
    private static partial Regex NsidLine();

    [GeneratedRegex(@"(?:MSG SIZE\s+rcvd: |;; Received )(\d+)")]
    private static partial Regex SizeLine();

    [GeneratedRegex(@"^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:")]
    private static partial Regex SectionLine();

    /// <summary>Parses the first reply printed (dig prints one per message received).</summary>
    public static DigOutput Parse(string text)
    {
        var output = new DigOutput { Raw = text };
        List<DigRecord>? section = null;
        var sawHeader = false;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var header = HeaderLine().Match(line);
            if (header.Success)
            {
                if (sawHeader)
                {
                    break;
                }

                sawHeader = true;
                output.Opcode = header.Groups[1].Value;
                output.Status = header.Groups[2].Value;
                output.Id = int.Parse(header.Groups[3].Value, CultureInfo.InvariantCulture);
                continue;
            }

            var flags = FlagsLine().Match(line);
            if (flags.Success)
            {
                foreach (var flag in flags.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    output.Flags.Add(flag);
                }

                output.QueryCount = int.Parse(flags.Groups[2].Value, CultureInfo.InvariantCulture);
                output.AnswerCount = int.Parse(flags.Groups[3].Value, CultureInfo.InvariantCulture);
                output.AuthorityCount = int.Parse(flags.Groups[4].Value, CultureInfo.InvariantCulture);
                output.AdditionalCount = int.Parse(flags.Groups[5].Value, CultureInfo.InvariantCulture);
                continue;
            }

            var edns = EdnsLine().Match(line);
            if (edns.Success)
            {
                output.HasEdns = true;
                output.EdnsVersion = int.Parse(edns.Groups[1].Value, CultureInfo.InvariantCulture);
                var udp = UdpSize().Match(line);
                if (udp.Success)
                {
                    output.EdnsUdpSize = int.Parse(udp.Groups[1].Value, CultureInfo.InvariantCulture);
                }

                continue;
            }

            var nsid = NsidLine().Match(line);
            if (nsid.Success)
            {
                output.Nsid = nsid.Groups[1].Value;
                continue;
            }

            var size = SizeLine().Match(line);
            if (size.Success)
            {
                output.Size = int.Parse(size.Groups[1].Value, CultureInfo.InvariantCulture);
                continue;
            }

            var sectionStart = SectionLine().Match(line);
            if (sectionStart.Success)
            {
                section = sectionStart.Groups[1].Value switch
                {
                    "QUESTION" => output.Question,
                    "ANSWER" => output.Answer,
                    "AUTHORITY" => output.Authority,
                    _ => output.Additional,
                };
                continue;
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                section = null;
                continue;
            }

            if (section is null)
            {
                continue;
            }

            // Question lines are commented out (";name IN A" in dig, ";; name IN A" in kdig); records are not.
            if (section == output.Question)
            {
                var fields = line.TrimStart(';', ' ').Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length >= 3)
                {
                    output.Question.Add(new DigRecord(fields[0], 0, fields[1], fields[2], ""));
                }

                continue;
            }

            if (line.StartsWith(';'))
            {
                continue;
            }

            var parts = line.Split((char[])['\t', ' '], 5, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 4 && uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ttl))
            {
                section.Add(new DigRecord(parts[0], ttl, parts[2], parts[3], parts.Length > 4 ? parts[4].Trim() : ""));
            }
        }

        if (!sawHeader)
        {
            throw new FormatException($"no reply header in the output:\n{text}");
        }

        return output;
    }
}

/// <summary>Runs dig and kdig as child processes against a server, with a deadline, and parses what they print.</summary>
internal static class DigRunner
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(15);

    /// <summary>dig @server -p port ARGS, one try, no recursion asked unless the arguments say so.</summary>
    public static Task<DigOutput> DigAsync(IPEndPoint server, params string[] arguments)
        => RunAsync("dig", [$"@{server.Address}", "-p", server.Port.ToString(CultureInfo.InvariantCulture), "+norec", "+time=3", "+tries=1", .. arguments]);

    /// <summary>kdig @server -p port ARGS, one try, EDNS 0 like dig's default, no recursion asked unless the arguments say so.</summary>
    public static Task<DigOutput> KdigAsync(IPEndPoint server, params string[] arguments)
        => RunAsync("kdig", [$"@{server.Address}", "-p", server.Port.ToString(CultureInfo.InvariantCulture), "+norec", "+edns=0", "+time=3", "+retry=0", .. arguments]);

    private static async Task<DigOutput> RunAsync(string tool, string[] arguments)
    {
        var result = await ChildProcess.RunAsync(tool, arguments, ProcessTimeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed: {result}");
        }

        try
        {
            return DigOutput.Parse(result.StandardOutput);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"{tool} {string.Join(' ', arguments)}: {ex.Message}\n{result}", ex);
        }
    }
}
