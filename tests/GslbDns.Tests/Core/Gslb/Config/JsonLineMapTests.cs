using System.Text;
using GslbDns.Gslb;
using GslbDns.Gslb.Config;

namespace GslbDns.Tests.Core.Gslb.ConfigFiles;

public sealed class JsonLineMapTests
{
    private const string Text = """
        {
          "a": 1,
          "services": {
            "www.example.com.": {
              "endpoints": [
                { "weight": 1 },

                {
                  "weight": 2
                }
              ]
            },
            "it's": [ [ 1, 2 ], "x" ]
          }
        }
        """;

    private static JsonLineMap Map(string text, List<ConfigError>? errors = null)
    {
        var map = JsonLineMap.Build(Encoding.UTF8.GetBytes(text), "f.json", errors ?? []);
        Assert.NotNull(map);
        return map;
    }

    [Theory]
    [InlineData("$", 1)]
    [InlineData("$.a", 2)]
    [InlineData("$.services['www.example.com.']", 4)]
    [InlineData("$.services['www.example.com.'].endpoints[0]", 6)]
    [InlineData("$.services['www.example.com.'].endpoints[0].weight", 6)]
    [InlineData("$.services['www.example.com.'].endpoints[1]", 8)]
    [InlineData("$.services['www.example.com.'].endpoints[1].weight", 9)]
    [InlineData("$.services['it\\'s'][0][1]", 13)]
    [InlineData("$.services['it\\'s'][1]", 13)]
    public void MapsPathsToTheLineTheyStartOn(string path, int line)
    {
        Assert.Equal(line, Map(Text).LineOf(path));
    }

    [Theory]
    [InlineData("$.services['www.example.com.'].endpoints[1].priority", 8)]
    [InlineData("$.services['www.example.com.'].check.port", 4)]
    [InlineData("$.ab", 1)]
    [InlineData("$.a.b", 2)]
    public void AMissingPathTakesItsNearestAncestorsLine(string path, int line)
    {
        Assert.Equal(line, Map(Text).LineOf(path));
    }

    [Fact]
    public void Duplicate_properties_are_reported_and_the_first_keeps_the_line()
    {
        var errors = new List<ConfigError>();

        var map = Map("{\n \"a\": 1,\n \"b\": { \"a\": 2 },\n \"a\": 3\n}", errors);

        var error = Assert.Single(errors);
        Assert.Equal(new ConfigError("f.json", 4, "$.a", "duplicate property 'a' (first at line 2)"), error);
        Assert.Equal(2, map.LineOf("$.a"));
    }

    [Fact]
    public void Counts_lines_across_comments_and_carriage_returns()
    {
        var map = Map("{\r\n  // one\r\n  /* two\r\n three */ \"x\": {\r\n\r\n \"y\": 1 } }");

        Assert.Equal(4, map.LineOf("$.x"));
        Assert.Equal(6, map.LineOf("$.x.y"));
    }

    [Theory]
    [InlineData("plain", "$.plain")]
    [InlineData("_x1", "$._x1")]
    [InlineData("eu-west", "$['eu-west']")]
    [InlineData("www.example.com.", "$['www.example.com.']")]
    [InlineData("1a", "$['1a']")]
    [InlineData("a'b\\c", "$['a\\'b\\\\c']")]
    public void PathsQuoteWhatIsNotAnIdentifier(string name, string path)
    {
        Assert.Equal(path, JsonPathText.Property("$", name));
    }
}
