using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Deploy;

/// <summary>One expression of a .tf file as hcl2json prints it (a string, interpolations as <c>${...}</c>) and where it is.</summary>
internal sealed record TerraformExpression(string File, string Where, string Text);

/// <summary>A <c>module "NAME" { ... }</c> block: its source, provider map and inputs.</summary>
internal sealed record TerraformModuleCall(string Name, string File, string Source, IReadOnlyDictionary<string, string> Providers, IReadOnlySet<string> Inputs);

/// <summary>What one Terraform module (a folder of .tf files) declares and the expressions it contains.</summary>
internal sealed class TerraformModule
{
    public required string Folder { get; init; }

    public HashSet<string> Variables { get; } = new(StringComparer.Ordinal);

    public HashSet<string> RequiredVariables { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Locals { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Outputs { get; } = new(StringComparer.Ordinal);

    /// <summary>Managed resources as <c>TYPE.NAME</c>.</summary>
    public HashSet<string> Resources { get; } = new(StringComparer.Ordinal);

    /// <summary>Data sources as <c>TYPE.NAME</c>.</summary>
    public HashSet<string> DataSources { get; } = new(StringComparer.Ordinal);

    /// <summary>Provider local names from <c>required_providers</c> and <c>provider</c> blocks (aws, tls, ...).</summary>
    public HashSet<string> ProviderNames { get; } = new(StringComparer.Ordinal);

    /// <summary>Provider configurations usable here: <c>aws</c> for a default block, <c>aws.ALIAS</c> for aliased ones.</summary>
    public HashSet<string> ProviderConfigs { get; } = new(StringComparer.Ordinal);

    /// <summary><c>configuration_aliases</c>: provider configurations the caller must pass in (<c>aws.requester</c>).</summary>
    public HashSet<string> ConfigurationAliases { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, TerraformModuleCall> Calls { get; } = new(StringComparer.Ordinal);

    /// <summary>Types of the resources and data sources without a <c>provider</c> argument: they use the default configuration.</summary>
    public HashSet<string> TypesOnDefaultProvider { get; } = new(StringComparer.Ordinal);

    public List<TerraformExpression> Expressions { get; } = [];
}

/// <summary>
/// The checks <c>terraform validate</c> would make on references, done offline (no Terraform binary here):
/// every .tf file parses (npm @cdktf/hcl2json, run by scripts/hcl2json.js as a child process); in each module
/// every <c>var.X</c> is declared, every <c>local.X</c> defined, every resource, data source and module referred
/// to exists, every <c>module.M.O</c> is an output of M; every module call passes only variables the called module
/// declares and all that have no default, and passes provider configurations that exist on both sides; every
/// <c>templatefile</c> exists and gets every variable it uses.
/// </summary>
internal static partial class TerraformTree
{
    private static readonly HashSet<string> ModuleMetaArguments = new(StringComparer.Ordinal) { "source", "version", "providers", "count", "for_each", "depends_on" };

    private static readonly HashSet<string> TemplateKeywords = new(StringComparer.Ordinal) { "for", "in", "if", "else", "endif", "endfor", "true", "false", "null" };

    public static string Hcl2JsonModules => Path.Combine(RepoLayout.Root, ".cache", "tools", "hcl2json", "node_modules");

    /// <summary>Parses every .tf file under <paramref name="root"/> and returns each problem as "file: what".</summary>
    public static async Task<IReadOnlyList<string>> CheckAsync(string root)
    {
        var problems = new List<string>();
        var modules = await LoadAsync(root, problems);
        return Check(modules, problems);
    }

    /// <summary>The checks over modules already loaded, after the problems loading them found.</summary>
    public static IReadOnlyList<string> Check(Dictionary<string, TerraformModule> modules, IEnumerable<string> loadProblems)
    {
        var problems = loadProblems.ToList();
        foreach (var module in modules.Values)
        {
            CheckModule(module, modules, problems);
        }

        return problems;
    }

    /// <summary>Every folder holding .tf files, parsed (one hcl2json run for all files).</summary>
    public static async Task<Dictionary<string, TerraformModule>> LoadAsync(string root, List<string> problems)
    {
        var files = Directory.GetFiles(root, "*.tf", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            problems.Add($"{root}: no .tf files");
            return [];
        }

        var script = Path.Combine(RepoLayout.Root, "scripts", "hcl2json.js");
        using var node = ChildProcess.Start("node", [script, .. files], environment: new Dictionary<string, string> { ["NODE_PATH"] = Hcl2JsonModules });
        if (!await node.WaitForExitAsync(TimeSpan.FromSeconds(120)))
        {
            throw new TimeoutException($"hcl2json did not finish\n{node.Describe()}");
        }

        Assert.True(node.ExitCode == 0, $"hcl2json failed (is @cdktf/hcl2json installed by scripts/install-deps.sh?)\n{node.Describe()}");
        using var parsed = JsonDocument.Parse(node.StandardOutput);
        var modules = new Dictionary<string, TerraformModule>(StringComparer.Ordinal);
        foreach (var file in parsed.RootElement.EnumerateObject())
        {
            var folder = Path.GetDirectoryName(file.Name)!;
            if (!modules.TryGetValue(folder, out var module))
            {
                module = new TerraformModule { Folder = folder };
                modules[folder] = module;
            }

            if (file.Value.TryGetProperty("__error", out var error))
            {
                problems.Add($"{file.Name}: does not parse: {error.GetString()}");
                continue;
            }

            Collect(module, file.Name, file.Value);
        }

        return modules;
    }

    private static void Collect(TerraformModule module, string file, JsonElement body)
    {
        foreach (var block in body.EnumerateObject())
        {
            switch (block.Name)
            {
                case "variable":
                    foreach (var variable in block.Value.EnumerateObject())
                    {
                        module.Variables.Add(variable.Name);
                        if (!variable.Value[0].TryGetProperty("default", out _))
                        {
                            module.RequiredVariables.Add(variable.Name);
                        }
                    }

                    break;
                case "locals":
                    foreach (var locals in block.Value.EnumerateArray())
                    {
                        foreach (var local in locals.EnumerateObject())
                        {
                            module.Locals.Add(local.Name);
                        }
                    }

                    break;
                case "output":
                    foreach (var output in block.Value.EnumerateObject())
                    {
                        module.Outputs.Add(output.Name);
                    }

                    break;
                case "resource" or "data":
                    foreach (var type in block.Value.EnumerateObject())
                    {
                        foreach (var name in type.Value.EnumerateObject())
                        {
                            (block.Name == "resource" ? module.Resources : module.DataSources).Add($"{type.Name}.{name.Name}");
                            if (!name.Value[0].TryGetProperty("provider", out _))
                            {
                                module.TypesOnDefaultProvider.Add(type.Name);
                            }
                        }
                    }

                    break;
                case "provider":
                    foreach (var provider in block.Value.EnumerateObject())
                    {
                        module.ProviderNames.Add(provider.Name);
                        foreach (var config in provider.Value.EnumerateArray())
                        {
                            module.ProviderConfigs.Add(config.TryGetProperty("alias", out var alias) ? $"{provider.Name}.{alias.GetString()}" : provider.Name);
                        }
                    }

                    break;
                case "terraform":
                    foreach (var terraform in block.Value.EnumerateArray())
                    {
                        if (!terraform.TryGetProperty("required_providers", out var required))
                        {
                            continue;
                        }

                        foreach (var entry in required.EnumerateArray().SelectMany(r => r.EnumerateObject()))
                        {
                            module.ProviderNames.Add(entry.Name);
                            if (entry.Value.ValueKind == JsonValueKind.Object && entry.Value.TryGetProperty("configuration_aliases", out var aliases))
                            {
                                foreach (var alias in aliases.EnumerateArray())
                                {
                                    module.ConfigurationAliases.Add(Unwrap(alias.GetString()!));
                                }
                            }
                        }
                    }

                    break;
                case "module":
                    foreach (var call in block.Value.EnumerateObject())
                    {
                        var arguments = call.Value[0];
                        var providers = new Dictionary<string, string>(StringComparer.Ordinal);
                        if (arguments.TryGetProperty("providers", out var map))
                        {
                            foreach (var pair in map.EnumerateObject())
                            {
                                providers[pair.Name] = Unwrap(pair.Value.GetString() ?? "");
                            }
                        }

                        var inputs = arguments.EnumerateObject().Select(a => a.Name).Where(a => !ModuleMetaArguments.Contains(a)).ToHashSet(StringComparer.Ordinal);
                        var source = arguments.TryGetProperty("source", out var s) ? s.GetString() ?? "" : "";
                        module.Calls[call.Name] = new TerraformModuleCall(call.Name, file, source, providers, inputs);
                    }

                    break;
            }

            CollectExpressions(module, file, block.Name, block.Value);
        }
    }

    private static void CollectExpressions(TerraformModule module, string file, string where, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                module.Expressions.Add(new TerraformExpression(file, where, value.GetString()!));
                break;
            case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                module.Expressions.Add(new TerraformExpression(file, where, value.GetRawText()));
                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    CollectExpressions(module, file, where, item);
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    CollectExpressions(module, file, $"{where}.{property.Name}", property.Value);
                }

                break;
        }
    }

    private static void CheckModule(TerraformModule module, Dictionary<string, TerraformModule> modules, List<string> problems)
    {
        var calledByOthers = modules.Values.SelectMany(m => m.Calls.Values.Select(c => Path.GetFullPath(Path.Combine(m.Folder, c.Source)))).ToHashSet(StringComparer.Ordinal);
        var isRoot = !calledByOthers.Contains(Path.GetFullPath(module.Folder));

        foreach (var expression in module.Expressions)
        {
            var at = $"{expression.File} ({expression.Where})";
            foreach (Match reference in Reference().Matches(Interpolated(expression.Text)))
            {
                var root = reference.Groups[1].Value;
                var name = reference.Groups[2].Value;
                var attribute = reference.Groups[3].Success ? reference.Groups[3].Value : null;
                switch (root)
                {
                    case "var" when !module.Variables.Contains(name):
                        problems.Add($"{at}: var.{name} is not declared in {module.Folder}");
                        break;
                    case "local" when !module.Locals.Contains(name):
                        problems.Add($"{at}: local.{name} is not defined in {module.Folder}");
                        break;
                    case "data" when attribute is null || !module.DataSources.Contains($"{name}.{attribute}"):
                        problems.Add($"{at}: data.{name}.{attribute} is not declared in {module.Folder}");
                        break;
                    case "module" when !module.Calls.ContainsKey(name):
                        problems.Add($"{at}: module.{name} is not declared in {module.Folder}");
                        break;
                    case "module" when attribute is not null && Called(module, module.Calls[name], modules) is { } called && !called.Outputs.Contains(attribute):
                        problems.Add($"{at}: module.{name}.{attribute} is not an output of {called.Folder}");
                        break;
                    case var provider when module.ProviderNames.Contains(provider):
                        if (!module.ProviderConfigs.Contains($"{provider}.{name}") && !module.ConfigurationAliases.Contains($"{provider}.{name}"))
                        {
                            problems.Add($"{at}: provider configuration {provider}.{name} is not defined in {module.Folder}");
                        }

                        break;
                    case var type when module.ProviderNames.Any(p => type.StartsWith(p + "_", StringComparison.Ordinal)) && !module.Resources.Contains($"{type}.{name}"):
                        problems.Add($"{at}: resource {type}.{name} is not declared in {module.Folder}");
                        break;
                }
            }

            CheckTemplates(module, expression, at, problems);
        }

        foreach (var call in module.Calls.Values)
        {
            CheckCall(module, call, modules, isRoot, problems);
        }
    }

    private static void CheckCall(TerraformModule module, TerraformModuleCall call, Dictionary<string, TerraformModule> modules, bool callerIsRoot, List<string> problems)
    {
        var at = $"{call.File} (module.{call.Name})";
        if (Called(module, call, modules) is not { } called)
        {
            problems.Add($"{at}: source '{call.Source}' is not a module folder in this tree");
            return;
        }

        foreach (var input in call.Inputs.Where(i => !called.Variables.Contains(i)).Order(StringComparer.Ordinal))
        {
            problems.Add($"{at}: input {input} is not a variable of {called.Folder}");
        }

        foreach (var missing in called.RequiredVariables.Where(v => !call.Inputs.Contains(v)).Order(StringComparer.Ordinal))
        {
            problems.Add($"{at}: required variable {missing} of {called.Folder} is not given");
        }

        foreach (var (inner, outer) in call.Providers)
        {
            var known = inner.Contains('.', StringComparison.Ordinal) ? called.ConfigurationAliases.Contains(inner) : called.ProviderNames.Contains(inner);
            if (!known)
            {
                problems.Add($"{at}: providers key {inner} is not a provider of {called.Folder}");
            }

            if (!module.ProviderConfigs.Contains(outer) && !module.ConfigurationAliases.Contains(outer))
            {
                problems.Add($"{at}: providers value {outer} is not a provider configuration in {module.Folder}");
            }
        }

        foreach (var alias in called.ConfigurationAliases.Where(a => !call.Providers.ContainsKey(a)))
        {
            problems.Add($"{at}: {called.Folder} needs provider configuration {alias} passed in providers");
        }

        // A root module has no provider to inherit: a module there that uses a default provider configuration
        // must get it passed, unless the root configures a default (unaliased) one itself.
        if (callerIsRoot)
        {
            foreach (var provider in called.ProviderNames.Where(p => !call.Providers.ContainsKey(p) && !module.ProviderConfigs.Contains(p) && NeedsDefault(called, p, modules)))
            {
                problems.Add($"{at}: {called.Folder} uses the default {provider} provider and the root passes none (providers = {{ {provider} = {provider}.ALIAS }})");
            }
        }
    }

    /// <summary>Whether the module (or a module it calls without passing <paramref name="provider"/>) uses its default configuration.</summary>
    private static bool NeedsDefault(TerraformModule module, string provider, Dictionary<string, TerraformModule> modules)
        => module.TypesOnDefaultProvider.Any(t => t.StartsWith(provider + "_", StringComparison.Ordinal))
           || module.Calls.Values.Any(c => !c.Providers.ContainsKey(provider) && Called(module, c, modules) is { } called && NeedsDefault(called, provider, modules));

    /// <summary><c>templatefile("${path.module}/F", { k = ... })</c>: F exists and every name F interpolates is among the keys.</summary>
    private static void CheckTemplates(TerraformModule module, TerraformExpression expression, string at, List<string> problems)
    {
        foreach (Match call in TemplateFileCall().Matches(expression.Text))
        {
            var path = Path.Combine(module.Folder, call.Groups[2].Value);
            if (!File.Exists(path))
            {
                problems.Add($"{at}: {call.Groups[1].Value}() of missing file {path}");
                continue;
            }

            if (call.Groups[1].Value != "templatefile")
            {
                continue;
            }

            var keys = TemplateKey().Matches(ArgumentObject(expression.Text, call.Index + call.Length)).Select(k => k.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            var interior = Interpolated(File.ReadAllText(path));
            var bound = TemplateForVariables().Matches(interior).SelectMany(m => m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.Ordinal);
            var withoutStrings = QuotedString().Replace(interior, " ");
            foreach (var name in TemplateIdentifier().Matches(withoutStrings).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal))
            {
                if (!keys.Contains(name) && !bound.Contains(name) && !TemplateKeywords.Contains(name))
                {
                    problems.Add($"{at}: {path} uses ${{{name}}}, which the templatefile call does not pass");
                }
            }
        }
    }

    private static TerraformModule? Called(TerraformModule caller, TerraformModuleCall call, Dictionary<string, TerraformModule> modules)
    {
        if (!call.Source.StartsWith("./", StringComparison.Ordinal) && !call.Source.StartsWith("../", StringComparison.Ordinal))
        {
            return null;
        }

        var target = Path.GetFullPath(Path.Combine(caller.Folder, call.Source));
        return modules.Values.FirstOrDefault(m => Path.GetFullPath(m.Folder) == target);
    }

    /// <summary>The text inside <c>${...}</c> and <c>%{...}</c> (not <c>$${</c>, which is a literal), regions separated by newlines.</summary>
    public static string Interpolated(string text)
    {
        var inside = new StringBuilder();
        var depth = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (depth == 0)
            {
                if (c is '$' or '%' && i + 2 < text.Length && text[i + 1] == c && text[i + 2] == '{')
                {
                    i += 2;
                }
                else if (c is '$' or '%' && i + 1 < text.Length && text[i + 1] == '{')
                {
                    depth = 1;
                    i++;
                }

                continue;
            }

            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && --depth == 0)
            {
                inside.Append('\n');
                continue;
            }

            inside.Append(c);
        }

        return inside.ToString();
    }

    /// <summary>The <c>{ ... }</c> argument that follows a templatefile path, or "" when none.</summary>
    private static string ArgumentObject(string text, int from)
    {
        var open = text.IndexOf('{', from);
        if (open < 0)
        {
            return "";
        }

        var depth = 0;
        for (var i = open; i < text.Length; i++)
        {
            depth += text[i] == '{' ? 1 : text[i] == '}' ? -1 : 0;
            if (depth == 0)
            {
                return text[open..(i + 1)];
            }
        }

        return text[open..];
    }

    private static string Unwrap(string expression) => expression.StartsWith("${", StringComparison.Ordinal) && expression.EndsWith('}') ? expression[2..^1].Trim() : expression.Trim();

    [GeneratedRegex(@"(?<![\w.\-])([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w-]*))?")]
    private static partial Regex Reference();

    [GeneratedRegex(@"\b(templatefile|file)\(\s*""\$\{path\.module\}/([^""]+)""")]
    private static partial Regex TemplateFileCall();

    [GeneratedRegex(@"(?:^|[{,\s])([A-Za-z_]\w*)\s*=(?!=)")]
    private static partial Regex TemplateKey();

    [GeneratedRegex(@"\bfor\s+([\w\s,]+?)\s+in\b")]
    private static partial Regex TemplateForVariables();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""")]
    private static partial Regex QuotedString();

    [GeneratedRegex(@"(?<![\w.\-])([A-Za-z_]\w*)(?![\w(])")]
    private static partial Regex TemplateIdentifier();
}
