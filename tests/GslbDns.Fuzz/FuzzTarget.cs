namespace GslbDns.Fuzz;

/// <summary>
/// One fuzz target: takes one input and returns normally when the code under test behaved, or throws
/// <see cref="InvariantViolationException"/> (or anything unexpected escapes) when it did not. AFL counts an escaping
/// exception as a crash.
/// </summary>
public interface IFuzzTarget
{
    void Run(ReadOnlySpan<byte> input);
}

/// <summary>The code under test produced something it must never produce.</summary>
public sealed class InvariantViolationException : Exception
{
    public InvariantViolationException(string message)
        : base(message)
    {
    }

    public InvariantViolationException()
    {
    }

    public InvariantViolationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The targets by the names the command line and bench/fuzz/fuzz.sh use.</summary>
public static class FuzzTargets
{
    public static readonly string[] Names = ["query", "zone", "config", "geo", "api", "rrl", "cookie"];

    /// <summary>Builds the named target (once per process: the world it answers from is built here, not per input).</summary>
    public static IFuzzTarget Create(string name) => name switch
    {
        "query" => new Targets.QueryTarget(FuzzWorld.Load()),
        "zone" => new Targets.ZoneTarget(),
        "config" => new Targets.GslbConfigTarget(),
        "geo" => new Targets.GeoDataTarget(),
        "api" => new Targets.ApiTarget(),
        "rrl" => new Targets.RateLimitTarget(),
        "cookie" => new Targets.CookieTarget(),
        _ => throw new ArgumentException($"unknown target '{name}'; one of: {string.Join(", ", Names)}", nameof(name)),
    };
}

internal static class Check
{
    public static void That(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvariantViolationException(what);
        }
    }
}

/// <summary>A target that loads its input and then puts questions to what loaded.</summary>
public interface ILoaderTarget : IFuzzTarget
{
    /// <summary>Queries answered (and checked) so far.</summary>
    int Questions { get; }
}
