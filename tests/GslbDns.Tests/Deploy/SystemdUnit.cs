using System.Text;

namespace GslbDns.Tests.Deploy;

/// <summary>
/// A systemd unit file read the way systemd reads it (systemd.syntax(7)): sections, <c>Key=Value</c>
/// lines, <c>#</c>/<c>;</c> comments, a trailing backslash joining lines. Enough to turn the unit's
/// <c>ExecStart=</c> into the argv systemd would pass, so a test can hand it to the real program.
/// </summary>
internal sealed class SystemdUnit
{
    private readonly List<(string Section, string Key, string Value)> _entries;

    private SystemdUnit(string name, List<(string, string, string)> entries)
    {
        Name = name;
        _entries = entries;
    }

    /// <summary>The unit's file name without <c>.service</c>.</summary>
    public string Name { get; }

    public static SystemdUnit Load(string path)
    {
        var entries = new List<(string, string, string)>();
        var section = "";
        var pending = new StringBuilder();
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (pending.Length == 0 && (line.Length == 0 || line[0] is '#' or ';'))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending.Append(line.AsSpan(0, line.Length - 1)).Append(' ');
                continue;
            }

            pending.Append(line);
            var logical = pending.ToString().Trim();
            pending.Clear();
            if (logical.StartsWith('['))
            {
                section = logical.Trim('[', ']');
                continue;
            }

            var equals = logical.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"{path}: '{logical}' is neither a section nor Key=Value");
            }

            entries.Add((section, logical[..equals].Trim(), logical[(equals + 1)..].Trim()));
        }

        return new SystemdUnit(System.IO.Path.GetFileNameWithoutExtension(path), entries);
    }

    /// <summary>Every value of <paramref name="key"/> in <paramref name="section"/>, in file order.</summary>
    public IReadOnlyList<string> All(string section, string key)
        => _entries.Where(e => e.Section == section && e.Key == key).Select(e => e.Value).ToList();

    /// <summary>The last value of a key (later assignments win), or null.</summary>
    public string? Last(string section, string key)
    {
        var values = All(section, key);
        return values.Count == 0 ? null : values[^1];
    }

    /// <summary>
    /// The environment systemd gives ExecStart: <c>Environment=</c> assignments, then each
    /// <c>EnvironmentFile=</c> (read through <paramref name="mapPath"/>, later ones win).
    /// </summary>
    public Dictionary<string, string> Environment(Func<string, string> mapPath)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var assignment in All("Service", "Environment"))
        {
            foreach (var word in SplitWords(assignment))
            {
                var equals = word.IndexOf('=', StringComparison.Ordinal);
                environment[word[..equals]] = word[(equals + 1)..];
            }
        }

        foreach (var file in All("Service", "EnvironmentFile"))
        {
            var optional = file.StartsWith('-');
            var path = mapPath(optional ? file[1..] : file);
            if (!File.Exists(path))
            {
                if (optional)
                {
                    continue;
                }

                throw new FileNotFoundException($"{Name}: EnvironmentFile {path} is required and missing");
            }

            foreach (var (key, value) in ReadEnvironmentFile(path))
            {
                environment[key] = value;
            }
        }

        return environment;
    }

    /// <summary>
    /// ExecStart as argv, expanded as systemd.service(5) says: <c>${VAR}</c> inside a word, a word that is
    /// only <c>$VAR</c> split at whitespace into several words, <c>%d</c> the credentials directory, <c>%%</c> a percent.
    /// </summary>
    public IReadOnlyList<string> ExecStart(IReadOnlyDictionary<string, string> environment, string credentialsDirectory)
    {
        var line = Last("Service", "ExecStart") ?? throw new InvalidOperationException($"{Name}: no ExecStart");
        var argv = new List<string>();
        foreach (var word in SplitWords(line))
        {
            if (word.Length > 1 && word[0] == '$' && word[1] != '{' && word.Skip(1).All(IsNameChar))
            {
                argv.AddRange(environment.TryGetValue(word[1..], out var list) ? SplitWords(list) : []);
                continue;
            }

            argv.Add(ExpandWord(word, environment, credentialsDirectory));
        }

        return argv;
    }

    /// <summary>Every variable ExecStart refers to, as <c>$VAR</c> or <c>${VAR}</c>.</summary>
    public IReadOnlyList<string> ExecStartVariables()
    {
        var line = Last("Service", "ExecStart") ?? "";
        var names = new List<string>();
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] != '$' || i + 1 >= line.Length)
            {
                continue;
            }

            var braced = line[i + 1] == '{';
            var start = braced ? i + 2 : i + 1;
            var end = start;
            while (end < line.Length && IsNameChar(line[end]))
            {
                end++;
            }

            if (end > start && line[start..end] != "MAINPID")
            {
                names.Add(line[start..end]);
            }
        }

        return names;
    }

    public static IEnumerable<KeyValuePair<string, string>> ReadEnvironmentFile(string path)
    {
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            var value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && value[0] is '"' or '\'' && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            yield return new(line[..equals].Trim(), value);
        }
    }

    /// <summary>Splits at unquoted whitespace, removing double and single quotes.</summary>
    private static List<string> SplitWords(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char quote = '\0';
        foreach (var c in text)
        {
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }

    private static string ExpandWord(string word, IReadOnlyDictionary<string, string> environment, string credentialsDirectory)
    {
        var result = new StringBuilder();
        for (var i = 0; i < word.Length; i++)
        {
            if (word[i] == '%' && i + 1 < word.Length)
            {
                var specifier = word[++i];
                result.Append(specifier switch
                {
                    'd' => credentialsDirectory,
                    '%' => "%",
                    _ => throw new NotSupportedException($"specifier %{specifier} in '{word}'"),
                });
            }
            else if (word[i] == '$' && i + 1 < word.Length && word[i + 1] == '{')
            {
                var close = word.IndexOf('}', i);
                var name = word[(i + 2)..close];
                result.Append(environment.TryGetValue(name, out var value) ? value : "");
                i = close;
            }
            else
            {
                result.Append(word[i]);
            }
        }

        return result.ToString();
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}
