using System.Globalization;
using System.Text;

namespace GslbDns.Gslb.Config;

/// <summary>
/// Check intervals and timeouts as config text: one or more whole-number + unit pairs, units
/// <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c> (lower case, so <c>m</c> and <c>ms</c> cannot be confused),
/// e.g. <c>500ms</c>, <c>1s</c>, <c>1m30s</c>. A bare number is rejected: nobody can tell whether
/// "500" meant seconds or milliseconds.
/// </summary>
public static class DurationText
{
    /// <summary>Anything longer is certainly a typo, and staying far below TimeSpan's range avoids overflow.</summary>
    private const long CeilingMs = 365L * 24 * 3_600_000;

    public static bool TryParse(string text, out TimeSpan value, out string error)
    {
        value = TimeSpan.Zero;
        error = string.Empty;
        if (text.Length == 0)
        {
            error = "empty duration";
            return false;
        }

        long totalMs = 0;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            long number = 0;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                // Saturate: anything this large fails the ceiling check below.
                number = Math.Min((number * 10) + (text[i] - '0'), 1_000_000_000_000L);
                i++;
            }

            if (i == start)
            {
                error = $"bad duration '{text}': expected a whole number at '{text[i..]}' (e.g. 500ms, 1s, 2m)";
                return false;
            }

            if (i < text.Length && text[i] == '.')
            {
                error = $"bad duration '{text}': use whole numbers of a smaller unit (1500ms, not 1.5s)";
                return false;
            }

            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i]))
            {
                i++;
            }

            var unit = text[unitStart..i];
            long unitMs;
            switch (unit)
            {
                case "ms":
                    unitMs = 1;
                    break;
                case "s":
                    unitMs = 1000;
                    break;
                case "m":
                    unitMs = 60_000;
                    break;
                case "h":
                    unitMs = 3_600_000;
                    break;
                case "":
                    error = $"bad duration '{text}': a number needs a unit (ms, s, m or h)";
                    return false;
                default:
                    error = $"bad duration '{text}': unknown unit '{unit}' (use ms, s, m or h)";
                    return false;
            }

            // number <= 1e12 and unitMs <= 3.6e6 cannot overflow a long; checking after every pair keeps the sum small.
            totalMs += number * unitMs;
            if (totalMs > CeilingMs)
            {
                error = $"duration '{text}' is too long";
                return false;
            }
        }

        value = TimeSpan.FromMilliseconds(totalMs);
        return true;
    }

    /// <summary>Short text that parses back to the same value (to the millisecond), e.g. <c>1m30s</c>, <c>800ms</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            return "0ms";
        }

        var sb = new StringBuilder();
        var rest = value;
        Append(sb, ref rest, TimeSpan.FromHours(1), "h");
        Append(sb, ref rest, TimeSpan.FromMinutes(1), "m");
        Append(sb, ref rest, TimeSpan.FromSeconds(1), "s");
        Append(sb, ref rest, TimeSpan.FromMilliseconds(1), "ms");
        return sb.Length == 0 ? "0ms" : sb.ToString();
    }

    private static void Append(StringBuilder sb, ref TimeSpan rest, TimeSpan unit, string suffix)
    {
        var count = rest.Ticks / unit.Ticks;
        if (count > 0)
        {
            sb.Append(count.ToString(CultureInfo.InvariantCulture)).Append(suffix);
            rest -= TimeSpan.FromTicks(count * unit.Ticks);
        }
    }
}
