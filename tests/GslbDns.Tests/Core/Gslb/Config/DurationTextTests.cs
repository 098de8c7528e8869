using GslbDns.Gslb.Config;

namespace GslbDns.Tests.Core.Gslb.ConfigFiles;

public sealed class DurationTextTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("1s", 1000)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1s500ms", 1500)]
    [InlineData("0ms", 0)]
    public void Parses(string text, long milliseconds)
    {
        Assert.True(DurationText.TryParse(text, out var value, out var error), error);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("500", "needs a unit")]
    [InlineData("1s500", "needs a unit")]
    [InlineData("1.5s", "use whole numbers")]
    [InlineData("1 s", "needs a unit")]
    [InlineData("1S", "unknown unit 'S'")]
    [InlineData("1d", "unknown unit 'd'")]
    [InlineData("-1s", "expected a whole number")]
    [InlineData("99999999999999999999h", "too long")]
    public void Rejects(string text, string reason)
    {
        Assert.False(DurationText.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(800, "800ms")]
    [InlineData(1000, "1s")]
    [InlineData(90_000, "1m30s")]
    [InlineData(3_600_000, "1h")]
    [InlineData(3_723_004, "1h2m3s4ms")]
    [InlineData(0, "0ms")]
    public void Formats_so_that_it_parses_back(long milliseconds, string text)
    {
        var value = TimeSpan.FromMilliseconds(milliseconds);

        Assert.Equal(text, DurationText.Format(value));
        Assert.True(DurationText.TryParse(text, out var back, out _));
        Assert.Equal(value, back);
    }
}
