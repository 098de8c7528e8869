namespace GslbDns.Gslb.Config;

/// <summary>"Did you mean" hints: a typo in a property or reference should say what was probably meant.</summary>
internal static class NameHints
{
    /// <summary><c> (did you mean 'x'?)</c> for the closest candidate within a small edit distance, else empty.</summary>
    public static string DidYouMean(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = Distance(name.ToUpperInvariant(), candidate.ToUpperInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        // Two edits catch transpositions and case slips without suggesting unrelated names for short ones.
        var limit = Math.Min(2, Math.Max(1, name.Length / 3));
        return best is not null && bestDistance <= limit ? $" (did you mean '{best}'?)" : string.Empty;
    }

    /// <summary>Optimal string alignment distance: Levenshtein plus adjacent transposition.</summary>
    private static int Distance(string a, string b)
    {
        var w = b.Length + 1;
        var d = new int[(a.Length + 1) * w];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i * w] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var best = Math.Min(Math.Min(d[((i - 1) * w) + j] + 1, d[(i * w) + j - 1] + 1), d[((i - 1) * w) + j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    best = Math.Min(best, d[((i - 2) * w) + j - 2] + 1);
                }

                d[(i * w) + j] = best;
            }
        }

        return d[(a.Length * w) + b.Length];
    }
}
