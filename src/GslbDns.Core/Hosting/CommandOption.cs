namespace GslbDns.Hosting;

/// <summary>
/// One command-line option, declared once: its name, the placeholder for its value (none for a flag),
/// its help line, its default and how its value is read. The parser and the <c>--help</c> text both
/// come from these declarations, so they cannot drift apart.
/// </summary>
public abstract class CommandOption
{
    private protected CommandOption(string name, string? placeholder, string help, string? defaultText, IReadOnlyList<string> aliases, bool repeatable, bool required)
    {
        if (!name.StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"option name '{name}' must start with --", nameof(name));
        }

        Name = name;
        Placeholder = placeholder;
        Help = help;
        DefaultText = defaultText;
        Aliases = aliases;
        Repeatable = repeatable;
        Required = required;
    }

    public string Name { get; }

    /// <summary>Other names that mean the same option (kept so that older command lines still work).</summary>
    public IReadOnlyList<string> Aliases { get; }

    /// <summary>What the value looks like in the help text (<c>DIR</c>, <c>ADDR:PORT</c>); null for a flag, which takes none.</summary>
    public string? Placeholder { get; }

    /// <summary>Help text; a <c>\n</c> starts a continuation line.</summary>
    public string Help { get; }

    /// <summary>The default as the help text shows it; null shows none.</summary>
    public string? DefaultText { get; }

    /// <summary>May be given more than once; every value is kept.</summary>
    public bool Repeatable { get; }

    /// <summary>Must be given; the parser says so by name when it is missing.</summary>
    public bool Required { get; }

    public bool IsFlag => Placeholder is null;

    /// <summary>Reads one value; throws <see cref="FormatException"/> whose message says what is wrong with it.</summary>
    internal abstract object? Read(string? text);
}

/// <summary>An option whose value is a <typeparamref name="T"/>.</summary>
public sealed class CommandOption<T> : CommandOption
{
    private readonly Func<string, T>? _read;

    internal CommandOption(string name, string? placeholder, string help, T defaultValue, IReadOnlyList<T> defaultValues, string? defaultText, Func<string, T>? read, IReadOnlyList<string> aliases, bool repeatable, bool required)
        : base(name, placeholder, help, defaultText, aliases, repeatable, required)
    {
        Default = defaultValue;
        DefaultValues = defaultValues;
        _read = read;
    }

    /// <summary>The value when the option is not given.</summary>
    public T Default { get; }

    /// <summary>A repeatable option's values when it is not given.</summary>
    public IReadOnlyList<T> DefaultValues { get; }

    internal override object? Read(string? text) => _read is null ? true : _read(text!);

    /// <summary>This option with another default (and its help text), e.g. another program's port.</summary>
    public CommandOption<T> WithDefault(T defaultValue, string? defaultText) =>
        new(Name, Placeholder, Help, defaultValue, Repeatable ? [defaultValue] : DefaultValues, defaultText, _read, Aliases, Repeatable, Required);

    /// <summary>This option with other help text, for a program that uses it for something more specific.</summary>
    public CommandOption<T> WithHelp(string help) =>
        new(Name, Placeholder, help, Default, DefaultValues, DefaultText, _read, Aliases, Repeatable, Required);

    /// <summary>This option, also accepted under <paramref name="aliases"/>.</summary>
    public CommandOption<T> WithAliases(params string[] aliases) =>
        new(Name, Placeholder, Help, Default, DefaultValues, DefaultText, _read, [.. Aliases, .. aliases], Repeatable, Required);
}

/// <summary>Builds options; every value parser throws <see cref="FormatException"/> with the reason.</summary>
public static class Option
{
    /// <summary>An option with a value.</summary>
    public static CommandOption<T> Value<T>(string name, string placeholder, string help, Func<string, T> read, T defaultValue = default!, string? defaultText = null, bool required = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(placeholder);
        return new(name, placeholder, help, defaultValue, [], defaultText, read, [], false, required);
    }

    /// <summary>An option that may be given several times; <see cref="ParsedCommandLine.All{T}"/> has every value, or <paramref name="defaults"/>.</summary>
    public static CommandOption<T> Repeatable<T>(string name, string placeholder, string help, Func<string, T> read, IReadOnlyList<T>? defaults = null, string? defaultText = null)
        where T : notnull
    {
        ArgumentException.ThrowIfNullOrEmpty(placeholder);
        return new(name, placeholder, help, default!, defaults ?? [], defaultText, read, [], true, false);
    }

    /// <summary>An option whose value is any text.</summary>
    public static CommandOption<string> Text(string name, string placeholder, string help, string defaultValue, string? defaultText = null) =>
        Value(name, placeholder, help, static t => t, defaultValue, defaultText);

    /// <summary>An option whose value is any text and that has no default.</summary>
    public static CommandOption<string?> OptionalText(string name, string placeholder, string help, string? defaultText = null, bool required = false) =>
        Value<string?>(name, placeholder, help, static t => t, null, defaultText, required: required);

    /// <summary>A flag: true when given, false otherwise.</summary>
    public static CommandOption<bool> Flag(string name, string help) => new(name, null, help, false, [], null, null, [], false, false);
}
