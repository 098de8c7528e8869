using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Deploy;

/// <summary>
/// deploy/terraform, checked offline (no Terraform binary here): every file parses, every reference resolves,
/// every module call matches the called module's variables and providers (<see cref="TerraformTree"/>), and the
/// fleet has the shape the README promises. A small module tree broken one way at a time shows each check fails.
/// </summary>
public sealed class TerraformModuleTests
{
    /// <summary>deploy/terraform parsed once for the tests that read it (hcl2json takes seconds on a busy machine).</summary>
    private static readonly Lazy<Task<(Dictionary<string, TerraformModule> Modules, List<string> Problems)>> Shipped = new(async () =>
    {
        var problems = new List<string>();
        var modules = await TerraformTree.LoadAsync(TerraformFolder, problems);
        return (modules, problems);
    });

    private static string TerraformFolder => Path.Combine(RepoLayout.Root, "deploy", "terraform");

    [Fact]
    public async Task Every_file_in_deploy_terraform_parses_and_every_reference_resolves()
    {
        var (modules, loadProblems) = await Shipped.Value;

        var problems = TerraformTree.Check(modules, loadProblems);

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.True(modules.Count >= 9, $"only {modules.Count} module folders read");
    }

    [Fact]
    public async Task Production_runs_dns_in_two_regions_probers_in_three_and_one_consul_cluster_each_call_with_its_regions_provider()
    {
        var modules = await LoadCleanAsync();
        var production = modules[Path.Combine(TerraformFolder, "environments", "production")];
        var calls = production.Calls.Values.ToList();

        var byModule = calls.GroupBy(c => Path.GetFileName(c.Source)).ToDictionary(g => g.Key, g => g.ToList());
        Assert.True(byModule["dns_server"].Select(c => c.Providers["aws"]).Distinct().Count() >= 2, "DNS servers in fewer than two regions");
        Assert.True(byModule["prober"].Select(c => c.Providers["aws"]).Distinct().Count() >= 3, "probers in fewer than three regions");
        Assert.Single(byModule["consul_cluster"]);
        Assert.Single(byModule["api"]);

        // Every module that creates cloud resources gets its region's provider explicitly; each alias it names
        // is a configured provider (the checker verifies that), and the peering gets both ends.
        Assert.All(calls, c => Assert.True(c.Providers.Count > 0, $"module.{c.Name} gets no provider"));
        Assert.All(byModule["network_peering"], c => Assert.Equal(["aws.accepter", "aws.requester"], c.Providers.Keys.Order(StringComparer.Ordinal)));
        Assert.Contains("registrar", production.Outputs);
        Assert.Contains(modules[Path.Combine(TerraformFolder, "modules", "dns_server")].Resources, r => r.StartsWith("aws_eip.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Only_port_53_of_the_dns_servers_is_open_to_the_world()
    {
        var modules = await LoadCleanAsync();
        var openToWorld = new List<string>();
        foreach (var module in modules.Values)
        {
            foreach (var expression in module.Expressions.Where(e => e.Where.StartsWith("resource.aws_vpc_security_group_ingress_rule.", StringComparison.Ordinal) || e.Where.StartsWith("resource.aws_security_group.", StringComparison.Ordinal)))
            {
                if (expression.Text.Contains("0.0.0.0/0", StringComparison.Ordinal) || expression.Text.Contains("::/0", StringComparison.Ordinal))
                {
                    var rule = string.Join('.', expression.Where.Split('.').Take(3));
                    openToWorld.Add($"{Path.GetFileName(module.Folder)}:{rule}");
                    var ports = module.Expressions.Where(e => e.Where is var w && (w == $"{rule}.from_port" || w == $"{rule}.to_port")).Select(e => e.Text).ToList();
                    Assert.True(ports.Count == 2 && ports.All(p => p == "53"), $"{module.Folder} {rule} is open to the world on ports [{string.Join(", ", ports)}]");
                }
            }
        }

        Assert.Equal(["dns_server:resource.aws_vpc_security_group_ingress_rule.dns"], openToWorld.Distinct().ToList());
    }

    /// <summary>
    /// Each case is the sound tree broken one way, all in one temp folder so one hcl2json run parses them all;
    /// each case must draw its own message (and the sound one none).
    /// </summary>
    [Fact]
    public async Task Checker_rejects_a_module_tree_broken_any_one_way_and_accepts_the_sound_one()
    {
        (string Breakage, string File, string Find, string Replace, string Expected)[] cases =
        [
            ("sound", "", "", "", ""),
            ("undeclared variable", "modules/child/main.tf", "var.size", "var.sizes", "var.sizes is not declared"),
            ("undefined local", "modules/child/main.tf", "Name = local.full", "Name = local.fulll", "local.fulll is not defined"),
            ("output of a missing resource", "modules/child/main.tf", "aws_eip.this.id", "aws_eip.that.id", "resource aws_eip.that is not declared"),
            ("input the module does not declare", "env/main.tf", "name      = \"x\"", "name      = \"x\"\n  colour    = \"red\"", "input colour is not a variable"),
            ("required input missing", "env/main.tf", "name      = \"x\"", "", "required variable name of"),
            ("module output that does not exist", "env/main.tf", "module.child.id", "module.child.address", "module.child.address is not an output"),
            ("module that does not exist", "env/main.tf", "module.child.id", "module.kid.id", "module.kid is not declared"),
            ("provider alias not configured", "env/main.tf", "aws = aws.eu_west_1", "aws = aws.us_east_1", "providers value aws.us_east_1 is not a provider configuration"),
            ("no provider passed from the root", "env/main.tf", "providers = { aws = aws.eu_west_1 }", "", "uses the default aws provider and the root passes none"),
            ("template variable not passed", "modules/child/hello.tftpl", "${name}", "${name} ${zone}", "uses ${zone}, which the templatefile call does not pass"),
            ("template file missing", "modules/child/main.tf", "/hello.tftpl", "/goodbye.tftpl", "templatefile() of missing file"),
            ("syntax error", "modules/child/main.tf", "output \"id\" {", "output \"id\" {{", "does not parse"),
        ];
        using var tree = new TempFolder("tf");
        for (var i = 0; i < cases.Length; i++)
        {
            var caseRoot = Path.Combine(tree.Path, $"case{i}");
            WriteSoundTree(caseRoot);
            if (cases[i].File.Length > 0)
            {
                var path = Path.Combine(caseRoot, cases[i].File);
                var text = await File.ReadAllTextAsync(path);
                Assert.Contains(cases[i].Find, text, StringComparison.Ordinal);
                await File.WriteAllTextAsync(path, text.Replace(cases[i].Find, cases[i].Replace, StringComparison.Ordinal));
            }
        }

        var problems = await TerraformTree.CheckAsync(tree.Path);

        var failures = new List<string>();
        for (var i = 0; i < cases.Length; i++)
        {
            var own = problems.Where(p => p.Contains($"/case{i}/", StringComparison.Ordinal)).ToList();
            var ok = cases[i].Expected.Length == 0 ? own.Count == 0 : own.Any(p => p.Contains(cases[i].Expected, StringComparison.Ordinal));
            if (!ok)
            {
                failures.Add($"{cases[i].Breakage}: expected {(cases[i].Expected.Length == 0 ? "no problem" : $"'{cases[i].Expected}'")}, got:\n  {string.Join("\n  ", own)}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    private static async Task<Dictionary<string, TerraformModule>> LoadCleanAsync()
    {
        var (modules, problems) = await Shipped.Value;
        Assert.True(problems.Count == 0, string.Join('\n', problems));
        return modules;
    }

    private const string RequiresAws = """
        terraform {
          required_providers {
            aws = {
              source = "hashicorp/aws"
            }
          }
        }
        """;

    /// <summary>A root calling one child module in an aliased region, with a local, a resource, outputs and a template.</summary>
    private static void WriteSoundTree(string root)
    {
        var child = Directory.CreateDirectory(Path.Combine(root, "modules", "child")).FullName;
        var env = Directory.CreateDirectory(Path.Combine(root, "env")).FullName;
        File.WriteAllText(Path.Combine(child, "versions.tf"), RequiresAws);
        File.WriteAllText(Path.Combine(child, "main.tf"), """
            variable "name" {
              type = string
            }

            variable "size" {
              type    = number
              default = 1
            }

            locals {
              full = "${var.name}-${var.size}"
            }

            resource "aws_eip" "this" {
              domain = "vpc"
              tags   = { Name = local.full }
            }

            output "id" {
              value = aws_eip.this.id
            }

            output "rendered" {
              value = templatefile("${path.module}/hello.tftpl", { name = var.name })
            }
            """);
        File.WriteAllText(Path.Combine(child, "hello.tftpl"), "hello ${name}, not $${HOME}\n");
        File.WriteAllText(Path.Combine(env, "versions.tf"), RequiresAws);
        File.WriteAllText(Path.Combine(env, "main.tf"), """
            provider "aws" {
              alias  = "eu_west_1"
              region = "eu-west-1"
            }

            module "child" {
              source    = "../modules/child"
              providers = { aws = aws.eu_west_1 }
              name      = "x"
            }

            output "id" {
              value = module.child.id
            }
            """);
    }
}
