using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Deploy;

/// <summary>
/// A filesystem root in a temp folder laid out as a host installed by deploy/terraform's install script:
/// the units from deploy/systemd as shipped in /etc/systemd/system, /opt/gslbdns/bin/* runnable (each
/// starts this build's program), /etc/gslbdns/zones, the geo data, the GeoIP database, the credential
/// files under /run/credentials/UNIT, and the system units systemd-analyze needs (sysinit.target, ...).
/// <c>systemd-analyze verify --root=</c> resolves every path of the unfinished units inside it, so the units
/// are checked exactly as shipped; <see cref="Map"/> turns a path of the unit into the real one here.
/// </summary>
internal sealed class UnitInstallRoot : IDisposable
{
    public static readonly string[] UnitNames = ["gslbdns", "gslbdns-prober", "gslbdns-api"];

    private static readonly (string Command, string Project, string AppHost)[] Programs =
    [
        ("gslbdns", "GslbDns", "GslbDns"),
        ("gslbdns-prober", "Prober", "Prober"),
        ("gslbdns-api", "Api", "Api"),
    ];

    private readonly TempFolder _folder = new("units");

    private UnitInstallRoot()
    {
    }

    public string Path => _folder.Path;

    public static string UnitSourceFolder => System.IO.Path.Combine(RepoLayout.Root, "deploy", "systemd");

    public static async Task<UnitInstallRoot> CreateAsync()
    {
        var root = new UnitInstallRoot();
        try
        {
            await root.LayOutAsync();
            return root;
        }
        catch
        {
            root.Dispose();
            throw;
        }
    }

    /// <summary>The real path of an absolute path as the unit sees it.</summary>
    public string Map(string unitPath) => unitPath.StartsWith('/') ? Path + unitPath : unitPath;

    public string UnitFile(string unit) => Map($"/etc/systemd/system/{unit}.service");

    public SystemdUnit Unit(string unit) => SystemdUnit.Load(UnitFile(unit));

    /// <summary>The credentials directory systemd makes for the unit (<c>%d</c>), as the unit sees it.</summary>
    public static string CredentialsDirectory(string unit) => $"/run/credentials/{unit}.service";

    /// <summary>Installs an environment file: lines of <c>KEY=VALUE</c>.</summary>
    public void WriteEnvironmentFile(string name, IEnumerable<string> lines)
        => File.WriteAllLines(Map($"/etc/gslbdns/{name}"), lines);

    /// <summary>The argv systemd would start for <paramref name="unit"/>, its paths mapped into this root.</summary>
    public IReadOnlyList<string> CommandLine(string unit)
    {
        var parsed = Unit(unit);
        return parsed.ExecStart(parsed.Environment(Map), CredentialsDirectory(unit)).Select(Map).ToList();
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>rwxr-xr-x: for the wrappers, and for the root itself when a test runs a program as another user.</summary>
    public static void MakeWorldReadable(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
    }

    private async Task LayOutAsync()
    {
        var units = Directory.CreateDirectory(Map("/etc/systemd/system")).FullName;
        foreach (var name in UnitNames)
        {
            File.Copy(System.IO.Path.Combine(UnitSourceFolder, $"{name}.service"), System.IO.Path.Combine(units, $"{name}.service"));
        }

        // verify loads the default dependencies (sysinit.target, basic.target, ...) from inside the root.
        Directory.CreateDirectory(Map("/usr/lib/systemd"));
        var copy = await ChildProcess.RunAsync("cp", ["-a", "/usr/lib/systemd/system", Map("/usr/lib/systemd/")], TimeSpan.FromSeconds(30));
        Assert.True(copy.ExitCode == 0, copy.ToString());
        Directory.CreateDirectory(Map("/usr/bin"));
        File.Copy("/usr/bin/kill", Map("/usr/bin/kill"));
        File.CreateSymbolicLink(Map("/bin"), "usr/bin");

        Directory.CreateDirectory(Map("/opt/gslbdns/bin"));
        foreach (var (command, project, appHost) in Programs)
        {
            var wrapper = Map($"/opt/gslbdns/bin/{command}");
            File.WriteAllText(wrapper, $"#!/bin/sh\nexec '{BuiltAppHost(project, appHost)}' \"$@\"\n");
            MakeWorldReadable(wrapper);
        }

        Directory.CreateDirectory(Map("/opt/gslbdns/share"));
        Directory.CreateSymbolicLink(Map("/opt/gslbdns/share/geo-data"), System.IO.Path.Combine(RepoLayout.Root, "geo-data"));
        Directory.CreateDirectory(Map("/var/lib/GeoIP"));
        File.CreateSymbolicLink(Map("/var/lib/GeoIP/GeoLite2-City.mmdb"), System.IO.Path.Combine(RepoLayout.Root, ".cache", "geoip", "GeoLite2-City.mmdb"));

        var zones = Directory.CreateDirectory(Map("/etc/gslbdns/zones")).FullName;
        foreach (var file in Directory.GetFiles(System.IO.Path.Combine(RepoLayout.Root, "zones")))
        {
            File.Copy(file, System.IO.Path.Combine(zones, System.IO.Path.GetFileName(file)));
        }

        // What the cloud-init writes and the example env files pass as --consul-ca-file: a CA certificate.
        using (var key = System.Security.Cryptography.ECDsa.Create())
        {
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=deploy test Consul CA", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllText(Map("/etc/gslbdns/consul-ca.pem"), ca.ExportCertificatePem() + "\n");
        }

        foreach (var example in Directory.GetFiles(UnitSourceFolder, "*.env.example"))
        {
            File.Copy(example, Map($"/etc/gslbdns/{System.IO.Path.GetFileNameWithoutExtension(example)}"));
        }

        foreach (var name in UnitNames)
        {
            var credentials = Directory.CreateDirectory(Map(CredentialsDirectory(name))).FullName;
            File.WriteAllText(System.IO.Path.Combine(credentials, "consul-token"), $"{Guid.NewGuid()}\n");
            File.WriteAllText(System.IO.Path.Combine(credentials, "api-tokens"), $"operator {Guid.NewGuid():N} deploy-test\n");
        }
    }

    /// <summary>The apphost of a program from the same build configuration as these tests.</summary>
    private static string BuiltAppHost(string project, string appHost)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent?.Name ?? "Release";
        var candidates = new[] { configuration, "Release", "Debug" }
            .Select(c => System.IO.Path.Combine(RepoLayout.Root, "src", project, "bin", c, "net10.0", appHost))
            .ToList();
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"{appHost} not built; looked at {string.Join(", ", candidates)}. Build the solution first.");
    }
}
