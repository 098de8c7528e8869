using System.Text;

namespace GslbDns.Hosting;

/// <summary>
/// The options one command accepts, in help order. A program builds its table from the shared options in
/// <see cref="CommonOptions"/> and its own; a subcommand adds its own to its program's table.
/// </summary>
public sealed class OptionTable
{
    private readonly List<CommandOption> _options = [];
    private readonly Dictionary<string, CommandOption> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _refused = new(StringComparer.Ordinal);

    public OptionTable(params IEnumerable<CommandOption>[] groups)
    {
        foreach (var option in groups.SelectMany(static g => g))
        {
            Add(option);
        }

        // Every process logs the same way; a derived table (With) already has them.
        foreach (var option in LogOptions.All.Where(o => !_byName.ContainsKey(o.Name)))
        {
            Add(option);
        }

        // No program takes a secret on its command line: ps and /proc show argv to every user.
        foreach (var name in CommonOptions.RefusedTokenOptions)
        {
            Refuse(name, $"not accepted on the command line (ps shows it to everyone); use {CommonOptions.ConsulTokenFile.Name} FILE or {ConsulToken.EnvironmentVariable}");
        }
    }

    public IReadOnlyList<CommandOption> Options => _options;

    /// <summary>A new table with this one's options followed by <paramref name="more"/> (a subcommand's own).</summary>
    public OptionTable With(params CommandOption[] more) => new(_options, more);

    public CommandOption? Find(string name) => _byName.GetValueOrDefault(name);

    internal string? RefusalFor(string name) => _refused.GetValueOrDefault(name);

    /// <summary>The "Options:" lines of the help text: one per option, its help and default, continuation lines aligned.</summary>
    public string HelpText()
    {
        var heads = _options.Select(static o => "  " + string.Join(", ", new[] { o.Name }.Concat(o.Aliases)) + (o.Placeholder is null ? string.Empty : " " + o.Placeholder)).ToList();
        heads.Add("  -h, --help");
        var column = Math.Min(heads.Max(static h => h.Length) + 2, 32);
        var text = new StringBuilder();
        for (var i = 0; i < _options.Count; i++)
        {
            var option = _options[i];
            var lines = option.Help.Split('\n');
            if (option.Required)
            {
                lines[^1] += " (required)";
            }
            else if (option.DefaultText is not null)
            {
                lines[^1] += $" (default: {option.DefaultText})";
            }

            Append(text, heads[i], column, lines);
        }

        Append(text, heads[^1], column, ["this text"]);
        return text.ToString().TrimEnd();
    }

    private static void Append(StringBuilder text, string head, int column, string[] lines)
    {
        if (head.Length + 2 > column)
        {
            text.Append(head).Append('\n').Append(' ', column);
        }
        else
        {
            text.Append(head.PadRight(column));
        }

        text.Append(lines[0]).Append('\n');
        foreach (var line in lines.Skip(1))
        {
            text.Append(' ', column).Append(line).Append('\n');
        }
    }

    private void Add(CommandOption option)
    {
        if (_byName.ContainsKey(option.Name) || option.Aliases.Any(_byName.ContainsKey))
        {
            throw new ArgumentException($"option {option.Name} is declared twice");
        }

        _options.Add(option);
        _byName[option.Name] = option;
        foreach (var alias in option.Aliases)
        {
            _byName[alias] = option;
        }
    }

    private void Refuse(string name, string reason) => _refused[name] = reason;
}
