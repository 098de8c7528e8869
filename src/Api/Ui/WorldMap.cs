using System.Globalization;
using System.Text;
using static System.Net.WebUtility;

namespace GslbDns.Api.Ui;

/// <summary>
/// An equirectangular world map as inline SVG: a coarse outline of the continents (hand-simplified, a few dozen
/// points each: enough to see where a data center is, with no external asset) and a marker per data center at its
/// configured latitude and longitude. <see cref="X"/> and <see cref="Y"/> are the projection, 2 px per degree.
/// </summary>
internal static class WorldMap
{
    public const int Width = 720;
    public const int Height = 360;

    public static double X(double longitude) => (longitude + 180) * Width / 360.0;

    public static double Y(double latitude) => (90 - latitude) * Height / 180.0;

    /// <summary>One marker: what to draw where, and its state (a CSS class: ok, degraded, down, drained).</summary>
    public sealed record Marker(string Kind, string Name, double Latitude, double Longitude, string State, string Title);

    public static void Render(StringBuilder html, IEnumerable<Marker> markers)
    {
        html.Append(CultureInfo.InvariantCulture, $"<svg id=\"map\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"data centers on a world map\">");
        html.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"#dbe9f6\"/>");
        for (var lon = -150; lon <= 150; lon += 30)
        {
            html.Append(CultureInfo.InvariantCulture, $"<line x1=\"{X(lon):0.#}\" y1=\"0\" x2=\"{X(lon):0.#}\" y2=\"{Height}\" stroke=\"#c3d6ea\"/>");
        }

        for (var lat = -60; lat <= 60; lat += 30)
        {
            html.Append(CultureInfo.InvariantCulture, $"<line x1=\"0\" y1=\"{Y(lat):0.#}\" x2=\"{Width}\" y2=\"{Y(lat):0.#}\" stroke=\"#c3d6ea\"/>");
        }

        foreach (var outline in Outlines)
        {
            html.Append("<polygon class=\"land\" fill=\"#f4f1e8\" stroke=\"#9a9484\" stroke-width=\"0.7\" points=\"");
            for (var i = 0; i + 1 < outline.Length; i += 2)
            {
                html.Append(CultureInfo.InvariantCulture, $"{X(outline[i]):0.#},{Y(outline[i + 1]):0.#} ");
            }

            html.Append("\"/>");
        }

        foreach (var m in markers)
        {
            var x = X(m.Longitude).ToString("0.##", CultureInfo.InvariantCulture);
            var y = Y(m.Latitude).ToString("0.##", CultureInfo.InvariantCulture);
            if (m.Kind == "dc")
            {
                html.Append(CultureInfo.InvariantCulture, $"<g class=\"dc {m.State}\"><circle data-dc=\"{HtmlEncode(m.Name)}\" cx=\"{x}\" cy=\"{y}\" r=\"6\" stroke=\"#222\" stroke-width=\"1\"><title>{HtmlEncode(m.Title)}</title></circle>")
                    .Append(CultureInfo.InvariantCulture, $"<text x=\"{x}\" y=\"{y}\" dx=\"8\" dy=\"4\">{HtmlEncode(m.Name)}</text></g>");
            }
            else
            {
                html.Append(CultureInfo.InvariantCulture, $"<g class=\"prober\"><rect data-region=\"{HtmlEncode(m.Name)}\" x=\"{x}\" y=\"{y}\" width=\"6\" height=\"6\" transform=\"translate(-3 -3)\" fill=\"#555\"><title>{HtmlEncode(m.Title)}</title></rect></g>");
            }
        }

        html.Append("</svg>\n");
    }

    /// <summary>Longitude, latitude pairs, clockwise or not; coarse on purpose.</summary>
    private static readonly double[][] Outlines =
    [
        // North America
        [-168, 66, -162, 70, -156, 71, -140, 70, -125, 70, -95, 72, -80, 73, -62, 66, -55, 52, -66, 45, -70, 42, -76, 38, -81, 31, -80, 25, -82, 28, -90, 30,
         -97, 27, -97, 22, -91, 19, -87, 21, -88, 16, -83, 10, -78, 8, -80, 7, -86, 12, -92, 15, -105, 20, -110, 24, -115, 30, -118, 34, -124, 40, -124, 48,
         -135, 58, -150, 60, -158, 57, -165, 60],
        // Greenland
        [-73, 78, -60, 82, -30, 83, -20, 75, -22, 70, -43, 60, -52, 64, -58, 72],
        // South America
        [-78, 8, -72, 12, -62, 10, -52, 5, -35, -5, -39, -15, -41, -22, -48, -26, -58, -35, -65, -42, -68, -52, -72, -54, -75, -48, -73, -38, -71, -30,
         -70, -18, -76, -14, -81, -5, -80, 0, -77, 4],
        // Eurasia
        [-10, 36, -9, 43, -2, 44, -5, 48, 2, 51, 8, 54, 10, 57, 5, 62, 14, 67, 25, 71, 40, 68, 60, 70, 80, 73, 100, 77, 120, 73, 140, 72, 160, 70, 180, 68,
         180, 65, 170, 60, 163, 58, 156, 51, 142, 48, 135, 43, 129, 35, 122, 40, 121, 31, 117, 24, 108, 21, 106, 10, 100, 13, 102, 2, 98, 8, 97, 17, 90, 22,
         80, 15, 77, 8, 73, 20, 67, 25, 57, 25, 56, 27, 50, 30, 48, 29, 56, 24, 59, 22, 52, 16, 43, 13, 35, 28, 34, 31, 36, 36, 28, 37, 26, 40, 23, 37,
         22, 40, 19, 42, 13, 45, 12, 44, 18, 40, 16, 38, 8, 44, 3, 43, -1, 37, -6, 36],
        // Africa
        [-17, 21, -16, 12, -8, 5, 5, 5, 9, 4, 12, -5, 13, -12, 12, -18, 15, -27, 18, -34, 26, -34, 33, -26, 35, -20, 40, -15, 40, -5, 51, 11, 43, 12, 38, 18,
         33, 31, 20, 32, 10, 37, -6, 36, -10, 30],
        // Great Britain, Ireland, Iceland
        [-5, 50, 1, 51, 2, 53, -2, 56, -2, 58, -5, 58, -6, 56, -3, 54, -5, 52],
        [-10, 52, -6, 52, -6, 55, -8, 55],
        [-24, 64, -22, 66, -15, 66.5, -13, 65, -18, 63.4],
        // Japan, Borneo, Sumatra, Madagascar
        [130, 31, 135, 34, 140, 35, 142, 40, 141, 45, 145, 44, 140, 41, 136, 37, 131, 34],
        [109, 2, 117, 7, 119, 5, 116, -4, 110, -3],
        [95, 5, 106, -6, 102, -4],
        [44, -25, 50, -15, 49, -12, 44, -16],
        // Australia, New Zealand
        [113, -22, 114, -34, 118, -35, 124, -34, 131, -31, 138, -35, 141, -38, 150, -37, 153, -28, 153, -25, 146, -19, 142, -11, 136, -12, 131, -12, 125, -14, 122, -18],
        [172, -34, 178, -38, 174, -41, 167, -46, 172, -41],
        // Antarctica
        [-180, -70, -120, -73, -60, -64, 0, -70, 60, -67, 120, -66, 180, -70, 180, -90, -180, -90],
    ];
}
