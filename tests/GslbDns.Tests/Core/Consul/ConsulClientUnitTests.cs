using GslbDns.Consul;

namespace GslbDns.Tests.Core.Consul;

/// <summary>The parts of the client that need no agent.</summary>
public sealed class ConsulClientUnitTests
{
    [Theory]
    [InlineData(10_000, "10s")]
    [InlineData(1_500, "1500ms")]
    [InlineData(0, "0s")]
    [InlineData(600_000, "600s")]
    public void GoDuration_formats_exactly(int milliseconds, string expected) =>
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromMilliseconds(milliseconds)));

    [Fact]
    public void GoDuration_formats_sub_millisecond_in_nanoseconds() =>
        Assert.Equal("1500ns", GoDuration.Format(TimeSpan.FromTicks(15)));

    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("250ms", 250)]
    [InlineData("2000000us", 2_000)]
    [InlineData("0", 0)]
    public void GoDuration_parses_go_syntax(string text, int milliseconds)
    {
        Assert.True(GoDuration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("s")]
    [InlineData("10x")]
    [InlineData("1d")]
    public void GoDuration_rejects_non_go_syntax(string text) => Assert.False(GoDuration.TryParse(text, out _));

    [Theory]
    [InlineData(0UL, 5UL, 5UL)] // first read
    [InlineData(5UL, 9UL, 9UL)] // moved on
    [InlineData(5UL, 5UL, 5UL)] // wait expired, nothing changed
    [InlineData(9UL, 5UL, 0UL)] // went backwards: reset so the next read does not block
    [InlineData(0UL, 0UL, 1UL)] // a zero from Consul must not make the caller spin on non-blocking reads
    public void Index_follows_consuls_blocking_query_rules(ulong sent, ulong returned, ulong next) =>
        Assert.Equal(next, ConsulIndex.Next(sent, returned));

    [Fact]
    public void Options_ToString_redacts_the_token()
    {
        var options = new ConsulClientOptions { Addresses = [new Uri("http://127.0.0.1:8500")], Token = "super-secret-token", Datacenter = "dc1" };
        var text = options.ToString();
        Assert.DoesNotContain("super-secret-token", text);
        Assert.Contains("<redacted>", text);
        Assert.Contains("127.0.0.1:8500", text);
        Assert.Contains("dc1", text);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new ConsulClient(ConsulTestSupport.Http, new ConsulClientOptions { Addresses = [] }));
        Assert.Throws<ArgumentException>(() => new ConsulClient(ConsulTestSupport.Http, new ConsulClientOptions { Addresses = [new Uri("/v1", UriKind.Relative)] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConsulClient(
            ConsulTestSupport.Http,
            new ConsulClientOptions { Addresses = [new Uri("http://127.0.0.1:8500")], RequestTimeout = TimeSpan.Zero }));
    }

    [Fact]
    public async Task Keys_starting_with_a_slash_are_refused_before_sending()
    {
        var client = new ConsulClient(ConsulTestSupport.Http, new ConsulClientOptions { Addresses = [new Uri("http://127.0.0.1:1")] });
        await Assert.ThrowsAsync<ArgumentException>(() => client.KvPutAsync("/abs", ReadOnlyMemory<byte>.Empty));
        await Assert.ThrowsAsync<ArgumentException>(() => client.KvGetAsync(string.Empty));
    }

    [Fact]
    public async Task Blocking_query_refuses_an_HttpClient_timeout_shorter_than_wait_plus_jitter()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var client = new ConsulClient(http, new ConsulClientOptions { Addresses = [new Uri("http://127.0.0.1:1")], RequestTimeout = TimeSpan.FromSeconds(1) });

        // 28 s + 28/16 s jitter + 1 s attempt budget > 30 s: must fail before sending anything.
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.KvGetAsync("k", new ConsulBlockingQuery(5, TimeSpan.FromSeconds(28))));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.KvGetAsync("k", new ConsulBlockingQuery(5, TimeSpan.FromMinutes(11))));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.KvGetAsync("k", new ConsulBlockingQuery(5, TimeSpan.Zero)));
    }
}
