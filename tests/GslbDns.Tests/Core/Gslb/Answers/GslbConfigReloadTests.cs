using ARSoft.Tools.Net.Dns;

namespace GslbDns.Tests.Core.Gslb.Answers;

/// <summary>A bad GSLB config is reported with file, line and path, and the last good one keeps answering.</summary>
public sealed class GslbConfigReloadTests : IAsyncLifetime
{
    private readonly GslbServerFixture _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task A_bad_config_is_rejected_with_its_location_and_the_last_good_one_keeps_serving()
    {
        var before = await AnswerAsync("fo.gslb.test");
        Assert.Equal("203.0.113.1", before);

        // An unknown data center on line N of the file, and a weight out of range.
        var good = File.ReadAllText(_fixture.ConfigFile);
        var bad = good.Replace("\"dataCenter\": \"us-east\", \"address\": \"203.0.113.1\", \"priority\": 1", "\"dataCenter\": \"mars-1\", \"address\": \"203.0.113.1\", \"priority\": 1", StringComparison.Ordinal);
        Assert.NotEqual(good, bad);
        File.WriteAllText(_fixture.ConfigFile, bad);
        var errors = _fixture.Server.Builder.Reload();

        var error = Assert.Single(errors);
        var expectedLine = bad.Split('\n').ToList().FindIndex(l => l.Contains("mars-1", StringComparison.Ordinal)) + 1;
        Assert.EndsWith("gslb.test.gslb.json", error.File, StringComparison.Ordinal);
        Assert.Equal(expectedLine, error.Line);
        Assert.Contains("$.services.fo.endpoints[0].dataCenter", error.Reason, StringComparison.Ordinal);
        Assert.Contains("mars-1", error.Reason, StringComparison.Ordinal);

        // Still the old config, for every service.
        Assert.Equal("203.0.113.1", await AnswerAsync("fo.gslb.test"));
        Assert.Equal(GslbServerFixture.AddressOf("sa-east").ToString(), await AnswerAsync("geo.gslb.test", "200.160.2.0/24"));

        // Fixed: the new config is served (the primary is now a different address).
        File.WriteAllText(_fixture.ConfigFile, good.Replace("203.0.113.1\"", "203.0.113.9\"", StringComparison.Ordinal));
        Assert.Empty(_fixture.Server.Builder.Reload());
        Assert.Equal("203.0.113.9", await AnswerAsync("fo.gslb.test"));
    }

    private async Task<string> AnswerAsync(string name, string? subnet = null)
    {
        var reply = await _fixture.QueryAsync(name, RecordType.A, subnet);
        Assert.Equal(ReturnCode.NoError, reply.ReturnCode);
        return Assert.Single(reply.AnswerRecords.OfType<ARecord>()).Address.ToString();
    }
}
