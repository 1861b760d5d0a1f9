using System.Text;

namespace Attribution.Local.Tests.Synthetic;

/// <summary>The validity checks used on generated and sample files must themselves catch bad rows.</summary>
public sealed class FeedRowRulesTests
{
    private static List<string> Check(string source, string csv) =>
        FeedRowRules.Check(source, FeedTestFiles.ReadCsv(new MemoryStream(Encoding.UTF8.GetBytes(csv))));

    [Theory]
    [InlineData("dpor", "subscriptionId,customerTenantId,partnerId,effectiveDate,action\nNOT-A-GUID,085ae8c6-9639-4735-bcb4-fc74c396af32,1,2026-01-01,set\n", "subscriptionId")]
    [InlineData("dpor", "subscriptionId,customerTenantId,partnerId,effectiveDate,action\n085ae8c6-9639-4735-bcb4-fc74c396af32,085ae8c6-9639-4735-bcb4-fc74c396af32,12345678901,2026-01-01,set\n", "partnerId")]
    [InlineData("dap", "customerTenantId,partnerId,workloads,grantedOn,revokedOn\n085ae8c6-9639-4735-bcb4-fc74c396af32,1,Exchange,2026-02-01,2026-01-31\n", "revokedOn")]
    [InlineData("dap", "customerTenantId,partnerId,workloads,grantedOn,revokedOn\n085ae8c6-9639-4735-bcb4-fc74c396af32,1,Exchange;Skype,2026-02-01,\n", "workloads")]
    [InlineData("usage", "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n085ae8c6-9639-4735-bcb4-fc74c396af32,085ae8c6-9639-4735-bcb4-fc74c396af32,Azure,2026-13,1.5,\n", "month")]
    [InlineData("usage", "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n085ae8c6-9639-4735-bcb4-fc74c396af32,085ae8c6-9639-4735-bcb4-fc74c396af32,Azure,2026-01,,\n", "consumedRevenueUsd")]
    [InlineData("usage", "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n085AE8C6-9639-4735-BCB4-FC74C396AF32,085ae8c6-9639-4735-bcb4-fc74c396af32,Azure,2026-01,-1,\n", "customerTenantId")]
    [InlineData("sales", "customerTenantId,partnerId,program,validFrom\n085ae8c6-9639-4735-bcb4-fc74c396af32,1,CSP,01/02/2026\n", "program")]
    public void A_bad_value_is_reported_with_its_column(string source, string csv, string column)
    {
        var problems = Check(source, csv);
        Assert.Contains(problems, p => p.StartsWith("line 2: " + column + ":", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_required_column_is_reported()
    {
        var problems = Check("usage", "customerTenantId,subscriptionId,workload\n");
        Assert.Contains("header: required column month missing", problems);
    }
}
