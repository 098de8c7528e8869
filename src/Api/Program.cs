namespace GslbDns.Api; internal static class Program { private static int Main() { Console.Error.WriteLine("gslbdns-api: the REST API is not implemented yet (issue 6)."); return 2; } }
