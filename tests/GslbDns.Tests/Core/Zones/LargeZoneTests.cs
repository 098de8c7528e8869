using System.Text;
using GslbDns.Dns;
using GslbDns.Zones;

namespace GslbDns.Tests.Core.Zones;

public sealed class LargeZoneTests
{
    /// <summary>A generated 100k-record zone reads correctly; the reader's speed is watched elsewhere, not asserted here.</summary>
    [Fact]
    public void Hundred_thousand_records_read_correctly()
    {
        const int hosts = 25_000;
        var text = new StringBuilder(ZoneTestSupport.Head, hosts * 120);
        for (var i = 0; i < hosts; i++)
        {
            text.Append("host").Append(i).Append(" 300 IN A 10.").Append((i >> 16) & 255).Append('.').Append((i >> 8) & 255).Append('.').Append(i & 255).Append('\n')
                .Append("  AAAA 2001:db8::").Append(i.ToString("x", System.Globalization.CultureInfo.InvariantCulture)).Append('\n')
                .Append("  TXT \"record ").Append(i).Append("\" second\n")
                .Append("  MX 10 mail").Append(i % 100).Append('\n');
        }

        var zone = ZoneFileReader.ReadText(text.ToString(), "big.zone", ZoneTestSupport.Example);
        Assert.Equal((hosts * 4) + 3, zone.Records.Count);
        Assert.Empty(zone.Warnings);

        var last = zone.Single($"host{hosts - 1}", RecordType.A);
        Assert.Equal("0a0061a7", ZoneTestSupport.Hex(last.RData));
        Assert.Equal(300u, last.Ttl);
        Assert.Equal(4 + ((hosts - 1) * 4) + 1, last.Source.Line);
        Assert.Equal(DnsName.Parse("mail99.example.com."), zone.Single($"host{hosts - 1}", RecordType.MX).Target);
        Assert.Equal(3600u, zone.Single("host7", RecordType.TXT).Ttl);
    }
}
