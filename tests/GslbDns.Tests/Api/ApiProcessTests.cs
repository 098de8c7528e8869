using System.Net;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Api;

/// <summary>The real <c>gslbdns-api</c> process in Consul mode, and its command line.</summary>
[Collection(ApiConsulCollection.Name)]
public sealed class ApiProcessTests
{
    private readonly ConsulDevAgent _consul;

    public ApiProcessTests(ConsulDevAgent consul)
    {
        _consul = consul;
    }

    [Fact]
    public async Task Consul_mode_writes_the_documented_keys_in_one_transaction_with_the_audit_entry()
    {
        using var folder = new TempFolder("api-process");
        var zones = folder.Folder("zones");
        ApiTestZones.Write(zones);
        var tokens = ApiProcess.WriteTokensFile(folder.File("tokens"));
        var prefix = ConsulTestSupport.UniquePrefix("api-process");
        using var api = ApiProcess.Start(["--zones", zones, "--consul", _consul.HttpAddress.ToString(), "--consul-prefix", prefix, "--tokens-file", tokens, "--geo-data", Path.Combine(zones, "none")]);
        var url = await ApiProcess.WaitForUrlAsync(api);

        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
        var id = ApiTestZones.WeightedId("dc-c");
        using (var put = await ApiCalls.SendAsync(http, HttpMethod.Put, ApiCalls.EndpointPath(id) + "/weight", InProcessApi.OperatorToken, new { weight = 250, reason = "process test" }))
        {
            Assert.True(put.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(put) + "\n" + api.Describe());
        }

        using (var drain = await ApiCalls.SendAsync(http, HttpMethod.Put, "/v1/datacenters/dc-c/drain", InProcessApi.OperatorToken, new { reason = "process test" }))
        {
            Assert.True(drain.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(drain));
        }

        // The sha256: form of the read token works, for reads only.
        using (var read = await ApiCalls.SendAsync(http, HttpMethod.Get, "/v1/status", InProcessApi.ReadToken))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            var status = await ApiCalls.JsonAsync(read);
            Assert.Equal("consul", status.GetProperty("store").GetString());
            Assert.True(status.GetProperty("storeConnected").GetBoolean());
        }

        using (var denied = await ApiCalls.SendAsync(http, HttpMethod.Delete, "/v1/datacenters/dc-c/drain", InProcessApi.ReadToken))
        {
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        }

        // The key layout of the README, read straight from Consul.
        var consul = _consul.CreateClient();
        var weight = await consul.KvGetAsync($"{prefix}state/weights/{id}");
        Assert.NotNull(weight);
        var value = System.Text.Json.JsonDocument.Parse(weight.Value).RootElement;
        Assert.Equal(250, value.GetProperty("weight").GetInt32());
        Assert.Equal("alice", value.GetProperty("by").GetString());
        Assert.NotNull(await consul.KvGetAsync($"{prefix}state/drains/dc-c"));

        var audit = await consul.KvListAsync($"{prefix}audit/");
        Assert.Equal(2, audit.Count);
        Assert.All(audit, a => Assert.Matches(@"/audit/\d{8}T\d{13}Z-[0-9a-f]{32}$", a.Key));

        // Same transaction: the audit entry was created at exactly the state entry's index.
        Assert.Contains(audit, a => a.CreateIndex == weight.ModifyIndex);

        Assert.DoesNotContain(InProcessApi.OperatorToken, api.StandardError + api.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(InProcessApi.ReadToken, api.StandardError + api.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], "--consul URL is required")]
    [InlineData(new[] { "--consul", "http://127.0.0.1:1" }, "--tokens-file is required")]
    [InlineData(new[] { "--embedded" }, "--state DIR is required")]
    [InlineData(new[] { "--embedded", "--state", "/tmp/x", "--listen", "0.0.0.0:0" }, "loopback only")]
    [InlineData(new[] { "--listen", "nowhere" }, "--listen: 'nowhere' is not ADDR:PORT")]
    public async Task Bad_command_lines_exit_2_and_say_what_is_wrong(string[] args, string message)
    {
        var result = await ChildProcess.RunAsync(RepoLayout.DotnetHost, [ApiLayout.ApiDll, .. args], TimeSpan.FromSeconds(30));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StandardError, StringComparison.Ordinal);
        Assert.Contains("Usage: gslbdns-api", result.StandardError, StringComparison.Ordinal);
    }
}
