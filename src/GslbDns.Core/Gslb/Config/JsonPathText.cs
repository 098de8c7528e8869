using System.Globalization;
using System.Text;

namespace GslbDns.Gslb.Config;

/// <summary>
/// JSON paths as System.Text.Json writes them (<c>$.services['www.example.com.'].endpoints[2]</c>):
/// a plain identifier with a dot, anything else quoted in brackets. The line map and every error use
/// this one spelling, so a path looked up is found exactly.
/// </summary>
public static class JsonPathText
{
    public const string Root = "$";

    public static string Property(string parent, string name)
    {
        if (IsIdentifier(name))
        {
            return parent + "." + name;
        }

        var sb = new StringBuilder(parent.Length + name.Length + 6);
        sb.Append(parent).Append("['");
        foreach (var c in name)
        {
            // Escaping the quote means "['" can never occur inside a bracketed name, which keeps paths unambiguous.
            if (c is '\'' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.Append("']").ToString();
    }

    public static string Index(string parent, int index) => parent + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";

    private static bool IsIdentifier(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}
