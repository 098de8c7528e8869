namespace GslbDns.Gslb.Config;

/// <summary>A value and where it was defined, so a second definition can name the first one's file and line.</summary>
internal sealed record Defined<T>(T Value, ConfigSource Source, string Path)
{
    public string Where => Source.Where(Path);
}
