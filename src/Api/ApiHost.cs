using System.Net;
using GslbDns.Api.Auth;
using GslbDns.Consul;
using GslbDns.Health;
using GslbDns.Hosting;
using GslbDns.Query;
using GslbDns.State;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using Serilog;
using Serilog.Events;

namespace GslbDns.Api;

/// <summary>Where and how the API listens.</summary>
public sealed record ApiHostOptions
{
    /// <summary>Addresses to listen on (HTTP). Port 0 picks a free port; <see cref="ApiHost.Urls"/> tells which.</summary>
    public IReadOnlyList<IPEndPoint> Listen { get; init; } = [new(IPAddress.Loopback, 8080)];

    /// <summary>Refuse any non-loopback listen address (embedded mode).</summary>
    public bool LoopbackOnly { get; init; }

    /// <summary>The accepted bearer tokens.</summary>
    public required ApiTokens Tokens { get; init; }

    /// <summary>Largest request body; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 64 * 1024;

    /// <summary>Where logs (including one line per request, without headers) go; defaults to <see cref="Log.Logger"/>.</summary>
    public Serilog.ILogger? Logger { get; init; }

    public TimeProvider? Time { get; init; }

    /// <summary>How drills are planned and run (the runner lives in this host).</summary>
    public Drills.DrillOptions Drills { get; init; } = new();

    /// <summary>Serve HTTPS with this certificate (owned by the caller, which loads it before anything starts); null: HTTP.</summary>
    public Tls.ApiCertificate? Certificate { get; init; }

    /// <summary>How many wrong tokens a client address may present before it gets 429.</summary>
    public AuthFailureLimit AuthFailureLimit { get; init; } = new();

    /// <summary>Signed zones' keys (embedded mode: the DNS server holds them); null: GET /v1/dnssec lists none.</summary>
    public Func<IReadOnlyList<GslbDns.Dnssec.SignedZoneView>>? Dnssec { get; init; }

    /// <summary>The process's /readyz checks (e.g. its Consul watch); the host adds <c>zones</c> and <c>operator_state</c>.</summary>
    public GslbDns.Observability.Readiness? Readiness { get; init; }
}

/// <summary>
/// The operator REST API as an embeddable host: builds a Kestrel <see cref="WebApplication"/> against a given
/// store, snapshot, engine and health view, and starts it. The standalone <c>gslbdns-api</c> process uses it,
/// and so can the DNS server in embedded mode (one process, the SQLite store, the same snapshot).
/// </summary>
public sealed class ApiHost : IAsyncDisposable
{
    /// <summary>All request headers together, in bytes: Kestrel answers 431 (before the API sees it) past this.</summary>
    public const int MaxRequestHeadersBytes = 16 * 1024;

    private readonly WebApplication _app;
    private readonly OperatorStateWatcher? _ownedWatcher;
    private readonly Serilog.Core.Logger _logger;

    private ApiHost(WebApplication app, OperatorStateWatcher watcher, OperatorStateWatcher? ownedWatcher, IReadOnlyList<Uri> urls, Serilog.Core.Logger logger)
    {
        _app = app;
        _logger = logger;
        Watcher = watcher;
        _ownedWatcher = ownedWatcher;
        Urls = urls;
    }

    /// <summary>The bound addresses, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public IReadOnlyList<Uri> Urls { get; }

    public Uri BaseAddress => Urls[0];

    /// <summary>The watcher that applies the store's state to the snapshot (given, or started by this host).</summary>
    public OperatorStateWatcher Watcher { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts the API. If <paramref name="watcher"/> is null the host starts (and owns) one that applies
    /// <paramref name="store"/> to <paramref name="snapshots"/>; pass the DNS server's own watcher when it has one.
    /// </summary>
    /// <exception cref="ArgumentException">A non-loopback address with <see cref="ApiHostOptions.LoopbackOnly"/>.</exception>
    public static async Task<ApiHost> StartAsync(
        ApiHostOptions options,
        IOperatorStateStore store,
        SnapshotHolder snapshots,
        QueryEngine engine,
        HealthStatePublisher? health,
        OperatorStateWatcher? watcher = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(engine);
        if (options.Listen.Count == 0)
        {
            throw new ArgumentException("at least one listen address is needed", nameof(options));
        }

        if (options.LoopbackOnly && options.Listen.FirstOrDefault(e => !IPAddress.IsLoopback(e.Address)) is { } exposed)
        {
            throw new ArgumentException($"embedded mode listens on loopback only; {exposed} is not", nameof(options));
        }

        var time = options.Time ?? TimeProvider.System;
        var logger = Filtered(options.Logger ?? Log.Logger);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory, EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(logger, dispose: false);
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = MaxRequestHeadersBytes;
            kestrel.Limits.MaxRequestLineSize = 8 * 1024;
            foreach (var endPoint in options.Listen)
            {
                if (options.Certificate is { } certificate)
                {
                    // Per handshake the current certificate: a reload needs no new listener.
                    kestrel.Listen(endPoint, listen => listen.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.TlsHandshakeCallbackOptions { OnConnection = certificate.OnConnectionAsync }));
                }
                else
                {
                    kestrel.Listen(endPoint);
                }
            }
        });

        OperatorStateWatcher? owned = null;
        if (watcher is null)
        {
            var publisher = new OperatorStatePublisher(snapshots, time);
            using var factory = new Serilog.Extensions.Logging.SerilogLoggerFactory(logger);
            owned = watcher = new OperatorStateWatcher(store, publisher, factory.CreateLogger("GslbDns.State"), time);
            watcher.Start();
        }

        // Authentication pulls in data protection, which this API never uses (the status page's cookie is a random id, not a protected ticket): keep its keys in
        // memory instead of writing a key ring to the home folder.
        builder.Services.AddSingleton<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider());
        builder.Services.AddSingleton(options.Tokens);
        builder.Services.AddSingleton(new AuthFailureLimiter(options.AuthFailureLimit, time));
        builder.Services.AddSingleton(new ApiContext(store, watcher, snapshots, engine, health, time) { Dnssec = options.Dnssec });
        builder.Services.AddSingleton<StateWriter>();
        builder.Services.AddSingleton(new Ui.UiSessions(time));
        builder.Services.AddSingleton(options.Drills);
        builder.Services.AddSingleton<Drills.DrillRunner>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Drills.DrillRunner>());
        builder.Services.ConfigureHttpJsonOptions(o => ApiJson.ConfigureResponse(o.SerializerOptions));
        builder.Services.AddProblemDetails();
        builder.Services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(BearerTokenHandler.ReadPolicy, p => p.RequireAuthenticatedUser().RequireRole("read", "operator"))
            .AddPolicy(BearerTokenHandler.OperatorPolicy, p => p.RequireAuthenticatedUser().RequireRole("operator"))
            .AddPolicy(BearerTokenHandler.FeedPolicy, p => p.RequireAuthenticatedUser().RequireRole("operator", "feed"));
        builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "GslbDns operator API";
            document.Info.Version = "v1";
            document.Info.Description = "Data-center and endpoint weights, drains, forced health verdicts, disaster-recovery drills, explain and audit. "
                + "Every /v1 route needs 'Authorization: Bearer <token>' (read or operator); changes need an operator token. "
                + "Entries carry their version as an ETag; send it back in If-Match to write only if nobody else did (412 otherwise).";
            document.Components ??= new Microsoft.OpenApi.OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, Microsoft.OpenApi.IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerTokenHandler.SchemeName] = new Microsoft.OpenApi.OpenApiSecurityScheme
            {
                Type = Microsoft.OpenApi.SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A token from the tokens file: role 'read' for GET, 'operator' for changes.",
            };
            document.Security ??= [];
            document.Security.Add(new Microsoft.OpenApi.OpenApiSecurityRequirement
            {
                [new Microsoft.OpenApi.OpenApiSecuritySchemeReference(BearerTokenHandler.SchemeName, document)] = [],
            });
            return Task.CompletedTask;
        }));

        var readiness = options.Readiness ?? new GslbDns.Observability.Readiness();
        readiness.Add(GslbDns.Observability.ReadinessChecks.ZonesLoaded(snapshots, "the zone folder"));
        var stateWatcher = watcher;
        readiness.Add(GslbDns.Observability.ReadinessChecks.SyncedOnce("operator_state", $"the operator state ({store.Kind})", () => stateWatcher.LastSuccess != default));

        var app = builder.Build();
        app.Use(ApiMetrics.CountRequestAsync);
        app.UseExceptionHandler(new ExceptionHandlerOptions { StatusCodeSelector = StatusFor });
        app.UseStatusCodePages();
        app.UseSerilogRequestLogging(o =>
        {
            o.Logger = logger;

            // Method, path (no query string), status and time, plus who: the token's name, never the token.
            o.EnrichDiagnosticContext = (diagnostics, http) =>
            {
                diagnostics.Set("Actor", http.User.Identity?.IsAuthenticated == true ? http.User.Identity.Name : "anonymous");
                if (http.Response.StatusCode is 401 or 403 or 429)
                {
                    ApiMetrics.AuthFailures.WithLabels(http.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
                }
            };
            o.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0} ms ({Actor})";
        });
        app.Use(StoreUnavailableAsync);
        app.UseHttpMetrics();
        app.Use(app.Services.GetRequiredService<AuthFailureLimiter>().RefuseLimitedAsync);
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapOpenApi().AllowAnonymous();
        app.MapMetrics("/metrics").AllowAnonymous();
        app.MapGet("/healthz", () => Results.Text("ok\n")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/readyz", () =>
        {
            var result = readiness.Evaluate();
            return Results.Text(result.ToJson(), "application/json", statusCode: result.Ready ? 200 : 503);
        }).AllowAnonymous().ExcludeFromDescription();
        Routes.Map(app);
        FeedRoutes.Map(app);
        Ui.StatusPage.Map(app);

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            if (owned is not null)
            {
                await owned.DisposeAsync();
            }

            await app.DisposeAsync();
            await logger.DisposeAsync();
            throw;
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var urls = addresses.Select(a => new Uri(a.Replace("[::]", "[::1]", StringComparison.Ordinal).TrimEnd('/') + "/")).ToList();
        return new ApiHost(app, watcher, owned, urls, logger);
    }

    /// <summary>The given logger, with ASP.NET Core's own per-request chatter (which the request log replaces) turned down.</summary>
    private static Serilog.Core.Logger Filtered(Serilog.ILogger logger) =>
        new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting", LogEventLevel.Warning)
            .WriteTo.Logger(logger)
            .CreateLogger();

    private static int StatusFor(Exception exception) => exception switch
    {
        BadHttpRequestException bad => bad.StatusCode,
        InvalidFieldException => StatusCodes.Status400BadRequest,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>Store trouble (Consul down, disk full) is a 503 with problem details, not a bare 500; a too-large body is a 413.</summary>
    private static async Task StoreUnavailableAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            await Problems.WriteAsync(context, ex.StatusCode, ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request body too large" : "Bad request", ex.Message);
        }
        catch (InvalidFieldException ex) when (!context.Response.HasStarted)
        {
            await Problems.Invalid(ex.Field, ex.Reason).ExecuteAsync(context);
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested
            && ex is ConsulException or HttpRequestException or System.Data.Common.DbException or TimeoutException)
        {
            await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "State store unavailable", $"The {context.RequestServices.GetRequiredService<ApiContext>().Store.Kind} store did not answer. A change may or may not have been made: read the entry again before retrying.");
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken = default) => await _app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync(CancellationToken.None);
        }
        catch (OperationCanceledException)
        {
            // Already stopping.
        }

        await _app.DisposeAsync();
        if (_ownedWatcher is not null)
        {
            await _ownedWatcher.DisposeAsync();
        }

        // Only the filtering pipeline: the logger it forwards to belongs to the caller.
        await _logger.DisposeAsync();
    }
}
