using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace GslbDns.Geo;

/// <summary>One line of geo-data: a network and the location its clients get.</summary>
/// <param name="Network">The network address, host bits cleared; IPv4 also for rules written as IPv4-mapped IPv6.</param>
/// <param name="PrefixLength">Prefix length relative to <paramref name="Network"/>'s family.</param>
/// <param name="Location">The location clients in the network get.</param>
/// <param name="Source">The file and line the rule came from (for explain output and errors).</param>
public sealed record GeoOverrideRule(IPAddress Network, byte PrefixLength, GeoLocation Location, GeoDataLine Source)
{
    public override string ToString() => $"{Network}/{PrefixLength} ({Source})";
}

/// <summary>
/// Our own client-location rules from <c>geo-data/*.txt</c> (format in geo-data/README.md). They win
/// over the GeoIP database: they place ranges it cannot (RFC 1918, ULA, our own offices) and correct
/// ranges it gets wrong. Immutable after loading; the longest-prefix lookup is lock-free and
/// allocation-free.
/// </summary>
public sealed class GeoOverrides
{
    private static readonly string[] Continents = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

    private readonly GeoOverrideRule[] _rules;
    private readonly PrefixTrie _v4;
    private readonly PrefixTrie _v6;

    private GeoOverrides(List<ParsedRule> rules)
    {
        _rules = [.. rules.Select(r => r.Rule)];
        _v4 = PrefixTrie.Build(32, rules.Select((r, i) => (r, i)).Where(e => !e.r.IsV6)
            .Select(e => ((ulong)e.r.Key << 32, 0UL, e.r.Prefix, e.i)));
        _v6 = PrefixTrie.Build(128, rules.Select((r, i) => (r, i)).Where(e => e.r.IsV6)
            .Select(e => ((ulong)(e.r.Key >> 64), (ulong)e.r.Key, e.r.Prefix, e.i)));
    }

    /// <summary>No rules: every address goes to GeoIP or the default.</summary>
    public static GeoOverrides Empty { get; } = new([]);

    /// <summary>All rules in file order (files in ordinal name order).</summary>
    public IReadOnlyList<GeoOverrideRule> Rules => _rules;

    /// <summary>Reads every <c>*.txt</c> file in <paramref name="folder"/>, in ordinal name order.</summary>
    /// <exception cref="GeoDataException">A file has an invalid or duplicate rule, or cannot be read.</exception>
    public static GeoOverrides Load(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new GeoDataException(new GeoDataLine(folder, 0), "geo-data folder does not exist");
        }

        // The suffix check guards against platforms whose "*.txt" also matches "*.txt~"-like names.
        string[] files = [.. Directory.GetFiles(folder, "*.txt")
            .Where(f => f.EndsWith(".txt", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];
        var parser = new Parser();
        foreach (string file in files)
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new GeoDataException(new GeoDataLine(file, 0), $"cannot read: {ex.Message}");
            }

            parser.AddLines(file, lines);
        }

        return new GeoOverrides(parser.Rules);
    }

    /// <summary>Parses rules from text, as if read from a file named <paramref name="file"/>.</summary>
    /// <exception cref="GeoDataException">The text has an invalid or duplicate rule.</exception>
    public static GeoOverrides Parse(string text, string file)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser();
        parser.AddLines(file, text.ReplaceLineEndings("\n").Split('\n'));
        return new GeoOverrides(parser.Rules);
    }

    /// <summary>
    /// Longest-prefix match for an IPv4 address (as a host-order integer). Returns the rule or null.
    /// <paramref name="scopePrefix"/> is how many leading bits decide the outcome, match or not: at
    /// least the rule's prefix, and long enough that no other, more specific rule lies inside it.
    /// </summary>
    public GeoOverrideRule? MatchV4(uint address, out byte scopePrefix)
    {
        int index = _v4.Match((ulong)address << 32, 0, out int scope);
        scopePrefix = (byte)scope;
        return index < 0 ? null : _rules[index];
    }

    /// <summary>
    /// As <see cref="MatchV4"/> for an IPv6 address (big-endian value). IPv4-mapped addresses are
    /// matched against the IPv4 rules and the scope is then relative to the IPv4 address.
    /// </summary>
    public GeoOverrideRule? MatchV6(UInt128 address, out byte scopePrefix)
    {
        if (AddressBits.IsV4Mapped(address))
        {
            return MatchV4((uint)address, out scopePrefix);
        }

        int index = _v6.Match((ulong)(address >> 64), (ulong)address, out int scope);
        scopePrefix = (byte)scope;
        return index < 0 ? null : _rules[index];
    }

    private readonly record struct ParsedRule(GeoOverrideRule Rule, bool IsV6, UInt128 Key, int Prefix);

    private sealed class Parser
    {
        private readonly Dictionary<(bool IsV6, UInt128 Key, int Prefix), GeoDataLine> _seen = [];

        public List<ParsedRule> Rules { get; } = [];

        public void AddLines(string file, IReadOnlyList<string> lines)
        {
            for (int i = 0; i < lines.Count; i++)
            {
                AddLine(lines[i], new GeoDataLine(file, i + 1));
            }
        }

        private void AddLine(string line, GeoDataLine at)
        {
            int hash = line.IndexOf('#', StringComparison.Ordinal);
            string content = hash >= 0 ? line[..hash] : line;
            string[] tokens = content.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length == 0)
            {
                return;
            }

            var (isV6, key, prefix) = ParseCidr(tokens[0], at);

            double? latitude = null;
            double? longitude = null;
            int next = 1;
            if (next < tokens.Length && !tokens[next].Contains('=', StringComparison.Ordinal))
            {
                (latitude, longitude) = ParseCoordinates(tokens[next], at);
                next++;
            }

            string? continent = null;
            string? country = null;
            string? subdivision = null;
            string? dataCenter = null;
            for (; next < tokens.Length; next++)
            {
                string token = tokens[next];
                int eq = token.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new GeoDataException(at, $"expected key=value, found '{token}' (coordinates go right after the CIDR, written lat,lon without spaces)");
                }

                string name = token[..eq];
                string value = token[(eq + 1)..];
                switch (name)
                {
                    case "continent":
                        Set(ref continent, ParseContinent(value, at), name, at);
                        break;
                    case "country":
                        Set(ref country, ParseCode(value, 2, 2, lettersOnly: true, "country", at), name, at);
                        break;
                    case "subdivision":
                        Set(ref subdivision, ParseCode(value, 1, 3, lettersOnly: false, "subdivision", at), name, at);
                        break;
                    case "dc":
                        Set(ref dataCenter, ParseDataCenter(value, at), name, at);
                        break;
                    default:
                        throw new GeoDataException(at, $"unknown key '{name}' (expected continent, country, subdivision or dc)");
                }
            }

            if (latitude is null && dataCenter is null)
            {
                throw new GeoDataException(at, "a rule needs coordinates (lat,lon) or dc=name");
            }

            if (!_seen.TryAdd((isV6, key, prefix), at))
            {
                throw new GeoDataException(at, $"duplicate rule for {tokens[0]}: same network as {_seen[(isV6, key, prefix)]}");
            }

            var location = new GeoLocation(latitude, longitude, continent, country, subdivision, null, dataCenter);
            var rule = new GeoOverrideRule(ToAddress(isV6, key), (byte)prefix, location, at);
            Rules.Add(new ParsedRule(rule, isV6, key, prefix));
        }

        private static void Set(ref string? field, string value, string name, GeoDataLine at)
        {
            if (field is not null)
            {
                throw new GeoDataException(at, $"{name}= given twice");
            }

            field = value;
        }

        private static (bool IsV6, UInt128 Key, int Prefix) ParseCidr(string text, GeoDataLine at)
        {
            int slash = text.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                throw new GeoDataException(at, $"'{text}' is not a CIDR network (address/prefix-length)");
            }

            string addressText = text[..slash];
            string prefixText = text[(slash + 1)..];
            if (!int.TryParse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture, out int prefix))
            {
                throw new GeoDataException(at, $"'{prefixText}' in '{text}' is not a prefix length");
            }

            if (addressText.Contains(':', StringComparison.Ordinal))
            {
                // '%' would be a zone index, meaningless in a network; TryParse would accept it.
                if (addressText.Contains('%', StringComparison.Ordinal)
                    || !IPAddress.TryParse(addressText, out IPAddress? address)
                    || address.AddressFamily != AddressFamily.InterNetworkV6)
                {
                    throw new GeoDataException(at, $"'{addressText}' is not an IPv6 address");
                }

                if (prefix > 128)
                {
                    throw new GeoDataException(at, $"prefix length /{prefix} out of range for IPv6 (0-128)");
                }

                UInt128 value = AddressBits.Mask(AddressBits.ReadV6(address), prefix);

                // Rules for IPv4-mapped networks join the IPv4 rules, where mapped addresses are looked up.
                if (prefix >= 96 && AddressBits.IsV4Mapped(value))
                {
                    return (false, (uint)value, prefix - 96);
                }

                return (true, value, prefix);
            }

            if (!TryParseDottedQuad(addressText, out uint v4))
            {
                throw new GeoDataException(at, $"'{addressText}' is not an IPv4 address (four decimal octets)");
            }

            if (prefix > 32)
            {
                throw new GeoDataException(at, $"prefix length /{prefix} out of range for IPv4 (0-32)");
            }

            return (false, AddressBits.Mask(v4, prefix), prefix);
        }

        // IPAddress.TryParse also takes "10", "10.1" and octal/hex octets (inet_aton forms), so that
        // "10/8" would silently become 0.0.0.10/8 = 0.0.0.0/8. Accept only a plain dotted quad.
        private static bool TryParseDottedQuad(string text, out uint value)
        {
            value = 0;
            string[] parts = text.Split('.');
            if (parts.Length != 4)
            {
                return false;
            }

            foreach (string part in parts)
            {
                if (part.Length is 0 or > 3
                    || (part.Length > 1 && part[0] == '0')
                    || !part.All(char.IsAsciiDigit))
                {
                    return false;
                }

                int octet = int.Parse(part, CultureInfo.InvariantCulture);
                if (octet > 255)
                {
                    return false;
                }

                value = (value << 8) | (uint)octet;
            }

            return true;
        }

        private static (double Latitude, double Longitude) ParseCoordinates(string text, GeoDataLine at)
        {
            string[] parts = text.Split(',');
            if (parts.Length != 2)
            {
                throw new GeoDataException(at, $"'{text}' is not coordinates (lat,lon in decimal degrees, no spaces)");
            }

            double latitude = ParseDegrees(parts[0], "latitude", 90, at);
            double longitude = ParseDegrees(parts[1], "longitude", 180, at);
            return (latitude, longitude);
        }

        private static double ParseDegrees(string text, string what, double limit, GeoDataLine at)
        {
            // No exponent or thousands separators; IsFinite rejects "NaN"/"Infinity", which the
            // range check alone would let through (NaN compares false both ways).
            if (!double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)
                || !double.IsFinite(value))
            {
                throw new GeoDataException(at, $"'{text}' is not a {what} in decimal degrees");
            }

            if (value < -limit || value > limit)
            {
                throw new GeoDataException(at, $"{what} {text} is outside -{limit}..{limit}");
            }

            return value;
        }

        private static string ParseContinent(string value, GeoDataLine at)
        {
            string code = value.ToUpperInvariant();
            if (!Continents.Contains(code))
            {
                throw new GeoDataException(at, $"continent '{value}' is not one of {string.Join(", ", Continents)}");
            }

            return code;
        }

        private static string ParseCode(string value, int min, int max, bool lettersOnly, string what, GeoDataLine at)
        {
            if (value.Length < min || value.Length > max
                || !value.All(c => lettersOnly ? char.IsAsciiLetter(c) : char.IsAsciiLetterOrDigit(c)))
            {
                string expected = lettersOnly ? "letters" : "letters or digits";
                string length = min == max ? $"{min}" : $"{min}-{max}";
                throw new GeoDataException(at, $"{what} '{value}' is not an ISO code ({length} {expected})");
            }

            return value.ToUpperInvariant();
        }

        private static string ParseDataCenter(string value, GeoDataLine at)
        {
            if (value.Length is 0 or > 63
                || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                throw new GeoDataException(at, $"data center name '{value}' is invalid (1-63 of letters, digits, '-', '_', '.')");
            }

            return value;
        }

        private static IPAddress ToAddress(bool isV6, UInt128 key)
        {
            Span<byte> bytes = stackalloc byte[16];
            if (isV6)
            {
                BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
                return new IPAddress(bytes);
            }

            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)key);
            return new IPAddress(bytes[..4]);
        }
    }
}
