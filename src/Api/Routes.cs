using System.Globalization;
using System.Net;
using GslbDns.Answers;
using GslbDns.Api.Auth;
using GslbDns.Dns;
using GslbDns.Gslb;
using Endpoint = GslbDns.Gslb.Endpoint;
using GslbDns.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GslbDns.Api;

/// <summary>Every <c>/v1</c> route. Reads need a read or operator token; changes need an operator token.</summary>
internal static class Routes
{
    public const int MaxReasonLength = 500;

    /// <summary>Same range as a configured weight (docs/gslb-config.md: 0..1000).</summary>
    public const int MaxWeight = 1000;
    public static readonly TimeSpan MaxOverride = TimeSpan.FromDays(30);

    public static void Map(IEndpointRouteBuilder app)
    {
        var read = app.MapGroup("/v1").RequireAuthorization(BearerTokenHandler.ReadPolicy);
        var write = app.MapGroup("/v1").RequireAuthorization(BearerTokenHandler.OperatorPolicy);

        read.MapGet("/status", Status).WithName("GetStatus").WithSummary("Store, watcher, snapshot and prober status").Produces<StatusView>();
        read.MapGet("/state", State).WithName("GetState").WithSummary("Every operator entry (weights, drains, overrides) with its version").Produces<StateView>();

        read.MapGet("/datacenters", ListDataCenters).WithName("ListDataCenters").WithSummary("Data centers with their endpoints' live state").Produces<ListView<DataCenterView>>();
        read.MapGet("/datacenters/{dc}", GetDataCenter).WithName("GetDataCenter").Produces<DataCenterView>().ProducesProblem(404);
        read.MapGet("/datacenters/{dc}/{kind}", GetDataCenterEntry).WithName("GetDataCenterEntry")
            .WithSummary("One entry (kind: weight, drain or override) with its version as the ETag").Produces<EntryView>().ProducesProblem(404);
        write.MapPut("/datacenters/{dc}/weight", PutDataCenterWeight).WithName("SetDataCenterWeight").Accepts<WeightRequest>("application/json").Produces<EntryView>().WithWriteProblems();
        write.MapPut("/datacenters/{dc}/drain", PutDataCenterDrain).WithName("DrainDataCenter").Accepts<DrainRequest>("application/json").Produces<EntryView>().WithWriteProblems();
        write.MapPut("/datacenters/{dc}/override", PutDataCenterOverride).WithName("OverrideDataCenter").Accepts<OverrideRequest>("application/json").Produces<EntryView>().WithWriteProblems();
        write.MapDelete("/datacenters/{dc}/{kind}", DeleteDataCenterEntry).WithName("ClearDataCenterEntry")
            .WithSummary("Clear a weight override, undrain, or drop a forced verdict").Accepts<ClearRequest>("application/json").Produces<EntryView>().WithWriteProblems();

        read.MapGet("/endpoints", ListEndpoints).WithName("ListEndpoints").Produces<ListView<EndpointView>>();
        read.MapGet("/endpoints/{service}/{dc}/{address}", GetEndpoint).WithName("GetEndpoint").Produces<EndpointView>().ProducesProblem(404);
        read.MapGet("/endpoints/{service}/{dc}/{address}/{kind}", GetEndpointEntry).WithName("GetEndpointEntry").Produces<EntryView>().ProducesProblem(404);
        write.MapPut("/endpoints/{service}/{dc}/{address}/weight", PutEndpointWeight).WithName("SetEndpointWeight").Accepts<WeightRequest>("application/json").Produces<EntryView>().WithWriteProblems();
        write.MapPut("/endpoints/{service}/{dc}/{address}/drain", PutEndpointDrain).WithName("DrainEndpoint").Accepts<DrainRequest>("application/json").Produces<EntryView>().WithWriteProblems();
        write.MapPut("/endpoints/{service}/{dc}/{address}/override", PutEndpointOverride).WithName("OverrideEndpoint").Accepts<OverrideRequest>("application/json").Produces<EntryView>().WithWriteProblems();
        write.MapDelete("/endpoints/{service}/{dc}/{address}/{kind}", DeleteEndpointEntry).WithName("ClearEndpointEntry").Accepts<ClearRequest>("application/json").Produces<EntryView>().WithWriteProblems();

        read.MapGet("/services", ListServices).WithName("ListServices").WithSummary("Load-balanced names with their policies and endpoints").Produces<ListView<ServiceView>>();
        read.MapGet("/services/{name}", GetService).WithName("GetService").Produces<ServiceView>().ProducesProblem(404);

        read.MapGet("/dnssec", ListSignedZones).WithName("ListSignedZones")
            .WithSummary("Signed zones and their keys: role, tag, phase, times, next key event (embedded mode; empty from gslbdns-api)")
            .Produces<ListView<GslbDns.Dnssec.SignedZoneView>>();

        read.MapGet("/explain", Explain).WithName("Explain")
            .WithSummary("The answer a client (address or subnet) gets for a name and type, and why; the DNS server's own engine")
            .Produces<Explanation>().ProducesValidationProblem();
        Drills.DrillRoutes.Map(read, write);
        read.MapGet("/audit", Audit).WithName("QueryAudit").WithSummary("Audit log by time range [from, to) and object, oldest first").Produces<AuditPage>().ProducesValidationProblem();
    }

    private static RouteHandlerBuilder WithWriteProblems(this RouteHandlerBuilder builder) =>
        builder.ProducesValidationProblem().ProducesProblem(404).ProducesProblem(409).ProducesProblem(412).ProducesProblem(413);

    // ---- Reads ---------------------------------------------------------------------------------------

    private static IResult Status(ApiContext api) => Results.Ok(ViewBuilder.Status(api));

    private static IResult ListSignedZones(ApiContext api)
    {
        var zones = api.Dnssec?.Invoke() ?? [];
        return Results.Ok(new ListView<GslbDns.Dnssec.SignedZoneView>(zones.Count, zones));
    }

    private static async Task<IResult> State(ApiContext api, CancellationToken ct)
    {
        var state = await api.Store.ReadAsync(ct);
        var now = api.Time.GetUtcNow();
        var entries = state.Entries.Select(e => ViewBuilder.Entry(e.Key, e.Value, now)).ToList();
        return Results.Ok(new StateView(api.Store.Kind, api.Watcher.Connected, state.Index, entries.Count, entries));
    }

    private static IResult ListDataCenters(ApiContext api)
    {
        var items = ViewBuilder.DataCenters(api);
        return Results.Ok(new ListView<DataCenterView>(items.Count, items));
    }

    private static IResult GetDataCenter(ApiContext api, string dc)
    {
        var snapshot = api.Snapshots.Current;
        return snapshot.Gslb.DataCenters.TryGetValue(dc, out var dataCenter)
            ? Results.Ok(ViewBuilder.DataCenter(dataCenter, snapshot, api.Watcher.Current, api.HealthView, api.Time.GetUtcNow()))
            : UnknownDataCenter(dc);
    }

    private static async Task<IResult> GetDataCenterEntry(HttpContext http, ApiContext api, string dc, string kind, CancellationToken ct)
    {
        if (!api.Snapshots.Current.Gslb.DataCenters.ContainsKey(dc))
        {
            return UnknownDataCenter(dc);
        }

        return TryParseEntryKind(kind, out var k) ? await GetEntryAsync(http, api, new StateKey(k, dc), null, ct) : UnknownKind(kind);
    }

    private static IResult ListEndpoints(ApiContext api)
    {
        var items = ViewBuilder.Endpoints(api);
        return Results.Ok(new ListView<EndpointView>(items.Count, items));
    }

    private static IResult GetEndpoint(ApiContext api, string service, string dc, string address)
    {
        var snapshot = api.Snapshots.Current;
        return ViewBuilder.FindEndpoint(snapshot.Gslb, service, dc, address) is { } found
            ? Results.Ok(ViewBuilder.Endpoint(found.Service, found.Endpoint, snapshot, api.Watcher.Current, api.HealthView, api.Time.GetUtcNow()))
            : UnknownEndpoint(service, dc, address);
    }

    private static async Task<IResult> GetEndpointEntry(HttpContext http, ApiContext api, string service, string dc, string address, string kind, CancellationToken ct)
    {
        if (ViewBuilder.FindEndpoint(api.Snapshots.Current.Gslb, service, dc, address) is not { } found)
        {
            return UnknownEndpoint(service, dc, address);
        }

        return TryParseEntryKind(kind, out var k)
            ? await GetEntryAsync(http, api, new StateKey(k, found.Endpoint.Id), k == StateKind.Weight ? found.Endpoint.Weight : null, ct)
            : UnknownKind(kind);
    }

    private static async Task<IResult> GetEntryAsync(HttpContext http, ApiContext api, StateKey key, int? configuredWeight, CancellationToken ct)
    {
        var state = await api.Store.ReadAsync(ct);
        var view = ViewBuilder.EntryOrUnset(state, key, api.Time.GetUtcNow(), configuredWeight);
        http.Response.Headers.ETag = ETag.Format(view.Version);
        return Results.Ok(view);
    }

    private static IResult ListServices(ApiContext api)
    {
        var snapshot = api.Snapshots.Current;
        var now = api.Time.GetUtcNow();
        var items = snapshot.Gslb.Services.Values.OrderBy(s => s.Name.ToString(), StringComparer.Ordinal)
            .Select(s => ViewBuilder.Service(s, snapshot, api.Watcher.Current, api.HealthView, now)).ToList();
        return Results.Ok(new ListView<ServiceView>(items.Count, items));
    }

    private static IResult GetService(ApiContext api, string name)
    {
        var snapshot = api.Snapshots.Current;
        return ViewBuilder.FindService(snapshot.Gslb, name) is { } service
            ? Results.Ok(ViewBuilder.Service(service, snapshot, api.Watcher.Current, api.HealthView, api.Time.GetUtcNow()))
            : Problems.NotFound($"no service named '{name}'");
    }

    private static IResult Explain(ApiContext api, string? name, string? type, string? client)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return Problems.Invalid("name", "required, e.g. name=www.example.com");
        }

        if (!DnsName.TryParse(name.EndsWith('.') ? name : name + ".", null, out var dnsName, out var nameError))
        {
            return Problems.Invalid("name", nameError);
        }

        ushort qtype = RecordType.A;
        if (!string.IsNullOrEmpty(type) && !RecordType.TryParse(type.ToUpperInvariant(), out qtype))
        {
            return Problems.Invalid("type", $"'{type}' is not a record type");
        }

        if (string.IsNullOrWhiteSpace(client))
        {
            return Problems.Invalid("client", "required: an address or subnet, e.g. client=81.2.69.0/24");
        }

        if (!Explainer.TryParseClient(client, out var address, out var prefix))
        {
            return Problems.Invalid("client", $"'{client}' is not ADDR or ADDR/PREFIX");
        }

        var explanation = new Explainer(api.Engine).Explain(dnsName, qtype, address, prefix, api.Time);
        return Results.Ok(explanation);
    }

    private static async Task<IResult> Audit(ApiContext api, string? from, string? to, string? @object, string? kind, string? limit, CancellationToken ct)
    {
        var count = 1000;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1 || count > 10000))
        {
            return Problems.Invalid("limit", "a whole number from 1 to 10000");
        }

        DateTimeOffset? fromTime = null, toTime = null;
        if (from is not null)
        {
            if (!DateTimeOffset.TryParse(from, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var f))
            {
                return Problems.Invalid("from", "not an RFC 3339 time");
            }

            fromTime = f;
        }

        if (to is not null)
        {
            if (!DateTimeOffset.TryParse(to, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
            {
                return Problems.Invalid("to", "not an RFC 3339 time");
            }

            toTime = t;
        }

        if (fromTime is not null && toTime is not null && toTime < fromTime)
        {
            return Problems.Invalid("to", "before 'from'");
        }

        StateKind? stateKind = null;
        if (kind is not null)
        {
            if (!StateKinds.TryParseName(kind, out var k))
            {
                return Problems.Invalid("kind", "weight, drain, override or drill");
            }

            stateKind = k;
        }

        var entries = await api.Store.QueryAuditAsync(new AuditQuery(fromTime, toTime, string.IsNullOrEmpty(@object) ? null : @object, stateKind, count), ct);
        var views = entries.Select(ViewBuilder.Audit).ToList();
        return Results.Ok(new AuditPage(views.Count, views));
    }

    // ---- Writes --------------------------------------------------------------------------------------

    private static Task<IResult> PutDataCenterWeight(HttpContext http, ApiContext api, StateWriter writer, string dc, CancellationToken ct) =>
        DataCenterWrite(http, api, dc, async target => await WeightChange(http, new StateKey(StateKind.Weight, target), null, api, ct), writer, ct);

    private static Task<IResult> PutDataCenterDrain(HttpContext http, ApiContext api, StateWriter writer, string dc, CancellationToken ct) =>
        DataCenterWrite(http, api, dc, async target => await DrainChange(http, new StateKey(StateKind.Drain, target), api, ct), writer, ct);

    private static Task<IResult> PutDataCenterOverride(HttpContext http, ApiContext api, StateWriter writer, string dc, CancellationToken ct) =>
        DataCenterWrite(http, api, dc, async target => await OverrideChange(http, new StateKey(StateKind.Override, target), api, ct), writer, ct);

    private static Task<IResult> DeleteDataCenterEntry(HttpContext http, ApiContext api, StateWriter writer, string dc, string kind, CancellationToken ct) =>
        TryParseEntryKind(kind, out var k)
            ? DataCenterWrite(http, api, dc, async target => await ClearChange(http, new StateKey(k, target), null, ct), writer, ct)
            : Task.FromResult(UnknownKind(kind));

    private static Task<IResult> PutEndpointWeight(HttpContext http, ApiContext api, StateWriter writer, string service, string dc, string address, CancellationToken ct) =>
        EndpointWrite(http, api, service, dc, address, async e => await WeightChange(http, new StateKey(StateKind.Weight, e.Id), e.Weight, api, ct), writer, ct);

    private static Task<IResult> PutEndpointDrain(HttpContext http, ApiContext api, StateWriter writer, string service, string dc, string address, CancellationToken ct) =>
        EndpointWrite(http, api, service, dc, address, async e => await DrainChange(http, new StateKey(StateKind.Drain, e.Id), api, ct), writer, ct);

    private static Task<IResult> PutEndpointOverride(HttpContext http, ApiContext api, StateWriter writer, string service, string dc, string address, CancellationToken ct) =>
        EndpointWrite(http, api, service, dc, address, async e => await OverrideChange(http, new StateKey(StateKind.Override, e.Id), api, ct), writer, ct);

    private static Task<IResult> DeleteEndpointEntry(HttpContext http, ApiContext api, StateWriter writer, string service, string dc, string address, string kind, CancellationToken ct) =>
        TryParseEntryKind(kind, out var k)
            ? EndpointWrite(http, api, service, dc, address, async e => await ClearChange(http, new StateKey(k, e.Id), k == StateKind.Weight ? e.Weight : null, ct), writer, ct)
            : Task.FromResult(UnknownKind(kind));

    private static async Task<IResult> DataCenterWrite(HttpContext http, ApiContext api, string dc, Func<string, Task<ChangeRequest>> build, StateWriter writer, CancellationToken ct)
    {
        if (!api.Snapshots.Current.Gslb.DataCenters.ContainsKey(dc))
        {
            return UnknownDataCenter(dc);
        }

        return await WriteAsync(http, writer, () => build(dc), ct);
    }

    internal static async Task<IResult> EndpointWrite(HttpContext http, ApiContext api, string service, string dc, string address, Func<Endpoint, Task<ChangeRequest>> build, StateWriter writer, CancellationToken ct)
    {
        if (ViewBuilder.FindEndpoint(api.Snapshots.Current.Gslb, service, dc, address) is not { } found)
        {
            return UnknownEndpoint(service, dc, address);
        }

        return await WriteAsync(http, writer, () => build(found.Endpoint), ct);
    }

    private static async Task<IResult> WriteAsync(HttpContext http, StateWriter writer, Func<Task<ChangeRequest>> build, CancellationToken ct)
    {
        ChangeRequest change;
        try
        {
            change = await build();
        }
        catch (InvalidFieldException ex)
        {
            return Problems.Invalid(ex.Field, ex.Reason);
        }

        return await writer.ApplyAsync(http, change, ct);
    }

    private static async Task<ChangeRequest> WeightChange(HttpContext http, StateKey key, int? configuredWeight, ApiContext api, CancellationToken ct)
    {
        var (ifMatch, any) = IfMatch(http);
        var body = await ApiJson.ReadAsync<WeightRequest>(http.Request, optional: false, ct);
        if (body!.Weight is not { } weight)
        {
            throw new InvalidFieldException("weight", "required, 0..1000");
        }

        if (weight is < 0 or > MaxWeight)
        {
            throw new InvalidFieldException("weight", $"{weight} is out of range 0..{MaxWeight}");
        }

        var reason = Reason(body.Reason, required: false);
        var actor = Actor(http);
        return new ChangeRequest(key, new WeightSetting(weight, reason, actor, api.Time.GetUtcNow()), ifMatch, any, reason, false, actor, configuredWeight);
    }

    private static async Task<ChangeRequest> DrainChange(HttpContext http, StateKey key, ApiContext api, CancellationToken ct)
    {
        var (ifMatch, any) = IfMatch(http);
        var body = await ApiJson.ReadAsync<DrainRequest>(http.Request, optional: false, ct);
        var reason = Reason(body!.Reason, required: true)!;
        var actor = Actor(http);
        return new ChangeRequest(key, new DrainSetting(reason, actor, api.Time.GetUtcNow()), ifMatch, any, reason, body.Force ?? false, actor, null);
    }

    private static async Task<ChangeRequest> OverrideChange(HttpContext http, StateKey key, ApiContext api, CancellationToken ct)
    {
        var (ifMatch, any) = IfMatch(http);
        var body = await ApiJson.ReadAsync<OverrideRequest>(http.Request, optional: false, ct);
        if (body!.Healthy is not { } healthy)
        {
            throw new InvalidFieldException("healthy", "required: true (force healthy) or false (force unhealthy)");
        }

        var now = api.Time.GetUtcNow();
        DateTimeOffset expires;
        if (body.Expires is { } at)
        {
            if (body.TtlSeconds is not null)
            {
                throw new InvalidFieldException("ttlSeconds", "give either expires or ttlSeconds, not both");
            }

            expires = at;
        }
        else if (body.TtlSeconds is { } ttl)
        {
            if (ttl < 1 || ttl > MaxOverride.TotalSeconds)
            {
                throw new InvalidFieldException("ttlSeconds", $"{ttl} is out of range 1..{MaxOverride.TotalSeconds:0}");
            }

            expires = now.AddSeconds(ttl);
        }
        else
        {
            throw new InvalidFieldException("expires", "required (RFC 3339 time), or ttlSeconds: a forced verdict always expires");
        }

        if (expires <= now)
        {
            throw new InvalidFieldException("expires", "must be in the future");
        }

        if (expires > now + MaxOverride)
        {
            throw new InvalidFieldException("expires", $"at most {MaxOverride.TotalDays:0} days ahead");
        }

        var reason = Reason(body.Reason, required: true)!;
        var actor = Actor(http);
        return new ChangeRequest(key, new OverrideSetting(healthy, expires, reason, actor, now), ifMatch, any, reason, body.Force ?? false, actor, null);
    }

    internal static async Task<ChangeRequest> ClearChange(HttpContext http, StateKey key, int? configuredWeight, CancellationToken ct)
    {
        var (ifMatch, any) = IfMatch(http);
        var body = await ApiJson.ReadAsync<ClearRequest>(http.Request, optional: true, ct);
        var query = http.Request.Query;
        var reasonText = body?.Reason ?? (query.TryGetValue("reason", out var r) ? r.ToString() : null);
        bool force;
        if (body?.Force is { } f)
        {
            force = f;
        }
        else if (query.TryGetValue("force", out var forceText))
        {
            if (!bool.TryParse(forceText, out force))
            {
                throw new InvalidFieldException("force", "true or false");
            }
        }
        else
        {
            force = false;
        }

        var reason = Reason(reasonText, required: false);
        if (force && reason is null)
        {
            throw new InvalidFieldException("reason", "required with force: say why the guardrail is overridden");
        }

        return new ChangeRequest(key, null, ifMatch, any, reason, force, Actor(http), configuredWeight);
    }

    internal static (ulong? Version, bool Any) IfMatch(HttpContext http) =>
        ETag.TryParseIfMatch(http.Request, out var version, out var any)
            ? (version, any)
            : throw new InvalidFieldException("If-Match", "must be \"*\" or a strong ETag such as \"42\" from a GET");

    /// <summary>The one check of a reason field, for every route that takes one.</summary>
    internal static string? CheckReason(string? reason, bool required) => Reason(reason, required);

    private static string? Reason(string? reason, bool required)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            return required ? throw new InvalidFieldException("reason", "required: say why, for the audit log") : null;
        }

        if (reason.Length > MaxReasonLength)
        {
            throw new InvalidFieldException("reason", $"longer than {MaxReasonLength} characters");
        }

        if (reason.Any(char.IsControl))
        {
            throw new InvalidFieldException("reason", "control characters are not allowed");
        }

        return reason.Trim();
    }

    internal static string Actor(HttpContext http) => http.User.Identity?.Name ?? "unknown";

    private static IResult UnknownDataCenter(string dc) => Problems.NotFound($"unknown data center '{dc}'");

    private static IResult UnknownEndpoint(string service, string dc, string address) => Problems.NotFound($"no endpoint {service}/{dc}/{address}");

    /// <summary>The kinds an endpoint or data center carries; drills have their own routes.</summary>
    private static bool TryParseEntryKind(string text, out StateKind kind) => StateKinds.TryParseName(text, out kind) && kind != StateKind.Drill;

    private static IResult UnknownKind(string kind) => Problems.NotFound($"'{kind}' is not weight, drain, override or feed");
}
