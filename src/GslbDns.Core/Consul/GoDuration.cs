using System.Globalization;

namespace GslbDns.Consul;

/// <summary>
/// Go's <c>time.Duration</c> text ("10s", "1m30s", "1.5h", "250ms"): Consul takes TTL and wait in that
/// form and echoes a session's TTL back as it was given.
/// </summary>
internal static class GoDuration
{
    /// <summary>Exact and short: whole seconds as "Ns", whole milliseconds as "Nms", anything else in ns.</summary>
    public static string Format(TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "negative durations are not used with Consul");
        }

        var ticks = value.Ticks;
        if (ticks % TimeSpan.TicksPerSecond == 0)
        {
            return (ticks / TimeSpan.TicksPerSecond).ToString(CultureInfo.InvariantCulture) + "s";
        }

        if (ticks % TimeSpan.TicksPerMillisecond == 0)
        {
            return (ticks / TimeSpan.TicksPerMillisecond).ToString(CultureInfo.InvariantCulture) + "ms";
        }

        return (ticks * 100).ToString(CultureInfo.InvariantCulture) + "ns";
    }

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var s = text.AsSpan();
        var negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s is "0")
        {
            return true;
        }

        if (s.IsEmpty)
        {
            return false;
        }

        decimal totalNs = 0;
        while (!s.IsEmpty)
        {
            var numberEnd = 0;
            while (numberEnd < s.Length && (char.IsAsciiDigit(s[numberEnd]) || s[numberEnd] == '.'))
            {
                numberEnd++;
            }

            if (numberEnd == 0 || !decimal.TryParse(s[..numberEnd], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            s = s[numberEnd..];
            var unitEnd = 0;
            while (unitEnd < s.Length && !char.IsAsciiDigit(s[unitEnd]) && s[unitEnd] != '.')
            {
                unitEnd++;
            }

            decimal nsPerUnit = s[..unitEnd] switch
            {
                "ns" => 1m,
                "us" or "\u00b5s" or "\u03bcs" => 1_000m,
                "ms" => 1_000_000m,
                "s" => 1_000_000_000m,
                "m" => 60_000_000_000m,
                "h" => 3_600_000_000_000m,
                _ => 0m,
            };
            if (nsPerUnit == 0m)
            {
                return false;
            }

            totalNs += number * nsPerUnit;
            s = s[unitEnd..];
        }

        var ticks = totalNs / 100m;
        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)decimal.Round(ticks));
        if (negative)
        {
            value = -value;
        }

        return true;
    }
}
