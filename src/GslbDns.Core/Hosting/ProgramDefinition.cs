using System.Text;

namespace GslbDns.Hosting;

/// <summary>One subcommand (or a program's only command when <see cref="Name"/> is null) and the options it takes.</summary>
/// <param name="Name">What the first argument says (<c>serve</c>, <c>explain</c>); null for a program without subcommands.</param>
/// <param name="Synopsis">The usage line after the program's name, e.g. <c>explain --name NAME [options]</c>; a <c>\n</c> separates alternative forms.</param>
/// <param name="Summary">What it does, in a few words (shown beside the synopsis).</param>
/// <param name="Positionals">How many arguments that are not options it takes (a target, a drill id); see <see cref="ParsedCommandLine.Positionals"/>.</param>
public sealed record CommandDefinition(string? Name, string Synopsis, string Summary, OptionTable Options, int Positionals = 0);

/// <summary>
/// A program's command line: its commands (the first is the default when the first argument is an option),
/// a description, and the usage text generated from them. Adding a subcommand is adding one
/// <see cref="CommandDefinition"/> with its own table.
/// </summary>
public sealed class ProgramDefinition
{
    public ProgramDefinition(string name, string description, params CommandDefinition[] commands)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (commands.Length == 0)
        {
            throw new ArgumentException("a program needs a command", nameof(commands));
        }

        Name = name;
        Description = description;
        Commands = commands;
    }

    public string Name { get; }

    public string Description { get; }

    public IReadOnlyList<CommandDefinition> Commands { get; }

    public CommandDefinition? Find(string? command) => Commands.FirstOrDefault(c => c.Name == command);

    /// <summary>Picks the command from the first argument (unless it is an option) and parses the rest with its table.</summary>
    public ParsedCommandLine Parse(IReadOnlyList<string> args)
    {
        var command = Commands[0];
        var rest = args;
        if (command.Name is not null && args.Count > 0 && !args[0].StartsWith('-'))
        {
            rest = args.Skip(1).ToArray();
            if (Find(args[0]) is { } named)
            {
                command = named;
            }
            else
            {
                var unknown = OptionParser.Parse(command.Options, rest, command.Name, command.Positionals);
                unknown.AddError($"unknown command '{args[0]}' (commands: {string.Join(", ", Commands.Select(static c => c.Name))})");
                return unknown;
            }
        }

        return OptionParser.Parse(command.Options, rest, command.Name, command.Positionals);
    }

    /// <summary>The whole help text: every command's synopsis, the description and the options of <paramref name="command"/> (default: the first).</summary>
    public string Usage(string? command = null)
    {
        var selected = Find(command) ?? Commands[0];
        var text = new StringBuilder();
        var lines = Commands.SelectMany(c => c.Synopsis.Split('\n').Select((line, i) => (Text: $"{Name} {line}", Summary: i == 0 ? c.Summary : string.Empty))).ToList();
        var width = Math.Min(lines.Max(static l => l.Text.Length) + 2, 44);
        for (var i = 0; i < lines.Count; i++)
        {
            var (synopsis, summary) = lines[i];
            text.Append(i == 0 ? "Usage: " : "       ");
            if (summary.Length == 0)
            {
                text.Append(synopsis).Append('\n');
            }
            else if (synopsis.Length + 2 > width)
            {
                text.Append(synopsis).Append('\n').Append(' ', width + 7).Append(summary).Append('\n');
            }
            else
            {
                text.Append(synopsis.PadRight(width)).Append(summary).Append('\n');
            }
        }

        if (Description.Length > 0)
        {
            text.Append('\n').Append(Description.TrimEnd()).Append('\n');
        }

        text.Append('\n').Append(selected.Name is null || Commands.Count == 1 ? "Options:" : $"Options of {selected.Name}:").Append('\n');
        text.Append(selected.Options.HelpText()).Append('\n');
        return text.ToString();
    }
}
