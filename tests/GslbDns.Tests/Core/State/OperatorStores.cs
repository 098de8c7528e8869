using GslbDns.Consul;
using GslbDns.State;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Core.State;

/// <summary>
/// Opens either operator state store for a contract test: a fresh SQLite file in its own temp folder, or a
/// Consul store under a unique prefix on the shared dev agent. One place, so every store test runs both the same way.
/// </summary>
internal sealed class OperatorStores : IDisposable
{
    private readonly ConsulDevAgent _consul;
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };

    public OperatorStores(ConsulDevAgent consul, string name)
    {
        _consul = consul;
        Folder = new TempFolder(name);
    }

    public TempFolder Folder { get; }

    /// <summary>"sqlite" or "consul", as the theories name them.</summary>
    public IOperatorStateStore Open(string kind, string prefix) => kind == "sqlite"
        ? SqliteOperatorStateStore.Open(Path.Combine(Folder.Path, $"{Guid.NewGuid():N}.db"))
        : new ConsulOperatorStateStore(Client(_consul.HttpAddress), ConsulTestSupport.UniquePrefix(prefix));

    public ConsulClient Client(Uri address) => new(_http, new ConsulClientOptions { Addresses = [address], RequestTimeout = TimeSpan.FromSeconds(2) });

    public void Dispose()
    {
        _http.Dispose();
        Folder.Dispose();
    }
}
