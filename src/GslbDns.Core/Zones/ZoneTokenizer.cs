namespace GslbDns.Zones;

/// <summary>
/// One token of a master file. Escapes are kept as written (<c>\.</c>, <c>\DDD</c>, <c>\"</c>) because their
/// meaning depends on where the token is used: <see cref="GslbDns.Dns.DnsName.TryParse"/> decodes them for
/// names, <see cref="RDataEncoder"/> for character-strings. A quoted token holds the text between the quotes.
/// </summary>
internal readonly record struct ZoneToken(string Text, bool Quoted, int Line)
{
    /// <summary>True for an unquoted token equal to <paramref name="text"/> (ASCII case-insensitive).</summary>
    public bool Is(string text) => !Quoted && Text.Equals(text, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// A logical entry of a master file: a directive or a resource record. Parentheses let one entry span
/// several lines (RFC 1035 5.1), so an entry has the line where it starts and each token keeps its own line.
/// </summary>
internal sealed class ZoneEntry
{
    public List<ZoneToken> Tokens { get; } = new(16);

    /// <summary>1-based line of the entry's first token.</summary>
    public int Line { get; set; }

    /// <summary>
    /// The entry's first line starts with a blank, so it has no owner field and reuses the previous owner
    /// (RFC 1035 5.1). When false the first token is the owner, whatever it looks like (<c>mx</c>, <c>in</c>, <c>a</c>).
    /// </summary>
    public bool OwnerOmitted { get; set; }
}

/// <summary>
/// Splits master-file text into entries (RFC 1035 5.1): <c>;</c> comments, parentheses that join lines,
/// quoted strings with backslash escapes, and the leading-blank rule that decides whether a line has an owner.
/// </summary>
internal sealed class ZoneTokenizer
{
    private readonly string _text;
    private readonly string _file;
    private int _pos;
    private int _line = 1;

    public ZoneTokenizer(string text, string file)
    {
        // A byte-order mark is not part of the first owner name.
        _text = text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        _file = file;
    }

    /// <summary>Fills <paramref name="entry"/> with the next entry; false at the end of the text.</summary>
    public bool Next(ZoneEntry entry)
    {
        entry.Tokens.Clear();
        var text = _text;
        var inParens = false;
        var parenLine = 0;
        var atLineStart = true;

        while (_pos < text.Length)
        {
            var c = text[_pos];
            if (atLineStart)
            {
                entry.OwnerOmitted = c is ' ' or '\t';
                atLineStart = false;
            }

            switch (c)
            {
                case '\n':
                    _pos++;
                    _line++;
                    if (!inParens)
                    {
                        if (entry.Tokens.Count > 0)
                        {
                            return true;
                        }

                        atLineStart = true;
                    }

                    break;
                case ' ' or '\t' or '\r':
                    _pos++;
                    break;
                case ';':
                    // The comment runs to the end of the line; the newline itself still ends the entry.
                    var end = text.IndexOf('\n', _pos);
                    _pos = end < 0 ? text.Length : end;
                    break;
                case '(':
                    if (inParens)
                    {
                        throw Error(_line, $"nested '(' (the '(' at line {parenLine} is still open)");
                    }

                    inParens = true;
                    parenLine = _line;
                    _pos++;
                    break;
                case ')':
                    if (!inParens)
                    {
                        throw Error(_line, "')' without a matching '('");
                    }

                    inParens = false;
                    _pos++;
                    break;
                case '"':
                    AddToken(entry, ReadQuoted(), quoted: true);
                    break;
                default:
                    AddToken(entry, ReadWord(), quoted: false);
                    break;
            }
        }

        if (inParens)
        {
            throw Error(parenLine, "'(' is never closed");
        }

        return entry.Tokens.Count > 0;
    }

    private void AddToken(ZoneEntry entry, string text, bool quoted)
    {
        if (entry.Tokens.Count == 0)
        {
            entry.Line = _line;
        }

        entry.Tokens.Add(new ZoneToken(text, quoted, _line));
    }

    private string ReadWord()
    {
        var text = _text;
        var start = _pos;
        while (_pos < text.Length)
        {
            var c = text[_pos];
            if (c is ' ' or '\t' or '\r' or '\n' or ';' or '(' or ')' or '"')
            {
                break;
            }

            if (c == '\\')
            {
                // The escaped character is part of the word even when it is a delimiter (\; \( \" or a blank).
                if (_pos + 1 >= text.Length || text[_pos + 1] is '\n' or '\r')
                {
                    throw Error(_line, "backslash at the end of a line");
                }

                _pos++;
            }

            _pos++;
        }

        return text[start.._pos];
    }

    private string ReadQuoted()
    {
        var text = _text;
        var startLine = _line;
        var start = ++_pos;
        while (_pos < text.Length)
        {
            var c = text[_pos];
            if (c == '"')
            {
                var value = text[start.._pos];
                _pos++;
                return value;
            }

            if (c == '\n')
            {
                break;
            }

            // Skip the escaped character so that \" does not end the string.
            _pos += c == '\\' && _pos + 1 < text.Length && text[_pos + 1] != '\n' ? 2 : 1;
        }

        throw Error(startLine, "quoted string is not closed on the line where it starts");
    }

    private ZoneLoadException Error(int line, string reason) => new(new SourceLocation(_file, line), reason);
}
