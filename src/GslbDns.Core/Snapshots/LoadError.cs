namespace GslbDns.Snapshots;

/// <summary>One problem found while loading a file: where and why (line 0 when the whole file is meant).</summary>
public sealed record LoadError(string File, int Line, string Reason)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Reason}" : $"{File}: {Reason}";
}
