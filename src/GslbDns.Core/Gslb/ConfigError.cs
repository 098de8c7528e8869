namespace GslbDns.Gslb;

/// <summary>One problem in a GSLB config file: file, line (0 when unknown), JSON path and reason.</summary>
public sealed record ConfigError(string File, int Line, string Path, string Reason)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Path}: {Reason}" : $"{File}: {Path}: {Reason}";
}

/// <summary>A GSLB configuration that failed validation; <see cref="Errors"/> lists every problem, not just the first.</summary>
public sealed class GslbConfigException : Exception
{
    public GslbConfigException(IReadOnlyList<ConfigError> errors)
        : base(string.Join(Environment.NewLine, errors))
    {
        Errors = errors;
    }

    public GslbConfigException()
    {
        Errors = [];
    }

    public GslbConfigException(string message)
        : base(message)
    {
        Errors = [];
    }

    public GslbConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public IReadOnlyList<ConfigError> Errors { get; }
}
