namespace GslbDns.Zones;

/// <summary>
/// TTL and SOA timer text as BIND, Knot and NSD accept it: a plain number of seconds, or one or more
/// number+unit pairs (<c>w d h m s</c>, any case), e.g. <c>1w2d3h4m5s</c>. A number without a unit
/// after a unit (<c>1h30</c>) is rejected, as BIND does, because it is more likely a typo than seconds.
/// </summary>
public static class TtlText
{
    /// <summary>RFC 2181 section 8: a TTL is an unsigned 31-bit value.</summary>
    public const uint MaxTtl = int.MaxValue;

    /// <summary>Parses a TTL (at most <see cref="MaxTtl"/>).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out uint value, out string error) =>
        TryParse(text, MaxTtl, out value, out error);

    /// <summary>Parses a duration with units, at most <paramref name="max"/> seconds (SOA timers allow the full 32 bits).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, uint max, out uint value, out string error)
    {
        value = 0;
        error = string.Empty;
        if (text.IsEmpty)
        {
            error = "empty time value";
            return false;
        }

        ulong total = 0;
        var sawUnit = false;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            ulong number = 0;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                // Saturate instead of overflowing; anything this large fails the range check below.
                number = Math.Min((number * 10) + (ulong)(text[i] - '0'), ulong.MaxValue / 1_000_000);
                i++;
            }

            if (i == start)
            {
                error = $"bad time value '{text}': expected a number at '{text[i..]}'";
                return false;
            }

            ulong multiplier;
            if (i == text.Length)
            {
                if (sawUnit)
                {
                    error = $"bad time value '{text}': number without a unit after a unit";
                    return false;
                }

                multiplier = 1;
            }
            else
            {
                multiplier = char.ToLowerInvariant(text[i]) switch
                {
                    'w' => 604800,
                    'd' => 86400,
                    'h' => 3600,
                    'm' => 60,
                    's' => 1,
                    _ => 0,
                };
                if (multiplier == 0)
                {
                    error = $"bad time value '{text}': unknown unit '{text[i]}' (use w, d, h, m or s)";
                    return false;
                }

                sawUnit = true;
                i++;
            }

            total += number * multiplier;
            if (total > max)
            {
                error = $"time value '{text}' is above the maximum {max}";
                return false;
            }
        }

        value = (uint)total;
        return true;
    }
}
