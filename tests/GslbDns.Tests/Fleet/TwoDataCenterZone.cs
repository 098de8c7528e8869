namespace GslbDns.Tests.Fleet;

/// <summary>
/// A zone folder for one-service process tests: zone <c>&lt;zone&gt;</c>, data centers <c>dc-a</c> and <c>dc-b</c>, TTL 5 (floor 1),
/// and service <c>app</c> answering multivalue over its healthy endpoints, else the fallback 127.0.0.99.
/// </summary>
internal static class TwoDataCenterZone
{
    public const string Fallback = "127.0.0.99";

    /// <param name="check">The service's <c>check</c> object, as JSON.</param>
    /// <param name="endpoints">The service's <c>endpoints</c> array, as JSON.</param>
    public static void Write(string folder, string zone, string check, string endpoints)
    {
        File.WriteAllText(Path.Combine(folder, zone + ".zone"), "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n  IN NS ns1\nns1 IN A 127.0.0.1\n");
        File.WriteAllText(Path.Combine(folder, zone + ".gslb.json"), $$"""
            {
              "dataCenters": {
                "dc-a": { "latitude": 53.35, "longitude": -6.26 },
                "dc-b": { "latitude": 39.04, "longitude": -77.49 }
              },
              "ttl": { "default": 5, "min": 1, "max": 300 },
              "services": {
                "app": {
                  "policy": [ { "type": "healthy" }, { "type": "multivalue" } ],
                  "whenAllUnhealthy": "fallback",
                  "fallback": [ "{{Fallback}}" ],
                  "check": {{check}},
                  "endpoints": {{endpoints}}
                }
              }
            }
            """);
    }
}
