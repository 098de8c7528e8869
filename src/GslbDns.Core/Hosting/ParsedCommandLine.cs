namespace GslbDns.Hosting;

/// <summary>What <see cref="OptionParser"/> read: each option's values, the errors, and whether help was asked for.</summary>
public sealed class ParsedCommandLine
{
    private readonly Dictionary<CommandOption, List<object?>> _values;

    internal ParsedCommandLine(string? command, Dictionary<CommandOption, List<object?>> values, List<string> errors, bool helpRequested, IReadOnlyList<string>? positionals = null)
    {
        Positionals = positionals ?? [];
        Command = command;
        _values = values;
        Errors = errors;
        HelpRequested = helpRequested;
    }

    /// <summary>The subcommand (<c>serve</c>, <c>explain</c> ...), or null for a program without any.</summary>
    public string? Command { get; }

    /// <summary>Every problem, each naming its option; a program adds its own cross-option checks with <see cref="AddError"/>.</summary>
    public List<string> Errors { get; }

    public bool HelpRequested { get; }

    /// <summary>The arguments that are not options, in order (only for a command that takes them: <see cref="CommandDefinition.Positionals"/>).</summary>
    public IReadOnlyList<string> Positionals { get; }

    public bool IsSet(CommandOption option) => _values.ContainsKey(option);

    /// <summary>The last value given, else the default.</summary>
    public T Get<T>(CommandOption<T> option) => _values.TryGetValue(option, out var list) ? (T)list[^1]! : option.Default;

    /// <summary>Every value given, in order; else the option's default values.</summary>
    public IReadOnlyList<T> All<T>(CommandOption<T> option) =>
        _values.TryGetValue(option, out var list) ? list.Cast<T>().ToArray() : option.DefaultValues;

    public void AddError(string error) => Errors.Add(error);
}

/// <summary>Reads <c>--name value</c> and flags against an <see cref="OptionTable"/>.</summary>
public static class OptionParser
{
    /// <param name="positionals">How many arguments that are not options (<c>drain eu-west</c>) the command takes; more are errors.</param>
    public static ParsedCommandLine Parse(OptionTable table, IReadOnlyList<string> args, string? command = null, int positionals = 0)
    {
        var words = new List<string>();
        var values = new Dictionary<CommandOption, List<object?>>();
        var errors = new List<string>();
        var help = false;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name is "-h" or "--help")
            {
                help = true;
                continue;
            }

            if (!name.StartsWith('-') && words.Count < positionals)
            {
                words.Add(name);
                continue;
            }

            // --name=value is not our syntax; name the option without echoing the value, which may be a secret.
            var equals = name.StartsWith("--", StringComparison.Ordinal) ? name.IndexOf('=', StringComparison.Ordinal) : -1;
            var bare = equals > 0 ? name[..equals] : name;
            if (table.RefusalFor(bare) is { } refusal)
            {
                errors.Add($"{bare}: {refusal}");
                if (equals < 0 && i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    i++; // skip the secret
                }

                continue;
            }

            var option = equals > 0 ? null : table.Find(name);
            if (option is null)
            {
                errors.Add(equals > 0 ? $"unknown option '{bare}=...' (write the value as the next argument: {bare} VALUE)" : $"unknown option '{name}'");
                continue;
            }

            string? text = null;
            if (!option.IsFlag)
            {
                if (i + 1 >= args.Count)
                {
                    errors.Add($"{option.Name}: needs a value ({option.Placeholder})");
                    break;
                }

                text = args[++i];
            }

            object? value;
            try
            {
                value = option.Read(text);
            }
            catch (FormatException ex)
            {
                errors.Add($"{option.Name}: '{text}' {ex.Message}");
                continue;
            }

            if (!values.TryGetValue(option, out var list))
            {
                values[option] = list = [];
            }
            else if (!option.Repeatable)
            {
                list.Clear(); // the last one counts, as before
            }

            list.Add(value);
        }

        if (!help)
        {
            foreach (var option in table.Options.Where(o => o.Required && !values.ContainsKey(o)))
            {
                errors.Add($"{(command is null ? string.Empty : command + ": ")}{option.Name} is required");
            }
        }

        return new ParsedCommandLine(command, values, errors, help, words);
    }
}
