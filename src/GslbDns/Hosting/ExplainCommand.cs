using System.Net;
using System.Text.Json;
using GslbDns.Answers;
using GslbDns.Dns;
using GslbDns.Query;
using Microsoft.Extensions.Logging;

namespace GslbDns.Server.Hosting;

/// <summary><c>gslbdns explain</c>: loads the same zones, config and GeoIP as the server and prints the decision as JSON.</summary>
internal static class ExplainCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static async Task<int> RunAsync(ServerOptions options, CommandLine.ExplainRequest request, ILoggerFactory loggerFactory)
    {
        if (!DnsName.TryParse(request.Name.EndsWith('.') ? request.Name : request.Name + ".", null, out var name, out var nameError))
        {
            await Console.Error.WriteLineAsync($"explain: --name: {nameError}");
            return 2;
        }

        if (!RecordType.TryParse(request.Type, out var type))
        {
            await Console.Error.WriteLineAsync($"explain: --type: '{request.Type}' is not a record type");
            return 2;
        }

        if (!Explainer.TryParseClient(request.Client, out var address, out var prefix))
        {
            await Console.Error.WriteLineAsync($"explain: --client: '{request.Client}' is not ADDR or ADDR/PREFIX");
            return 2;
        }

        await using var server = new DnsServer(options with { WatchZones = false, MetricsEndPoint = null }, loggerFactory);
        foreach (var error in server.Builder.Reload())
        {
            await Console.Error.WriteLineAsync(error.ToString());
        }

        var explanation = new Explainer(server.Engine).Explain(name, type, address, prefix);
        var json = JsonSerializer.SerializeToNode(explanation, Json)!.AsObject();

        // A name in a signed zone: that zone's keys, their phases and the next key event, as the server reads them.
        if (server.DnssecView().Where(z => name.IsAtOrBelow(DnsName.Parse(z.Zone))).MaxBy(z => z.Zone.Length) is { } signed)
        {
            json["Dnssec"] = JsonSerializer.SerializeToNode(signed, Json);
        }

        Console.WriteLine(json.ToJsonString(Json));
        return 0;
    }
}
