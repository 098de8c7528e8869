using System.Globalization;
using System.Text;
using GslbDns.Gslb;
using GslbDns.State;
using static System.Net.WebUtility;

namespace GslbDns.Api.Drills;

/// <summary>A drill's report as JSON and as one self-contained HTML page (inline CSS and SVG, no external assets).</summary>
internal static class DrillReports
{
    public static DrillReport Build(VersionedDrill versioned, GslbConfig config, DrillOptions options, IReadOnlyList<AuditView> audit, DateTimeOffset now)
    {
        var drill = versioned.Drill;
        var ttl = drill.Services.Select(s => ViewBuilder.FindService(config, s)).OfType<ServiceConfig>().Select(s => s.Ttl).DefaultIfEmpty(0u).Max();
        var bound = (options.ConvergenceSlack + TimeSpan.FromSeconds(ttl)).TotalSeconds;
        var servers = drill.Results.Servers;
        var finished = DrillStates.IsFinal(drill.State);
        double? Worst(Func<ServerConvergence, double?> pick) =>
            servers.Count == 0 || servers.Any(s => pick(s) is null) ? null : Math.Round(servers.Max(s => pick(s)!.Value) + ttl, 3);
        return new DrillReport(
            DrillView.Of(versioned),
            [.. drill.Results.Steps.OrderBy(s => s.At)],
            servers,
            [.. servers.Where(s => s.OutSeconds is null).Select(s => s.Server)],
            finished ? [.. servers.Where(s => s.BackSeconds is null).Select(s => s.Server)] : [],
            drill.Results.AnswerMix,
            ttl,
            bound,
            Worst(s => s.OutSeconds),
            Worst(s => s.BackSeconds),
            audit,
            now);
    }

    /// <param name="styleNonce">The CSP nonce of the style block, when the page is served under a nonce policy (the status page).</param>
    public static string Html(DrillReport report, string? styleNonce = null)
    {
        var d = report.Drill;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Drill ").Append(HtmlEncode(d.Id)).Append("</title>\n");
        html.Append(styleNonce is null ? "<style>" : $"<style nonce=\"{styleNonce}\">").Append("body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 20px}")
            .Append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f2f2f2}.succeeded{color:#176b2c}.failed,.aborted,.refused{color:#a31515}")
            .Append("svg text{font:11px sans-serif}</style></head><body>\n");
        html.Append("<h1>Drill ").Append(HtmlEncode(d.Id)).Append(" <span class=\"").Append(HtmlEncode(d.State)).Append("\">").Append(HtmlEncode(d.State)).Append("</span></h1>\n");
        html.Append("<p>").Append(HtmlEncode(d.Outcome ?? "in progress")).Append("</p>\n<table>");
        Row(html, "target", string.Join(", ", d.DataCenters) + (d.Region is null ? "" : $" (region {d.Region})"));
        Row(html, "affected names", string.Join(", ", d.Services));
        Row(html, "window", $"{Time(d.Start)} to {Time(d.End)} ({Number(d.DurationSeconds)} s)");
        Row(html, "reason", $"{d.Reason} (by {d.By}{(d.Forced ? ", forced past: " + string.Join("; ", d.Violations) : "")})");
        Row(html, "capacity floor", DrillPlanner.Percent(d.CapacityFloor));
        Row(html, "convergence bound", $"{Number(report.BoundSeconds)} s (slack + TTL {report.MaxTtlSeconds} s)");
        Row(html, "worst-case client exposure", report.WorstCaseExposureSeconds is { } e ? $"{Number(e)} s after the start (slowest server + TTL)" : "unknown: a server never converged");
        Row(html, "worst-case return", report.WorstCaseReturnSeconds is { } r ? $"{Number(r)} s after the end (slowest server + TTL)" : "not measured");
        Row(html, "never converged", string.Join(", ", report.NeverConvergedOut.Concat(report.NeverConvergedBack).Distinct()) is { Length: > 0 } never ? never : "none");
        html.Append("</table>\n<h2>Timeline</h2>\n");
        Timeline(html, report);
        html.Append("<table><tr><th>at</th><th>step</th><th>detail</th></tr>");
        foreach (var step in report.Timeline)
        {
            html.Append("<tr><td>").Append(Time(step.At)).Append("</td><td>").Append(HtmlEncode(step.Step)).Append("</td><td>").Append(HtmlEncode(step.Detail)).Append("</td></tr>");
        }

        html.Append("</table>\n<h2>Per-server convergence</h2>\n<table><tr><th>server</th><th>out (s after start)</th><th>back (s after end)</th><th>queries out</th><th>queries back</th></tr>");
        foreach (var s in report.Servers)
        {
            html.Append("<tr><td>").Append(HtmlEncode(s.Server)).Append("</td><td>").Append(s.OutSeconds is { } o ? Number(o) : "never").Append("</td><td>")
                .Append(s.BackSeconds is { } b ? Number(b) : "never").Append("</td><td>").Append(s.QueriesOut).Append("</td><td>").Append(s.QueriesBack).Append("</td></tr>");
        }

        html.Append("</table>\n<h2>Answer mix</h2>\n<table><tr><th>service</th><th>phase</th><th>addresses (answers)</th></tr>");
        foreach (var m in report.AnswerMix)
        {
            html.Append("<tr><td>").Append(HtmlEncode(m.Service)).Append("</td><td>").Append(HtmlEncode(m.Phase)).Append("</td><td>")
                .Append(HtmlEncode(string.Join(", ", m.Addresses.Select(a => $"{a.Key} ({a.Value})")))).Append("</td></tr>");
        }

        html.Append("</table>\n<h2>Audit</h2>\n<table><tr><th>at</th><th>actor</th><th>action</th><th>reason</th><th>forced</th></tr>");
        foreach (var a in report.Audit)
        {
            html.Append("<tr><td>").Append(Time(a.At)).Append("</td><td>").Append(HtmlEncode(a.Actor)).Append("</td><td>").Append(HtmlEncode(a.Action))
                .Append("</td><td>").Append(HtmlEncode(a.Reason ?? "")).Append("</td><td>").Append(a.Forced ? "yes" : "").Append("</td></tr>");
        }

        html.Append("</table>\n<p>Generated ").Append(Time(report.GeneratedAt)).Append(".</p>\n</body></html>\n");
        return html.ToString();
    }

    /// <summary>The drill window as a band, every step as a tick, and per server a bar out (start to converged) and back (end to converged).</summary>
    private static void Timeline(StringBuilder html, DrillReport report)
    {
        const int width = 1000, left = 170, rowHeight = 22, top = 30;
        var d = report.Drill;
        var first = report.Timeline.Count > 0 ? report.Timeline.Min(s => s.At) : d.Start;
        var last = new[] { d.End, report.Timeline.Count > 0 ? report.Timeline.Max(s => s.At) : d.End }.Max();
        var span = Math.Max((last - first).TotalSeconds, 0.001);
        double X(DateTimeOffset at) => left + ((at - first).TotalSeconds / span * (width - left - 20));
        var height = top + ((report.Servers.Count + 1) * rowHeight) + 40;
        html.Append(CultureInfo.InvariantCulture, $"<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"drill timeline\">");
        html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{X(d.Start):0.#}\" y=\"{top - 10}\" width=\"{Math.Max(1, X(d.End) - X(d.Start)):0.#}\" height=\"{height - top - 20}\" fill=\"#fde9c8\"><title>evacuation window</title></rect>");
        html.Append(CultureInfo.InvariantCulture, $"<text x=\"4\" y=\"{top + 4}\">steps</text>");
        foreach (var step in report.Timeline)
        {
            html.Append(CultureInfo.InvariantCulture, $"<line x1=\"{X(step.At):0.#}\" y1=\"{top - 8}\" x2=\"{X(step.At):0.#}\" y2=\"{top + 8}\" stroke=\"#333\"><title>{HtmlEncode(step.Step)}: {HtmlEncode(step.Detail)}</title></line>");
        }

        var row = 1;
        foreach (var s in report.Servers)
        {
            var y = top + (row++ * rowHeight);
            html.Append(CultureInfo.InvariantCulture, $"<text x=\"4\" y=\"{y + 4}\">{HtmlEncode(s.Server)}</text>");
            if (s.OutSeconds is { } o)
            {
                html.Append(CultureInfo.InvariantCulture, $"<rect class=\"out\" x=\"{X(d.Start):0.#}\" y=\"{y - 6}\" width=\"{Math.Max(2, X(d.Start.AddSeconds(o)) - X(d.Start)):0.#}\" height=\"10\" fill=\"#c0392b\"><title>out after {Number(o)} s</title></rect>");
            }

            if (s.BackSeconds is { } b)
            {
                html.Append(CultureInfo.InvariantCulture, $"<rect class=\"back\" x=\"{X(d.End):0.#}\" y=\"{y - 6}\" width=\"{Math.Max(2, X(d.End.AddSeconds(b)) - X(d.End)):0.#}\" height=\"10\" fill=\"#27ae60\"><title>back after {Number(b)} s</title></rect>");
            }
        }

        html.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{height - 8}\">{Time(first)}</text><text x=\"{width - 200}\" y=\"{height - 8}\">{Time(last)}</text></svg>\n");
    }

    private static void Row(StringBuilder html, string name, string value) =>
        html.Append("<tr><th>").Append(HtmlEncode(name)).Append("</th><td>").Append(HtmlEncode(value)).Append("</td></tr>");

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
