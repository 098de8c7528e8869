using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using GslbDns.Api.Auth;
using GslbDns.Api.Drills;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using static System.Net.WebUtility;

namespace GslbDns.Api.Ui;

/// <summary>
/// <c>/ui</c>: a read-only status page, rendered on the server from the same views as the JSON routes
/// (<see cref="ViewBuilder"/>), with no script and no external asset. Readable with a bearer token (read or
/// operator) in the Authorization header, or with a session from the login form (<see cref="UiSessions"/>).
/// Every response carries a strict Content-Security-Policy: nothing but the page's own nonce'd style block.
/// </summary>
internal static class StatusPage
{
    public const string Path = "/ui";

    public static void Map(IEndpointRouteBuilder app)
    {
        var ui = app.MapGroup(Path).AllowAnonymous().ExcludeFromDescription();
        ui.MapGet("/", (Delegate)PageAsync);
        ui.MapGet("/login", (HttpContext http) => LoginForm(http, null, StatusCodes.Status200OK));
        ui.MapPost("/login", (Delegate)LoginAsync).DisableAntiforgery();
        ui.MapPost("/logout", Logout).DisableAntiforgery();
        ui.MapGet("/drills/{id}/report", ReportAsync);
    }

    private const string Style =
        "body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222}table{border-collapse:collapse;margin:6px 0 18px}"
        + "td,th{border:1px solid #ccc;padding:2px 7px;text-align:left;vertical-align:top}th{background:#f2f2f2}"
        + ".healthy,.up,.ok{color:#176b2c}.unhealthy,.down,.failed,.aborted,.refused{color:#a31515}.unknown,.drained{color:#8a6d00}"
        + "g.ok circle{fill:#2e9e4f}g.degraded circle{fill:#e0a100}g.down circle{fill:#c0392b}g.drained circle{fill:#999}"
        + "svg text{font:11px sans-serif}header form{display:inline}.muted{color:#777}";

    // ---- Authentication ------------------------------------------------------------------------------

    /// <summary>The bearer token if one is sent (a bad one is a 401), else the session cookie; null when neither.</summary>
    private static async Task<(ClaimsPrincipal? User, bool BadBearer)> WhoAsync(HttpContext http)
    {
        if (http.Request.Headers.Authorization.Count > 0)
        {
            var result = await http.AuthenticateAsync(BearerTokenHandler.SchemeName);
            return result.Succeeded ? (result.Principal, false) : (null, true);
        }

        var sessions = http.RequestServices.GetRequiredService<UiSessions>();
        return (sessions.Find(http.Request.Cookies[UiSessions.CookieName]), false);
    }

    /// <summary>Runs <paramref name="render"/> for a reader; a browser without a session is sent to the login form.</summary>
    private static async Task<IResult> AuthorizedAsync(HttpContext http, Func<ClaimsPrincipal, Task<IResult>> render)
    {
        var (user, badBearer) = await WhoAsync(http);
        if (badBearer)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer realm=\"gslbdns\", error=\"invalid_token\"";
            return Problems.Result(StatusCodes.Status401Unauthorized, "Unauthorized", "The bearer token was not accepted.");
        }

        if (user is null || !(user.IsInRole("read") || user.IsInRole("operator")))
        {
            return Results.Redirect(Path + "/login", permanent: false);
        }

        http.User = user;
        return await render(user);
    }

    private static async Task<IResult> LoginAsync(HttpContext http)
    {
        if (!SameOrigin(http))
        {
            return Problems.Result(StatusCodes.Status403Forbidden, "Forbidden", "The login form must be posted from this site.");
        }

        if (!http.Request.HasFormContentType)
        {
            return Problems.Result(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "Post the login form (application/x-www-form-urlencoded).");
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var token = form["token"].ToString().Trim();
        var entry = token.Length == 0 ? null : http.RequestServices.GetRequiredService<ApiTokens>().Find(token);
        if (entry is null)
        {
            return LoginForm(http, "That token is not accepted.", StatusCodes.Status401Unauthorized);
        }

        var id = http.RequestServices.GetRequiredService<UiSessions>().Create(entry);
        http.Response.Cookies.Append(UiSessions.CookieName, id, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = http.Request.IsHttps,
            Path = Path,
            MaxAge = UiSessions.Lifetime,
            IsEssential = true,
        });
        http.User = BearerTokenHandler.Principal(entry.Name, entry.Role, UiSessions.CookieName);
        return Results.Redirect(Path, permanent: false);
    }

    private static IResult Logout(HttpContext http)
    {
        if (!SameOrigin(http))
        {
            return Problems.Result(StatusCodes.Status403Forbidden, "Forbidden", "Log out from this site's page.");
        }

        http.RequestServices.GetRequiredService<UiSessions>().Remove(http.Request.Cookies[UiSessions.CookieName]);
        http.Response.Cookies.Delete(UiSessions.CookieName, new CookieOptions { Path = Path, HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps });
        return Results.Redirect(Path + "/login", permanent: false);
    }

    /// <summary>A form post from another site is refused even before SameSite does its part (Origin, when the browser sends one, must be us).</summary>
    private static bool SameOrigin(HttpContext http)
    {
        var origin = http.Request.Headers.Origin.ToString();
        return origin.Length == 0
            || (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, http.Request.Host.Value, StringComparison.OrdinalIgnoreCase));
    }

    // ---- Pages ---------------------------------------------------------------------------------------

    private static Task<IResult> PageAsync(HttpContext http) => AuthorizedAsync(http, async user =>
    {
        var api = http.RequestServices.GetRequiredService<ApiContext>();
        var ct = http.RequestAborted;
        var status = ViewBuilder.Status(api);
        var dataCenters = ViewBuilder.DataCenters(api);
        var endpoints = ViewBuilder.Endpoints(api);
        var state = await api.Store.ReadAsync(ct);
        var now = api.Time.GetUtcNow();
        var entries = state.Entries.Select(e => ViewBuilder.Entry(e.Key, e.Value, now)).Where(e => e.Kind != "drill").OrderBy(e => e.Kind, StringComparer.Ordinal).ThenBy(e => e.Target, StringComparer.Ordinal).ToList();
        var drills = state.Drills().Select(DrillView.Of).ToList();
        var regions = api.Snapshots.Current.Gslb.Regions;

        var nonce = Nonce();
        var html = Head("GslbDns status", nonce);
        html.Append("<header><h1>GslbDns status</h1><p>Signed in as <b>").Append(HtmlEncode(user.Identity?.Name ?? "?")).Append("</b> (read-only page). ");
        if (http.Request.Headers.Authorization.Count == 0)
        {
            html.Append("<form method=\"post\" action=\"").Append(Path).Append("/logout\"><button type=\"submit\">Log out</button></form>");
        }

        html.Append("</p></header>\n<table id=\"status\">");
        Row(html, "store", $"{status.Store} ({(status.StoreConnected ? "connected" : "NOT connected")}, last success {Time(status.StoreLastSuccess)}, state index {status.StateIndex})", "store");
        Row(html, "snapshot", $"built {Time(status.SnapshotBuiltAt)}, {Number(status.SnapshotAgeSeconds)} s old: {status.Zones} zones, {status.Services} services, {status.DataCenters} data centers", "snapshot");
        Row(html, "live probers", status.LiveProbers.Count == 0 ? "none" : string.Join(", ", status.LiveProbers), "probers");
        Row(html, "generated", Time(now), "generated");
        html.Append("</table>\n<h2>Data centers</h2>\n");

        WorldMap.Render(html, dataCenters.Select(d => new WorldMap.Marker("dc", d.Name, d.Latitude, d.Longitude, MarkerState(d), $"{d.Name} ({d.Region}): {d.UsableEndpoints}/{d.Endpoints} usable{(d.Drained ? ", drained" : "")}"))
            .Concat(regions.Values.Select(r => new WorldMap.Marker("prober", r.Name, r.Latitude, r.Longitude, "prober", $"prober region {r.Name}"))));

        html.Append("<table id=\"datacenters\"><tr><th>data center</th><th>region</th><th>latitude</th><th>longitude</th><th>usable / endpoints</th><th>drained</th><th>weight</th><th>override</th></tr>");
        foreach (var d in dataCenters)
        {
            html.Append("<tr data-dc=\"").Append(HtmlEncode(d.Name)).Append("\" data-drained=\"").Append(Bool(d.Drained)).Append("\" data-usable=\"").Append(d.UsableEndpoints)
                .Append("\" data-endpoints=\"").Append(d.Endpoints).Append("\"><td>").Append(HtmlEncode(d.Name)).Append("</td><td>").Append(HtmlEncode(d.Region))
                .Append("</td><td>").Append(Number(d.Latitude)).Append("</td><td>").Append(Number(d.Longitude)).Append("</td><td>")
                .Append(d.UsableEndpoints).Append(" / ").Append(d.Endpoints).Append("</td><td>").Append(EntryText(d.Drain)).Append("</td><td>")
                .Append(EntryText(d.WeightOverride)).Append("</td><td>").Append(EntryText(d.Override)).Append("</td></tr>");
        }

        html.Append("</table>\n<h2>Endpoints</h2>\n");
        var probers = endpoints.SelectMany(e => e.Health.ByProber.Keys).Concat(status.LiveProbers).Distinct().Order(StringComparer.Ordinal).ToList();
        html.Append("<table id=\"endpoints\"><tr><th>endpoint</th><th>verdict</th><th>votes down</th>");
        foreach (var p in probers)
        {
            html.Append("<th>").Append(HtmlEncode(p)).Append("</th>");
        }

        html.Append("<th>usable</th><th>drained</th><th>forced</th><th>feed</th><th>priority</th><th>weight (configured)</th></tr>");
        foreach (var e in endpoints)
        {
            html.Append("<tr data-endpoint=\"").Append(HtmlEncode(e.Id)).Append("\" data-verdict=\"").Append(HtmlEncode(e.Health.Verdict)).Append("\" data-usable=\"").Append(Bool(e.Usable))
                .Append("\" data-drained=\"").Append(Bool(e.Drained)).Append("\" data-weight=\"").Append(e.EffectiveWeight).Append("\" data-feed=\"").Append(FeedState(e.Feed)).Append("\"><td>").Append(HtmlEncode(e.Id))
                .Append("</td><td class=\"").Append(HtmlEncode(e.Health.Verdict)).Append("\">").Append(HtmlEncode(e.Health.Verdict)).Append("</td><td>")
                .Append(e.Health.Down).Append(" of ").Append(e.Health.Voters).Append("</td>");
            foreach (var p in probers)
            {
                var vote = e.Health.ByProber.TryGetValue(p, out var up) ? (up ? "up" : "down") : "none";
                html.Append("<td data-prober=\"").Append(HtmlEncode(p)).Append("\" data-vote=\"").Append(vote).Append("\" class=\"").Append(vote).Append("\">").Append(vote == "none" ? "-" : vote).Append("</td>");
            }

            html.Append("<td>").Append(e.Usable ? "yes" : "no").Append("</td><td").Append(e.Drained ? " class=\"drained\">by " + HtmlEncode(e.DrainedBy ?? "?") : ">").Append("</td><td>")
                .Append(e.ForcedHealthy is { } f ? (f ? "healthy" : "unhealthy") : "").Append("</td><td>").Append(HtmlEncode(FeedText(e.Feed))).Append("</td><td>").Append(e.Priority).Append("</td><td>")
                .Append(e.EffectiveWeight).Append(" (").Append(e.ConfiguredWeight).Append(")</td></tr>");
        }

        html.Append("</table>\n<h2>RTT (ms): prober region x data center</h2>\n");
        var rttRegions = dataCenters.SelectMany(d => d.RttMsByRegion.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        if (rttRegions.Count == 0)
        {
            html.Append("<p class=\"muted\" id=\"rtt-none\">No RTT measurements yet.</p>\n");
        }
        else
        {
            html.Append("<table id=\"rtt\"><tr><th>region</th>");
            foreach (var d in dataCenters)
            {
                html.Append("<th>").Append(HtmlEncode(d.Name)).Append("</th>");
            }

            html.Append("</tr>");
            foreach (var region in rttRegions)
            {
                html.Append("<tr><th>").Append(HtmlEncode(region)).Append("</th>");
                foreach (var d in dataCenters)
                {
                    html.Append("<td data-rtt-region=\"").Append(HtmlEncode(region)).Append("\" data-rtt-dc=\"").Append(HtmlEncode(d.Name)).Append("\">")
                        .Append(d.RttMsByRegion.TryGetValue(region, out var ms) ? Number(ms) : "-").Append("</td>");
                }

                html.Append("</tr>");
            }

            html.Append("</table>\n");
        }

        html.Append("<h2>Drains, overrides and weights</h2>\n");
        if (entries.Count == 0)
        {
            html.Append("<p class=\"muted\" id=\"entries-none\">None: every data center and endpoint runs as configured.</p>\n");
        }
        else
        {
            html.Append("<table id=\"entries\"><tr><th>kind</th><th>target</th><th>value</th><th>reason</th><th>by</th><th>at</th><th>version</th></tr>");
            foreach (var e in entries)
            {
                html.Append("<tr data-entry=\"").Append(HtmlEncode(e.Kind + ":" + e.Target)).Append("\" data-version=\"").Append(e.Version).Append("\"><td>").Append(HtmlEncode(e.Kind))
                    .Append("</td><td>").Append(HtmlEncode(e.Target)).Append("</td><td>").Append(HtmlEncode(Value(e))).Append("</td><td>").Append(HtmlEncode(e.Reason ?? ""))
                    .Append("</td><td>").Append(HtmlEncode(e.By ?? "")).Append("</td><td>").Append(e.At is { } at ? Time(at) : "").Append("</td><td>").Append(e.Version).Append("</td></tr>");
            }

            html.Append("</table>\n");
        }

        html.Append("<h2>Drills</h2>\n");
        if (drills.Count == 0)
        {
            html.Append("<p class=\"muted\" id=\"drills-none\">No drills.</p>\n");
        }
        else
        {
            html.Append("<table id=\"drills\"><tr><th>drill</th><th>state</th><th>target</th><th>window</th><th>outcome</th><th>reason</th><th>report</th></tr>");
            foreach (var d in drills)
            {
                var link = $"{Path}/drills/{Uri.EscapeDataString(d.Id)}/report";
                html.Append("<tr data-drill=\"").Append(HtmlEncode(d.Id)).Append("\" data-state=\"").Append(HtmlEncode(d.State)).Append("\"><td>").Append(HtmlEncode(d.Id))
                    .Append("</td><td class=\"").Append(HtmlEncode(d.State)).Append("\">").Append(HtmlEncode(d.State)).Append("</td><td>")
                    .Append(HtmlEncode(string.Join(", ", d.DataCenters) + (d.Region is null ? "" : $" (region {d.Region})"))).Append("</td><td>")
                    .Append(Time(d.Start)).Append(" to ").Append(Time(d.End)).Append("</td><td>").Append(HtmlEncode(d.Outcome ?? "")).Append("</td><td>")
                    .Append(HtmlEncode(d.Reason ?? "")).Append("</td><td><a href=\"").Append(HtmlEncode(link)).Append("\">report</a></td></tr>");
            }

            html.Append("</table>\n");
        }

        html.Append("<p class=\"muted\">The same data as JSON: /v1/status, /v1/datacenters, /v1/endpoints, /v1/state, /v1/drills.</p>\n</body></html>\n");
        return Html(http, html.ToString(), nonce, StatusCodes.Status200OK);
    });

    private static Task<IResult> ReportAsync(HttpContext http, string id) => AuthorizedAsync(http, async _ =>
    {
        var api = http.RequestServices.GetRequiredService<ApiContext>();
        var options = http.RequestServices.GetRequiredService<DrillOptions>();
        if (await DrillRoutes.BuildReportAsync(api, options, id, http.RequestAborted) is not { } report)
        {
            return Problems.NotFound($"no drill '{id}'");
        }

        var nonce = Nonce();
        return Html(http, DrillReports.Html(report, nonce), nonce, StatusCodes.Status200OK);
    });

    private static IResult LoginForm(HttpContext http, string? error, int status)
    {
        var nonce = Nonce();
        var html = Head("GslbDns status: sign in", nonce);
        html.Append("<h1>GslbDns status</h1>\n");
        if (error is not null)
        {
            html.Append("<p class=\"failed\" id=\"login-error\">").Append(HtmlEncode(error)).Append("</p>\n");
        }

        html.Append("<form method=\"post\" action=\"").Append(Path).Append("/login\"><label>API token (read or operator) <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label> ")
            .Append("<button type=\"submit\">Sign in</button></form>\n<p class=\"muted\">The token is sent once; the browser keeps a session cookie (HttpOnly, SameSite=Strict, ")
            .Append((int)UiSessions.Lifetime.TotalHours).Append(" h) instead.</p>\n</body></html>\n");
        return Html(http, html.ToString(), nonce, status);
    }

    // ---- Helpers -------------------------------------------------------------------------------------

    private static StringBuilder Head(string title, string nonce) =>
        new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(HtmlEncode(title)).Append("</title>\n<style nonce=\"")
            .Append(nonce).Append("\">").Append(Style).Append("</style></head><body>\n");

    /// <summary>The page with headers that keep it from doing anything but show itself: no script, no outside request, no framing, no caching.</summary>
    private static IResult Html(HttpContext http, string body, string nonce, int status)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = $"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        // same-origin, not no-referrer: with no-referrer a browser posts the login form with "Origin: null", which SameOrigin refuses.
        headers["Referrer-Policy"] = "same-origin";
        headers.CacheControl = "no-store";
        return Results.Content(body, "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    private static string Nonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));

    private static string MarkerState(DataCenterView d) =>
        d.Drained ? "drained" : d.UsableEndpoints == 0 ? "down" : d.UsableEndpoints < d.Endpoints ? "degraded" : "ok";

    private static string EntryText(EntryView? e) => e is null ? "" : HtmlEncode($"{Value(e)} ({e.Reason}, {e.By})");

    private static string Value(EntryView e) => e.Kind switch
    {
        "weight" => $"weight {e.Weight}",
        "override" => $"forced {(e.Healthy == true ? "healthy" : "unhealthy")} until {(e.Expires is { } x ? Time(x) : "?")}{(e.Expired == true ? " (expired)" : "")}",
        "feed" => $"feed{FeedFigures(e.Healthy, e.Load)} until {(e.Expires is { } y ? Time(y) : "?")}{(e.Expired == true ? " (expired)" : "")}",
        _ => "drained",
    };

    /// <summary>The endpoint row's <c>data-feed</c>: none, expired, or the live feed's vote (up, down, or load-only).</summary>
    private static string FeedState(FeedView? feed) => feed is null ? "none" : feed.Expired ? "expired" : feed.Up switch { true => "up", false => "down", null => "load" };

    private static string FeedText(FeedView? feed) => feed is null
        ? ""
        : $"{(feed.Expired ? "expired:" : "")}{FeedFigures(feed.Up, feed.Load)} ({feed.Mode}{(feed.Counted ? "" : ", not counted")})".TrimStart();

    /// <summary>A feed's vote and load figure as the page shows them in both tables, each with a leading space: " down load 2.5".</summary>
    private static string FeedFigures(bool? up, double? load) =>
        (up switch { true => " up", false => " down", null => "" }) + (load is { } l ? " load " + l.ToString("0.###", CultureInfo.InvariantCulture) : "");

    private static void Row(StringBuilder html, string name, string value, string id) =>
        html.Append("<tr id=\"status-").Append(id).Append("\"><th>").Append(HtmlEncode(name)).Append("</th><td>").Append(HtmlEncode(value)).Append("</td></tr>");

    private static string Bool(bool value) => value ? "true" : "false";

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
