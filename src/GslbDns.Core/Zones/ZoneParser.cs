using System.Runtime.InteropServices;
using GslbDns.Dns;

namespace GslbDns.Zones;

/// <summary>A warning with where it arose; <see cref="ParsedZone.Warnings"/> holds these as text.</summary>
internal readonly record struct ZoneWarning(SourceLocation Location, string Message)
{
    public override string ToString() => $"{Location}: {Message}";
}

/// <summary>
/// The state of one read: the zone's records so far and, per file, the current origin, owner and TTL defaults.
/// </summary>
internal sealed class ZoneParser
{
    private readonly DnsName _zoneOrigin;
    private readonly List<ZoneRecord> _records = [];
    private readonly List<int> _needSoaMinimum = [];
    private readonly List<string> _includeStack = [];
    private readonly RDataEncoder _encoder = new();
    private readonly ZoneEntry _entry = new();

    public ZoneParser(DnsName zoneOrigin) => _zoneOrigin = zoneOrigin;

    public List<ZoneWarning> Warnings { get; } = [];

    public List<IncludedFile> Includes { get; } = [];

    public void ParseTop(string text, string file)
    {
        _includeStack.Add(Path.GetFullPath(file));
        Parse(text, new FileState(file, _zoneOrigin, new TtlState()));
    }

    /// <summary>
    /// Gives records that had no TTL and no default the SOA MINIMUM, as BIND does (RFC 1035 made MINIMUM the
    /// default TTL; RFC 2308 moved that to $TTL), and warns once because the file probably lacks a $TTL.
    /// </summary>
    public List<ZoneRecord> Finish()
    {
        if (_needSoaMinimum.Count == 0)
        {
            return _records;
        }

        var soa = _records.Find(r => r.Type == RecordType.SOA && r.Owner == _zoneOrigin);
        if (soa is null)
        {
            // The validator reports the missing SOA, which is the real problem.
            return _records;
        }

        var minimum = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(soa.RData.AsSpan(soa.RData.Length - 4));
        minimum = Math.Min(minimum, TtlText.MaxTtl);
        foreach (var index in _needSoaMinimum)
        {
            _records[index] = _records[index] with { Ttl = minimum };
        }

        var first = _records[_needSoaMinimum[0]].Source;
        Warnings.Add(new ZoneWarning(first, $"no $TTL and no earlier TTL: {_needSoaMinimum.Count} record(s) without a TTL, the first here, use the SOA MINIMUM {minimum}"));
        return _records;
    }

    private void Parse(string text, FileState state)
    {
        var tokenizer = new ZoneTokenizer(text, state.File);
        var entry = _entry;
        while (tokenizer.Next(entry))
        {
            var tokens = CollectionsMarshal.AsSpan(entry.Tokens);
            if (!entry.OwnerOmitted && !tokens[0].Quoted && tokens[0].Text.StartsWith('$'))
            {
                Directive(tokens, state);
            }
            else
            {
                Record(entry, tokens, state);
            }
        }
    }

    private void Record(ZoneEntry entry, ReadOnlySpan<ZoneToken> tokens, FileState state)
    {
        var index = 0;
        DnsName owner;
        if (entry.OwnerOmitted)
        {
            if (!tokens[0].Quoted && tokens[0].Text.StartsWith('$'))
            {
                throw Error(state, tokens[0].Line, $"directive {tokens[0].Text} must start in the first column");
            }

            owner = state.LastOwner
                ?? throw Error(state, entry.Line, "line starts with a blank, so it reuses the previous owner, but there is none");
        }
        else
        {
            owner = ParseName(tokens[0], state.Origin, state, "owner");
            state.LastOwner = owner;
            index = 1;
        }

        // TTL and class come in either order and are both optional (RFC 1035 5.1).
        uint? ttl = null;
        var sawClass = false;
        for (; index < tokens.Length && !tokens[index].Quoted; index++)
        {
            var token = tokens[index];
            if (char.IsAsciiDigit(token.Text[0]))
            {
                if (ttl is not null)
                {
                    throw Error(state, token.Line, $"second TTL '{token.Text}' in one record");
                }

                if (!TtlText.TryParse(token.Text, out var value, out var error))
                {
                    throw Error(state, token.Line, error);
                }

                ttl = value;
            }
            else if (TryParseClass(token.Text, out var recordClass))
            {
                if (sawClass)
                {
                    throw Error(state, token.Line, $"second class '{token.Text}' in one record");
                }

                if (recordClass != RecordClass.IN)
                {
                    throw Error(state, token.Line, $"class {token.Text} is not supported: this server serves only IN (Internet) zones");
                }

                sawClass = true;
            }
            else
            {
                break;
            }
        }

        if (index >= tokens.Length)
        {
            throw Error(state, tokens[^1].Line, "record has no type");
        }

        var typeToken = tokens[index];
        if (typeToken.Quoted || !RecordType.TryParse(typeToken.Text, out var type))
        {
            throw Error(state, typeToken.Line, $"unknown record type '{typeToken.Text}' (write unknown types as TYPEnnn with \\# RDATA)");
        }

        if (type == 0 || RecordType.IsMetaOrQuestionOnly(type))
        {
            throw Error(state, typeToken.Line, $"{RecordType.ToText(type)} is a meta or question-only type, not zone data");
        }

        var rdata = _encoder.Encode(type, tokens[(index + 1)..], state.Origin, state.File, entry.Line, out var target);

        if (ttl is { } explicitTtl)
        {
            state.Ttl.LastExplicit = explicitTtl;
        }
        else
        {
            // $TTL first, then the last explicit TTL (BIND's rule for files without $TTL), else the SOA MINIMUM later.
            ttl = state.Ttl.Default ?? state.Ttl.LastExplicit;
            if (ttl is null)
            {
                _needSoaMinimum.Add(_records.Count);
            }
        }

        _records.Add(new ZoneRecord(owner, type, RecordClass.IN, ttl ?? 0, rdata, target, new SourceLocation(state.File, entry.Line)));
    }

    private void Directive(ReadOnlySpan<ZoneToken> tokens, FileState state)
    {
        var directive = tokens[0];
        var args = tokens[1..];
        if (directive.Is("$ORIGIN"))
        {
            Arguments(state, directive, args, 1, 1);
            state.Origin = ParseName(args[0], state.Origin, state, "$ORIGIN");
        }
        else if (directive.Is("$TTL"))
        {
            Arguments(state, directive, args, 1, 1);
            if (args[0].Quoted)
            {
                throw Error(state, args[0].Line, "$TTL value is quoted");
            }

            if (!TtlText.TryParse(args[0].Text, out var ttl, out var error))
            {
                throw Error(state, args[0].Line, $"$TTL: {error}");
            }

            state.Ttl.Default = ttl;
        }
        else if (directive.Is("$INCLUDE"))
        {
            Arguments(state, directive, args, 1, 2);
            var origin = args.Length == 2 ? ParseName(args[1], state.Origin, state, "$INCLUDE origin") : state.Origin;
            Include(args[0], origin, state);
        }
        else if (directive.Is("$GENERATE"))
        {
            throw Error(state, directive.Line, "$GENERATE is not supported; write the records out");
        }
        else
        {
            throw Error(state, directive.Line, $"unknown directive '{directive.Text}'");
        }
    }

    /// <summary>
    /// $INCLUDE (RFC 1035 5.1): the file is read with its own origin, no previous owner and a copy of the TTL
    /// defaults; none of these flow back, so the including file carries on as before. Paths are relative to the
    /// including file's directory, as Knot and NSD resolve them, not to the process's working directory.
    /// </summary>
    private void Include(ZoneToken fileToken, DnsName origin, FileState state)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(state.File)) ?? ".";
        var here = new SourceLocation(state.File, fileToken.Line);
        string path;
        try
        {
            path = Path.GetFullPath(Path.Combine(directory, fileToken.Text));
        }
        catch (ArgumentException)
        {
            // A NUL in the name (a raw one or \000): no file system takes it, and .NET would throw from deep in the reload.
            throw new ZoneLoadException(here, $"$INCLUDE: '{Printable(fileToken.Text)}' is not a file name (it holds a NUL character)");
        }

        if (_includeStack.Contains(path, StringComparer.Ordinal))
        {
            throw new ZoneLoadException(here, $"$INCLUDE loop: {string.Join(" -> ", _includeStack)} -> {path}");
        }

        if (_includeStack.Count > ZoneFileReader.MaxIncludeDepth)
        {
            throw new ZoneLoadException(here, $"$INCLUDE nested deeper than {ZoneFileReader.MaxIncludeDepth} files");
        }

        var text = ZoneFileReader.ReadSource(path, here, out var hash);
        Includes.Add(new IncludedFile(path, hash));

        _includeStack.Add(path);
        Parse(text, new FileState(path, origin, state.Ttl));
        _includeStack.RemoveAt(_includeStack.Count - 1);
    }

    /// <summary>The text with control characters as \DDD, as a zone file would write them, so an error message stays one clean line.</summary>
    private static string Printable(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"\\{(int)c:D3}") : c.ToString()));

    private void Arguments(FileState state, ZoneToken directive, ReadOnlySpan<ZoneToken> args, int min, int max)
    {
        if (args.Length < min || args.Length > max)
        {
            var line = args.Length > max ? args[max].Line : directive.Line;
            var expected = min == max ? $"{min}" : $"{min} or {max}";
            throw Error(state, line, $"{directive.Text.ToUpperInvariant()} takes {expected} argument(s), found {args.Length}");
        }
    }

    private static DnsName ParseName(ZoneToken token, DnsName origin, FileState state, string what)
    {
        if (!DnsName.TryParse(token.Text, origin, out var name, out var error))
        {
            throw Error(state, token.Line, $"bad {what} name '{token.Text}': {error}");
        }

        return name;
    }

    /// <summary>Class mnemonics (RFC 1035 3.2.4, RFC 2136) and the RFC 3597 form CLASSnnn.</summary>
    private static bool TryParseClass(string text, out ushort recordClass)
    {
        recordClass = text.ToUpperInvariant() switch
        {
            "IN" => RecordClass.IN,
            "CS" => 2,
            "CH" => RecordClass.CH,
            "HS" => 4,
            "NONE" => RecordClass.NONE,
            "ANY" => RecordClass.ANY,
            _ => 0,
        };
        if (recordClass == 0 && text.Length > 5 && text.StartsWith("CLASS", StringComparison.OrdinalIgnoreCase)
            && ushort.TryParse(text.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code))
        {
            recordClass = code;
            return true;
        }

        return recordClass != 0;
    }

    private static ZoneLoadException Error(FileState state, int line, string reason) => new(new SourceLocation(state.File, line), reason);

    /// <summary>TTL defaults; copied into an included file so its changes stay there.</summary>
    private sealed class TtlState
    {
        public uint? Default { get; set; }

        public uint? LastExplicit { get; set; }

        public TtlState Copy() => new() { Default = Default, LastExplicit = LastExplicit };
    }

    private sealed class FileState(string file, DnsName origin, TtlState ttl)
    {
        public string File { get; } = file;

        public DnsName Origin { get; set; } = origin;

        public DnsName? LastOwner { get; set; }

        public TtlState Ttl { get; } = ttl.Copy();
    }
}
