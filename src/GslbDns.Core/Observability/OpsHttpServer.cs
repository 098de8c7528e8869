using System.Net;
using System.Text;
using Prometheus;

namespace GslbDns.Observability;

/// <summary>
/// The operations listener of the DNS server and the prober: <c>/metrics</c> (Prometheus text from the process's
/// registry), <c>/healthz</c> (alive: 200 <c>ok</c> whenever the process answers HTTP) and <c>/readyz</c> (200 when
/// every readiness check holds, else 503 with a JSON body naming what is not ready). The API serves the same three
/// paths from ASP.NET Core with the same <see cref="Readiness"/>.
/// </summary>
public sealed class OpsHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CollectorRegistry _registry;
    private readonly Readiness _readiness;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public OpsHttpServer(IPEndPoint endPoint, CollectorRegistry registry, Readiness readiness)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        _registry = registry;
        _readiness = readiness;
        _listener.Prefixes.Add($"http://{GslbDns.Hosting.HttpListenerHost.Of(endPoint.Address)}:{endPoint.Port}/");
    }

    /// <summary>Starts serving; throws <see cref="HttpListenerException"/> when the address cannot be bound.</summary>
    public void Start()
    {
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                break;
            }

            _ = Task.Run(() => ServeAsync(context));
        }
    }

    private async Task ServeAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            switch (context.Request.Url?.AbsolutePath.TrimEnd('/'))
            {
                case "/metrics":
                    response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                    await _registry.CollectAndExportAsTextAsync(response.OutputStream, _stop.Token);
                    break;
                case "/healthz":
                    await WriteAsync(response, 200, "text/plain; charset=utf-8", "ok\n");
                    break;
                case "/readyz":
                    var result = _readiness.Evaluate();
                    await WriteAsync(response, result.Ready ? 200 : 503, "application/json", result.ToJson());
                    break;
                default:
                    await WriteAsync(response, 404, "text/plain; charset=utf-8", "not found: /metrics, /healthz, /readyz\n");
                    break;
            }
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The scraper went away or we are stopping: nothing to answer.
        }
        catch (Exception ex)
        {
            // A failing collector callback must not take the listener down; say what failed.
            try
            {
                await WriteAsync(response, 500, "text/plain; charset=utf-8", $"{ex.GetType().Name}: {ex.Message}\n");
            }
            catch (Exception inner) when (inner is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
            }
        }
    }

    private static async Task WriteAsync(HttpListenerResponse response, int status, string contentType, string body)
    {
        response.StatusCode = status;
        response.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(body);
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            if (_listener.IsListening)
            {
                _listener.Stop();
            }

            _listener.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
        {
            // The managed HttpListener re-resolves its endpoint on close; after a failed start that throws again.
        }

        _stop.Dispose();
    }
}
