using GslbDns.Zones;

namespace GslbDns.Tests.Core.Zones;

public sealed class TtlTextTests
{
    [Theory]
    [InlineData("0", 0u)]
    [InlineData("3600", 3600u)]
    [InlineData("1h", 3600u)]
    [InlineData("30m", 1800u)]
    [InlineData("1d", 86400u)]
    [InlineData("1W", 604800u)]
    [InlineData("1w2d3h4m5s", 788645u)]
    [InlineData("1W2D3H4M5S", 788645u)]
    [InlineData("5s1h", 3605u)]
    [InlineData("2147483647", 2147483647u)]
    [InlineData("2147483647s", 2147483647u)]
    public void Parses_plain_seconds_and_bind_units(string text, uint expected)
    {
        Assert.True(TtlText.TryParse(text, out var value, out var error), error);
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("1x", "unknown unit 'x'")]
    [InlineData("h", "expected a number")]
    [InlineData("1h30", "number without a unit after a unit")]
    [InlineData("2147483648", "above the maximum 2147483647")]
    [InlineData("3551w", "above the maximum")]
    [InlineData("99999999999999999999999", "above the maximum")]
    [InlineData("-1", "expected a number")]
    [InlineData("1 h", "unknown unit ' '")]
    public void Rejects_with_a_reason(string text, string reason)
    {
        Assert.False(TtlText.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Soa_timers_may_use_the_full_32_bits()
    {
        Assert.True(TtlText.TryParse("4294967295", uint.MaxValue, out var value, out _));
        Assert.Equal(uint.MaxValue, value);
        Assert.False(TtlText.TryParse("4294967296", uint.MaxValue, out _, out _));
    }
}
