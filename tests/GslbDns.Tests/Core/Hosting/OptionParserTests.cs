using System.Net;
using GslbDns.Hosting;
using ServerCommandLine = GslbDns.Server.Hosting.CommandLine;

namespace GslbDns.Tests.Core.Hosting;

/// <summary>The table-driven parser and the help text it generates, on a small table and on the programs' real ones.</summary>
public sealed class OptionParserTests
{
    private static readonly CommandOption<int> Count = Option.Value("--count", "N", "how many", OptionValues.Int(1, 9), 3, "3");
    private static readonly CommandOption<IPEndPoint> Listen = Option.Repeatable("--listen", "ADDR:PORT", "where", OptionValues.EndPoint("[::1]:53"), [new IPEndPoint(IPAddress.Loopback, 53)], "127.0.0.1:53");
    private static readonly CommandOption<bool> Quiet = Option.Flag("--quiet", "say less");
    private static readonly CommandOption<string?> Id = Option.OptionalText("--id", "ID", "who", required: true);
    private static readonly CommandOption<string> Prefix = CommonOptions.ConsulPrefix.WithAliases("--prefix");
    private static readonly OptionTable Table = new([Count, Listen, Quiet, Id, Prefix]);

    [Fact]
    public void Values_flags_repeats_aliases_and_defaults_are_read_from_the_table()
    {
        var parsed = OptionParser.Parse(Table, ["--id", "a", "--count", "7", "--quiet", "--listen", "127.0.0.2:1", "--listen", "[::1]:2", "--prefix", "fleet"]);

        Assert.Empty(parsed.Errors);
        Assert.Equal("a", parsed.Get(Id));
        Assert.Equal(7, parsed.Get(Count));
        Assert.True(parsed.Get(Quiet));
        Assert.Equal([IPEndPoint.Parse("127.0.0.2:1"), IPEndPoint.Parse("[::1]:2")], parsed.All(Listen));
        Assert.Equal("fleet/", parsed.Get(Prefix)); // the alias sets the same option, through its reader

        var defaults = OptionParser.Parse(Table, ["--id", "b"]);
        Assert.Empty(defaults.Errors);
        Assert.Equal(3, defaults.Get(Count));
        Assert.False(defaults.Get(Quiet));
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 53)], defaults.All(Listen));
        Assert.Equal("gslbdns/", defaults.Get(Prefix));
        Assert.False(defaults.IsSet(Count));
    }

    [Fact]
    public void Unknown_option_is_named()
    {
        var parsed = OptionParser.Parse(Table, ["--id", "a", "--colour", "red"]);
        Assert.Contains("unknown option '--colour'", parsed.Errors);
    }

    [Fact]
    public void Missing_value_names_the_option_and_its_placeholder()
    {
        var parsed = OptionParser.Parse(Table, ["--id", "a", "--count"]);
        Assert.Equal(["--count: needs a value (N)"], parsed.Errors);
    }

    [Theory]
    [InlineData("--count", "0", "--count: '0' is not a whole number from 1 to 9")]
    [InlineData("--count", "x", "--count: 'x' is not a whole number from 1 to 9")]
    [InlineData("--listen", "nowhere", "--listen: 'nowhere' is not ADDR:PORT (IPv6 as [::1]:53)")]
    public void Bad_value_names_the_option_the_value_and_the_reason(string option, string value, string error)
    {
        var parsed = OptionParser.Parse(Table, ["--id", "a", option, value]);
        Assert.Equal([error], parsed.Errors);
    }

    [Fact]
    public void Missing_required_option_is_named_with_its_command()
    {
        Assert.Equal(["--id is required"], OptionParser.Parse(Table, []).Errors);
        Assert.Equal(["explain: --id is required"], OptionParser.Parse(Table, [], "explain").Errors);
        Assert.Empty(OptionParser.Parse(Table, ["--help"]).Errors); // asking for help is not an error
        Assert.True(OptionParser.Parse(Table, ["-h"]).HelpRequested);
    }

    [Theory]
    [InlineData("--consul-token", "s3cr3t-value")]
    [InlineData("--token", "s3cr3t-value")]
    [InlineData("--consul-token=s3cr3t-value", null)]
    [InlineData("--count=s3cr3t-value", null)]
    public void A_secret_on_the_command_line_is_refused_without_echoing_it(string argument, string? value)
    {
        string[] args = value is null ? ["--id", "a", argument] : ["--id", "a", argument, value];
        var parsed = OptionParser.Parse(Table, args);
        var error = Assert.Single(parsed.Errors);
        Assert.DoesNotContain("s3cr3t", error, StringComparison.Ordinal);
        Assert.Contains(argument.Split('=')[0], error, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_lists_every_option_with_placeholder_help_and_default()
    {
        var help = Table.HelpText();
        var lines = help.Split('\n');
        foreach (var option in Table.Options)
        {
            var head = Assert.Single(lines.Index(), l => l.Item.TrimStart().StartsWith(option.Name + (option.IsFlag ? " " : " " + option.Placeholder), StringComparison.Ordinal) || l.Item.TrimStart().StartsWith(option.Name + ",", StringComparison.Ordinal));

            // A long head puts the help on the next line.
            Assert.Contains(option.Help.Split('\n')[0], head.Item + lines[head.Index + 1], StringComparison.Ordinal);
        }

        Assert.Contains("how many (default: 3)", help, StringComparison.Ordinal);
        Assert.Contains("who (required)", help, StringComparison.Ordinal);
        Assert.Contains("--consul-prefix, --prefix PREFIX", help, StringComparison.Ordinal);
        Assert.Contains("-h, --help", help, StringComparison.Ordinal);
    }

    public static TheoryData<string, string?> ProgramCommands() => new()
    {
        { "server", "serve" },
        { "server", "check" },
        { "server", "explain" },
        { "api", null },
    };

    [Theory]
    [MemberData(nameof(ProgramCommands))]
    public void Each_programs_usage_lists_every_option_of_its_table_and_accepts_it(string program, string? command)
    {
        var definition = program == "server" ? ServerCommandLine.Program : GslbDns.Api.ApiCommandLine.Program;
        var table = definition.Find(command)!.Options;
        var usage = definition.Usage(command);
        Assert.Contains("Usage: " + definition.Name, usage, StringComparison.Ordinal);
        foreach (var option in table.Options)
        {
            Assert.Contains("  " + option.Name + (option.IsFlag ? string.Empty : " " + option.Placeholder), usage, StringComparison.Ordinal);
            Assert.Same(option, table.Find(option.Name));
        }

        // Every program takes the shared ones, once.
        foreach (var shared in new CommandOption[] { CommonOptions.Zones, CommonOptions.ConsulTokenFile, CommonOptions.ConsulPrefix, CommonOptions.GeoIp, CommonOptions.GeoData })
        {
            Assert.Same(shared, table.Find(shared.Name));
        }
    }

    [Fact]
    public void Server_subcommands_pick_their_table_and_keep_every_documented_option()
    {
        var explain = ServerCommandLine.Program.Parse(["explain", "--name", "www.example.com", "--client", "192.0.2.1/24", "--type", "AAAA", "--zones", "z"]);
        Assert.Empty(explain.Errors);
        Assert.Equal("explain", explain.Command);
        var bound = ServerCommandLine.Bind(explain);
        Assert.Equal(new ServerCommandLine.ExplainRequest("www.example.com", "AAAA", "192.0.2.1/24"), bound.Explain);
        Assert.Equal("z", bound.Options.ZonesFolder);

        // --name belongs to explain only.
        Assert.Contains("unknown option '--name'", ServerCommandLine.Program.Parse(["serve", "--name", "x"]).Errors);
        Assert.Contains(ServerCommandLine.Program.Parse(["frob"]).Errors, e => e.StartsWith("unknown command 'frob'", StringComparison.Ordinal));

        // README's command line section: every option name still parses.
        var serve = ServerCommandLine.Program.Parse(
        [
            "serve", "--zones", "z", "--dns", "127.0.0.1:5300", "--dns", "[::1]:5300", "--udp-threads", "2", "--tcp-max-connections", "9", "--tcp-idle-timeout", "3",
            "--metrics", "off", "--nsid", "n", "--identity", "i", "--version-text", "v", "--max-udp-size", "1400", "--geo-data", "g",
            "--consul", "http://127.0.0.1:8500", "--consul-prefix", "p", "--api", "off", "--state", "s",
            "--no-prober", "--prober-region", "r", "--no-watch",
        ]);
        Assert.Empty(serve.Errors);
        var options = ServerCommandLine.Bind(serve).Options;
        Assert.Equal([IPEndPoint.Parse("127.0.0.1:5300"), IPEndPoint.Parse("[::1]:5300")], options.DnsEndPoints);
        Assert.Equal((2, 9, 3, (ushort)1400), (options.UdpThreads, options.Tcp.MaxConnections, (int)options.Tcp.IdleTimeout.TotalSeconds, options.Engine.MaxUdpPayload));
        Assert.Equal(("n", "i", "v"), (options.Engine.Nsid, options.Engine.Identity, options.Engine.Version));
        Assert.Null(options.MetricsEndPoint);
        Assert.Null(options.ApiEndPoint);
        Assert.Equal(("z", "g", "p/", "s", "r"), (options.ZonesFolder, options.GeoDataFolder, options.ConsulPrefix, options.StateFolder, options.EmbeddedProberInfo.Region));
        Assert.False(options.EmbeddedProber);
        Assert.False(options.WatchZones);
        Assert.Equal([new Uri("http://127.0.0.1:8500")], options.ConsulAddresses);
    }
}
