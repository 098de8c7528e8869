using GslbDns.Answers;
using GslbDns.Gslb;
using GslbDns.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace GslbDns.Api.Drills;

/// <summary>The <c>/v1/drills</c> routes: plan (dry run), start, list, read, abort, report.</summary>
internal static partial class DrillRoutes
{
    /// <summary>Where the drill lifecycle events (scheduled, aborted) are logged; the runner logs running and finished.</summary>
    private const string LogCategory = "GslbDns.Drills";

    public static void Map(RouteGroupBuilder read, RouteGroupBuilder write)
    {
        write.MapPost("/drills", Create).WithName("CreateDrill")
            .WithSummary("Plan (dryRun) or start a drill: evacuate data centers or a region for a while; 409 names every refused precondition unless force")
            .Accepts<DrillRequest>("application/json").Produces<DrillView>(201).Produces<DryRunView>().ProducesValidationProblem().ProducesProblem(409);
        read.MapGet("/drills", List).WithName("ListDrills").WithSummary("Every drill, newest first").Produces<ListView<DrillView>>();
        read.MapGet("/drills/{id}", Get).WithName("GetDrill").Produces<DrillView>().ProducesProblem(404);
        write.MapPost("/drills/{id}/abort", Abort).WithName("AbortDrill")
            .WithSummary("End a scheduled or running drill now; every DNS server ends it on the lease's new end")
            .Accepts<DrillAbortRequest>("application/json").Produces<DrillView>().ProducesValidationProblem().ProducesProblem(404).ProducesProblem(409);
        read.MapGet("/drills/{id}/report", Report).WithName("GetDrillReport")
            .WithSummary("The drill's report: JSON, or a self-contained HTML page with format=html (or Accept: text/html)")
            .Produces<DrillReport>().Produces(200, contentType: "text/html").ProducesProblem(404);
    }

    private static async Task<IResult> Create(HttpContext http, ApiContext api, DrillOptions options, ILoggerFactory loggers, CancellationToken ct)
    {
        var body = await ApiJson.ReadAsync<DrillRequest>(http.Request, optional: false, ct);
        var snapshot = api.Snapshots.Current;
        var now = api.Time.GetUtcNow();
        var (dataCenters, region) = DrillPlanner.Targets(snapshot.Gslb, body!.DataCenters, body.Region);
        var duration = body.DurationSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : options.DefaultDuration;
        if (body.DurationSeconds is { } s && (double.IsNaN(s) || duration < options.MinDuration || duration > DrillSetting.MaxDuration))
        {
            throw new InvalidFieldException("durationSeconds", $"{s} is out of range {options.MinDuration.TotalSeconds}..{DrillSetting.MaxDuration.TotalSeconds}");
        }

        var floor = body.CapacityFloor ?? options.DefaultCapacityFloor;
        if (floor is < 0 or > 1 || double.IsNaN(floor))
        {
            throw new InvalidFieldException("capacityFloor", "a share from 0 to 1 (0.5: half the effective weight must stay outside the target)");
        }

        var start = body.Start ?? now;
        if (start < now - TimeSpan.FromMinutes(1))
        {
            throw new InvalidFieldException("start", "in the past");
        }

        if (start > now + TimeSpan.FromDays(30))
        {
            throw new InvalidFieldException("start", "at most 30 days ahead");
        }

        if (body.OutcomeProbe is { } probe && (!Uri.TryCreate(probe, UriKind.Absolute, out var probeUri) || probeUri.Scheme is not ("http" or "https")))
        {
            throw new InvalidFieldException("outcomeProbe", "an absolute http:// or https:// URL");
        }

        foreach (var subnet in body.ClientSubnets ?? [])
        {
            if (!Explainer.TryParseClient(subnet, out _, out _))
            {
                throw new InvalidFieldException("clientSubnets", $"'{subnet}' is not ADDR or ADDR/PREFIX");
            }
        }

        var reason = Routes.CheckReason(body.Reason, required: true)!;
        var actor = http.User.Identity?.Name ?? "unknown";
        var drill = DrillPlanner.NewDrill(DrillSetting.NewId(now), snapshot.Gslb, dataCenters, region, start, duration, floor, body.OutcomeProbe, body.ClientSubnets, reason, actor, now);
        if (drill.Services.Count == 0)
        {
            throw new InvalidFieldException("dataCenters", $"no service has an endpoint in {string.Join(", ", dataCenters)}: nothing to drill");
        }

        // One creation at a time across every API process of the fleet, so two requests cannot both pass the overlap check.
        await using (await api.LockForGuardAsync(true, ct))
        {
            var state = await api.Store.ReadAsync(ct);
            var violations = DrillPlanner.Violations(snapshot, state, drill, options, now);
            if (body.DryRun == true)
            {
                var clients = DrillPlanner.Clients(body.ClientSubnets, options, snapshot, dataCenters);
                return Results.Ok(DrillPlanner.DryRun(snapshot, state, drill, api.Engine.Options, clients, violations, now));
            }

            var force = body.Force == true;
            if (violations.Count > 0 && !force)
            {
                await api.Store.AppendAuditAsync(AuditEntry.Create(now, actor, "refuse", DrillLeases.Key(drill.Id), null, drill with { State = DrillState.Refused, Violations = violations }, reason, false), ct);
                return Problems.Result(
                    StatusCodes.Status409Conflict,
                    "Drill refused",
                    string.Join("; ", violations) + ". Say \"force\": true (the reason is recorded) to run it anyway.",
                    new Dictionary<string, object?> { ["violations"] = violations, ["drill"] = drill.Id });
            }

            drill = drill with { Forced = violations.Count > 0, Violations = violations };
            if (drill.Forced)
            {
                drill = drill.WithStep(now, "forced", string.Join("; ", violations));
            }

            var created = await DrillLeases.CreateAsync(api.Store, drill, drill.Forced, ct);
            LogScheduled(loggers.CreateLogger(LogCategory), drill.Id, http.User.Identity?.Name ?? "unknown", [.. drill.DataCenters], drill.Region ?? "", drill.Start, drill.Duration.TotalSeconds, drill.Forced, drill.Reason ?? "");
            await api.Watcher.WaitForIndexAsync(created.Version, TimeSpan.FromSeconds(2), ct);
            http.Response.Headers.ETag = ETag.Format(created.Version);
            return Results.Created($"/v1/drills/{drill.Id}", DrillView.Of(created));
        }
    }

    private static async Task<IResult> List(ApiContext api, CancellationToken ct)
    {
        var state = await api.Store.ReadAsync(ct);
        var items = state.Drills().Select(DrillView.Of).ToList();
        return Results.Ok(new ListView<DrillView>(items.Count, items));
    }

    private static async Task<IResult> Get(HttpContext http, ApiContext api, string id, CancellationToken ct)
    {
        if (await DrillLeases.GetAsync(api.Store, id, ct) is not { } drill)
        {
            return NotFound(id);
        }

        http.Response.Headers.ETag = ETag.Format(drill.Version);
        return Results.Ok(DrillView.Of(drill));
    }

    private static async Task<IResult> Abort(HttpContext http, ApiContext api, string id, ILoggerFactory loggers, CancellationToken ct)
    {
        var body = await ApiJson.ReadAsync<DrillAbortRequest>(http.Request, optional: true, ct);
        var reason = Routes.CheckReason(body?.Reason, required: false) ?? "aborted by an operator";
        var actor = http.User.Identity?.Name ?? "unknown";
        var now = api.Time.GetUtcNow();
        string? refused = null;
        var (drill, changed) = await DrillLeases.UpdateAsync(api.Store, id, d =>
        {
            if (DrillStates.IsFinal(d.State))
            {
                refused = $"drill {id} is already {DrillStates.Name(d.State)}";
                return null;
            }

            refused = null;
            return d with
            {
                State = DrillState.Aborted,
                EndedAt = now,
                Results = d.Results.With(new DrillStep(now, "aborted", $"by {actor}: {reason}")) with { Outcome = $"aborted by {actor}: {reason}" },
            };
        }, actor, reason, api.Time, ct);
        if (drill is null)
        {
            return NotFound(id);
        }

        if (!changed)
        {
            return Problems.Result(StatusCodes.Status409Conflict, "Drill already over", refused ?? $"drill {id} cannot be aborted");
        }

        LogAborted(loggers.CreateLogger(LogCategory), id, actor, reason);
        await api.Watcher.WaitForIndexAsync(drill.Version, TimeSpan.FromSeconds(2), ct);
        http.Response.Headers.ETag = ETag.Format(drill.Version);
        return Results.Ok(DrillView.Of(drill));
    }

    private static async Task<IResult> Report(HttpContext http, ApiContext api, DrillOptions options, string id, string? format, CancellationToken ct)
    {
        if (await BuildReportAsync(api, options, id, ct) is not { } report)
        {
            return NotFound(id);
        }

        var html = string.Equals(format, "html", StringComparison.OrdinalIgnoreCase)
            || (format is null && http.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase));
        if (format is not null && !html && !string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Invalid("format", "json or html");
        }

        return html ? Results.Content(DrillReports.Html(report), "text/html; charset=utf-8") : Results.Ok(report);
    }

    /// <summary>A drill's report (null: no such drill), for this route and the status page's report links.</summary>
    internal static async Task<DrillReport?> BuildReportAsync(ApiContext api, DrillOptions options, string id, CancellationToken ct)
    {
        if (await DrillLeases.GetAsync(api.Store, id, ct) is not { } drill)
        {
            return null;
        }

        var audit = await api.Store.QueryAuditAsync(new AuditQuery(Target: id), ct);
        return DrillReports.Build(drill, api.Snapshots.Current.Gslb, options, audit.Select(ViewBuilder.Audit).ToList(), api.Time.GetUtcNow());
    }

    private static IResult NotFound(string id) => Problems.NotFound($"no drill '{id}'");

    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Drill {DrillId} scheduled by {Actor}: data centers {DataCenters} region {Region} from {Start} for {DurationSeconds} s (forced: {Forced}; reason: {Reason})")]
    private static partial void LogScheduled(ILogger logger, string drillId, string actor, string[] dataCenters, string region, DateTimeOffset start, double durationSeconds, bool forced, string reason);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Warning, Message = "Drill {DrillId} aborted by {Actor}: {Reason}")]
    private static partial void LogAborted(ILogger logger, string drillId, string actor, string reason);
}
