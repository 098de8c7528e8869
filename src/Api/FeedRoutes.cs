using GslbDns.Api.Auth;
using GslbDns.Gslb.Config;
using GslbDns.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GslbDns.Api;

/// <summary>
/// External health and load feeds (NS1 data feeds): a monitoring system sets an endpoint's up/down vote and
/// load figure for a while. Operator tokens and <c>feed</c> tokens may write them. Stored like a forced verdict
/// (operator state, audited, compare-and-set), so every DNS server sees them through its state watcher and
/// stops counting one at its expiry on its own clock.
/// </summary>
internal static class FeedRoutes
{
    /// <summary>A feed must be refreshed at least daily: a monitor that stopped must not leave its vote in force for long.</summary>
    public static readonly TimeSpan MaxExpiry = TimeSpan.FromDays(1);

    public static readonly TimeSpan MinExpiry = TimeSpan.FromSeconds(1);

    /// <summary>Same bound as a configured capacity.</summary>
    public const double MaxLoad = 1e9;

    public static void Map(IEndpointRouteBuilder app)
    {
        // Literal "feed" outranks the operator group's {kind} routes, so a feed token reaches these and only these.
        var feed = app.MapGroup("/v1").RequireAuthorization(BearerTokenHandler.FeedPolicy);
        feed.MapPut("/endpoints/{service}/{dc}/{address}/feed", Put).WithName("SetEndpointFeed")
            .WithSummary("Set an endpoint's external up/down vote and load figure until it expires").Accepts<FeedRequest>("application/json")
            .Produces<EntryView>().ProducesValidationProblem().ProducesProblem(404).ProducesProblem(409).ProducesProblem(412).ProducesProblem(413);
        feed.MapDelete("/endpoints/{service}/{dc}/{address}/feed", Delete).WithName("ClearEndpointFeed")
            .WithSummary("Clear an endpoint's external feed").Accepts<ClearRequest>("application/json")
            .Produces<EntryView>().ProducesValidationProblem().ProducesProblem(404).ProducesProblem(412);
    }

    private static Task<IResult> Put(HttpContext http, ApiContext api, StateWriter writer, string service, string dc, string address, CancellationToken ct) =>
        Routes.EndpointWrite(http, api, service, dc, address, async e => await Change(http, new StateKey(StateKind.Feed, e.Id), api, ct), writer, ct);

    private static Task<IResult> Delete(HttpContext http, ApiContext api, StateWriter writer, string service, string dc, string address, CancellationToken ct) =>
        Routes.EndpointWrite(http, api, service, dc, address, async e => await Routes.ClearChange(http, new StateKey(StateKind.Feed, e.Id), null, ct), writer, ct);

    private static async Task<ChangeRequest> Change(HttpContext http, StateKey key, ApiContext api, CancellationToken ct)
    {
        var (ifMatch, any) = Routes.IfMatch(http);
        var body = await ApiJson.ReadAsync<FeedRequest>(http.Request, optional: false, ct);
        if (body!.Up is null && body.Load is null)
        {
            throw new InvalidFieldException("up", "give up (true or false), load (a number), or both");
        }

        if (body.Load is { } load && (!double.IsFinite(load) || load < 0 || load > MaxLoad))
        {
            throw new InvalidFieldException("load", $"must be a number from 0 to {MaxLoad:0}, in the unit of the endpoint's capacity");
        }

        if (string.IsNullOrWhiteSpace(body.ExpiresIn))
        {
            throw new InvalidFieldException("expiresIn", $"required, a duration such as \"60s\" (at most {DurationText.Format(MaxExpiry)}): a feed always expires");
        }

        if (!DurationText.TryParse(body.ExpiresIn, out var lifetime, out var error))
        {
            throw new InvalidFieldException("expiresIn", error);
        }

        if (lifetime < MinExpiry || lifetime > MaxExpiry)
        {
            throw new InvalidFieldException("expiresIn", $"{body.ExpiresIn} is out of range {DurationText.Format(MinExpiry)}..{DurationText.Format(MaxExpiry)}");
        }

        var reason = Routes.CheckReason(body.Reason, required: false);
        var actor = Routes.Actor(http);
        var now = api.Time.GetUtcNow();
        return new ChangeRequest(key, new FeedSetting(body.Up, body.Load, now + lifetime, reason, actor, now), ifMatch, any, reason, false, actor, null);
    }
}
