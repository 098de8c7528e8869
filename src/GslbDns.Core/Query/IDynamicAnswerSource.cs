namespace GslbDns.Query;

/// <summary>
/// A name whose A/AAAA answers are decided per query (a load-balanced service). The zone node
/// carries it; the engine calls it instead of copying static records.
/// </summary>
public interface IDynamicAnswerSource
{
    /// <summary>True when the name can answer this type (so a miss is NODATA rather than an answer).</summary>
    bool Serves(ushort qtype);

    /// <summary>
    /// Writes the answer records for <paramref name="qtype"/> with owner <paramref name="ownerWire"/>
    /// (written as a pointer when it is the QNAME). Returns false when they did not fit.
    /// Sets <see cref="QueryContext.EcsScope"/> to the prefix the decision depended on.
    /// </summary>
    bool WriteAnswers(ushort qtype, ReadOnlySpan<byte> ownerWire, bool ownerIsQName, QueryContext context);
}
