using System.Net;
using GslbDns.Answers;
using GslbDns.Dns;
using GslbDns.Query;
using GslbDns.Zones;

namespace GslbDns.Tests.Core.Query;

public sealed class CnameLoopTests
{
    [Fact]
    public void A_CNAME_loop_stops_after_each_name_was_answered_once()
    {
        var zone = ZoneFileReader.ReadText("""
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            a IN CNAME b
            b IN CNAME c
            c IN CNAME a
            """, "loop.test.zone", DnsName.Parse("loop.test."));
        var holder = new SnapshotHolder(ServerSnapshot.Empty with { Zones = new ZoneSet([CompiledZone.Build(zone)]) });
        var engine = new QueryEngine(holder, new QueryEngineOptions());
        var context = new QueryContext(ushort.MaxValue);
        var request = Explainer.BuildQuery(DnsName.Parse("a.loop.test."), RecordType.A, IPAddress.Parse("192.0.2.0"), 24);

        var length = engine.Process(request, context);

        var reply = ARSoft.Tools.Net.Dns.DnsMessage.Parse(context.Response.Buffer.AsSpan(0, length).ToArray());
        Assert.Equal(ARSoft.Tools.Net.Dns.ReturnCode.NoError, reply.ReturnCode);
        Assert.Equal(["a.loop.test.", "b.loop.test.", "c.loop.test."], reply.AnswerRecords.Select(r => r.Name.ToString()));
    }
}
