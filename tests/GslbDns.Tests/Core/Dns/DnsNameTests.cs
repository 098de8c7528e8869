using GslbDns.Dns;

namespace GslbDns.Tests.Core.Dns;

public sealed class DnsNameTests
{
    [Theory]
    [InlineData("www.example.com.", "example.com.", true)]
    [InlineData("example.com.", "example.com.", true)]
    [InlineData("a.b.", "example.com.", false)]
    [InlineData("geo.example.com.", "mail.example.com.", false)]
    [InlineData("xexample.com.", "example.com.", false)]
    [InlineData("anything.", ".", true)]
    [InlineData("com.", "example.com.", false)]
    public void IsAtOrBelow_compares_whole_labels(string name, string ancestor, bool expected)
        => Assert.Equal(expected, DnsName.Parse(name).IsAtOrBelow(DnsName.Parse(ancestor)));

    [Theory]
    [InlineData("WwW.Example.COM.", "www.example.com.")]
    [InlineData(@"a\.b.example.", @"a\.b.example.")]
    [InlineData(@"\065bc.example.", "abc.example.")]
    [InlineData("@", "origin.test.")]
    [InlineData("host", "host.origin.test.")]
    public void Parse_handles_case_escapes_and_origin(string text, string expected)
        => Assert.Equal(expected, DnsName.Parse(text, DnsName.Parse("origin.test.")).ToString());

    [Theory]
    [InlineData("a..b.")]
    [InlineData(@"bad\")]
    [InlineData(@"bad\25")]
    [InlineData(@"bad\256.")]
    public void Parse_rejects_malformed_names(string text)
        => Assert.False(DnsName.TryParse(text, DnsName.Root, out _, out _));

    [Fact]
    public void Labels_over_63_and_names_over_255_octets_are_rejected()
    {
        Assert.False(DnsName.TryParse(new string('a', 64) + ".", null, out _, out _));
        var longName = string.Join('.', Enumerable.Repeat(new string('a', 63), 4)) + ".";
        Assert.False(DnsName.TryParse(longName, null, out _, out _));
    }
}
