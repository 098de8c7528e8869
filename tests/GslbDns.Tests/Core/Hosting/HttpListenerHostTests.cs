namespace GslbDns.Tests.Core.Hosting;

/// <summary>The metrics listeners' host part, served for real by an HttpListener on loopback.</summary>
public sealed class HttpListenerHostTests
{
    [Theory]
    [InlineData("0.0.0.0", "+")]
    [InlineData("::", "+")]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("::1", "::1")]
    public void Host_part_of_the_prefix(string address, string host) =>
        Assert.Equal(host, GslbDns.Hosting.HttpListenerHost.Of(System.Net.IPAddress.Parse(address)));

    [Fact]
    public async Task A_listener_with_that_prefix_answers_on_the_address()
    {
        var ip = System.Net.IPAddress.Loopback;
        var port = GslbDns.Tests.TestSupport.PortFinder.Take();
        using var listener = new System.Net.HttpListener();
        listener.Prefixes.Add($"http://{GslbDns.Hosting.HttpListenerHost.Of(ip)}:{port}/metrics/");
        listener.Start();
        var served = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            context.Response.StatusCode = 204;
            context.Response.Close();
        });

        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri($"http://{new System.Net.IPEndPoint(ip, port)}/metrics/"));
        Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
        await served;
    }
}
