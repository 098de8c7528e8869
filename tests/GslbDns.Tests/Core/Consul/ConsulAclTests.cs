using System.Net;
using GslbDns.Consul;
using static GslbDns.Tests.Core.Consul.ConsulTestSupport;

namespace GslbDns.Tests.Core.Consul;

/// <summary>A dev agent with ACLs enabled and default deny.</summary>
public sealed class ConsulAclTests(ConsulAclAgent agent) : IClassFixture<ConsulAclAgent>
{
    private const string WrongToken = "0b5e7e2a-wrong-token-must-not-leak";

    [Fact]
    public async Task Without_a_token_consul_answers_403_as_an_api_error()
    {
        var client = Client([agent.HttpAddress]);
        var ex = await Assert.ThrowsAsync<ConsulException>(() => client.KvPutAsync(UniquePrefix("acl") + "k", Utf8("v")));
        Assert.False(ex.IsUnreachable);
        Assert.Equal(HttpStatusCode.Forbidden, ex.StatusCode);
        Assert.Equal("Permission denied", ex.ConsulMessage);

        var read = await Assert.ThrowsAsync<ConsulException>(() => client.KvGetAsync(UniquePrefix("acl") + "k"));
        Assert.Equal(HttpStatusCode.Forbidden, read.StatusCode);
    }

    [Fact]
    public async Task With_the_master_token_everything_works()
    {
        var client = Client([agent.HttpAddress], ConsulAclAgent.MasterToken);
        var key = UniquePrefix("acl") + "k";
        await client.KvPutAsync(key, Utf8("v"));
        Assert.Equal("v", Text(await client.KvGetAsync(key)));
        var session = await client.SessionCreateAsync("acl-session", TimeSpan.FromSeconds(10));
        Assert.True(await client.SessionRenewAsync(session));
        await client.SessionDestroyAsync(session);
    }

    [Fact]
    public async Task A_token_never_appears_in_exceptions_logs_or_options()
    {
        // Unknown token: Consul says "ACL not found"; the text must not contain the token we sent.
        var wrongLogger = new ListLogger<ConsulClient>();
        var wrong = Client([new Uri($"http://127.0.0.1:{FreePorts.Take(1)[0]}/"), agent.HttpAddress], WrongToken, logger: wrongLogger);
        var denied = await Assert.ThrowsAsync<ConsulException>(() => wrong.KvGetAsync("k"));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.DoesNotContain(WrongToken, denied.ToString());
        Assert.DoesNotContain(WrongToken, wrong.Options.ToString());

        // The valid token through an API error, a failover and an unreachable error.
        var logger = new ListLogger<ConsulClient>();
        var dead = new Uri($"http://127.0.0.1:{FreePorts.Take(1)[0]}/");
        var client = Client([dead, agent.HttpAddress], ConsulAclAgent.MasterToken, logger: logger);
        var apiError = await Assert.ThrowsAsync<ConsulException>(() => client.SessionCreateAsync("x", TimeSpan.FromMilliseconds(10)));
        var unreachable = await Assert.ThrowsAsync<ConsulException>(() => Client([dead], ConsulAclAgent.MasterToken, logger: logger).KvGetAsync("k"));
        Assert.True(unreachable.IsUnreachable);

        foreach (var text in new[] { apiError.ToString(), unreachable.ToString(), client.Options.ToString() }
                     .Concat(logger.Lines).Concat(wrongLogger.Lines))
        {
            Assert.DoesNotContain(ConsulAclAgent.MasterToken, text);
            Assert.DoesNotContain(WrongToken, text);
        }

        Assert.NotEmpty(logger.Lines); // the failover was logged, just without the token
    }
}
