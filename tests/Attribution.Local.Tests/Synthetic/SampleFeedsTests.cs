using System.IO.Compression;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Domain.Rules;

namespace Attribution.Local.Tests.Synthetic;

/// <summary>The shipped samples (samples/feeds) are the happy path: every source present, every row valid.</summary>
public sealed class SampleFeedsTests
{
    private static readonly string[] Formats = [".csv", ".jsonl", ".csv.gz", ".jsonl.gz"];

    private static IEnumerable<string> FeedFiles(FeedSource source) =>
        Directory.EnumerateFiles(Path.Combine(FeedTestFiles.SampleFeeds, source.Name()))
            .Where(f => Formats.Any(x => f.EndsWith(x, StringComparison.OrdinalIgnoreCase)))
            .Order(StringComparer.Ordinal);

    private static bool IsPartnerCenterExport(FeedTable table) => table.Header.Contains("MpnId");

    public static TheoryData<string> Sources => new(FeedSources.All.Select(s => s.Name()));

    [Theory]
    [MemberData(nameof(Sources))]
    public void Every_source_has_sample_files_in_its_folder(string sourceName)
    {
        Assert.True(FeedSources.TryParse(sourceName, out var source));
        var folder = Path.Combine(FeedTestFiles.SampleFeeds, sourceName);
        Assert.True(Directory.Exists(folder), folder);
        var all = Directory.EnumerateFiles(folder).ToList();
        Assert.NotEmpty(all);
        // Nothing in a feed folder that ingestion would not read.
        Assert.All(all, f => Assert.Contains(Formats, x => f.EndsWith(x, StringComparison.OrdinalIgnoreCase)));
        foreach (var file in all)
        {
            Assert.True(FeedSources.TryInferFromPath(file, out var inferred));
            Assert.Equal(source, inferred);
            Assert.NotEmpty(FeedTestFiles.Read(file).Rows);
        }
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void Every_sample_row_is_valid(string sourceName)
    {
        Assert.True(FeedSources.TryParse(sourceName, out var source));
        foreach (var file in FeedFiles(source))
        {
            var table = FeedTestFiles.Read(file);
            var problems = IsPartnerCenterExport(table)
                ? FeedRowRules.CheckPartnerCenterExport(table, CreditRulesLoader.Default)
                : FeedRowRules.Check(sourceName, table);
            Assert.True(problems.Count == 0, $"{Path.GetFileName(file)}: {string.Join("; ", problems)}");
        }
    }

    [Fact]
    public void Csp_has_a_canonical_file_and_a_partner_center_export()
    {
        var tables = FeedFiles(FeedSource.Csp).Select(f => (File: f, Table: FeedTestFiles.Read(f))).ToList();
        Assert.Contains(tables, t => !IsPartnerCenterExport(t.Table) && t.Table.Header.SequenceEqual(FeedRowRules.Columns["csp"]));
        var export = Assert.Single(tables, t => IsPartnerCenterExport(t.Table));

        foreach (var col in new[] { "PartnerId", "CustomerId", "CustomerName", "CustomerDomainName", "MpnId", "ResellerMpnId", "SubscriptionId",
                     "SubscriptionDescription", "OrderId", "ChargeStartDate", "ChargeEndDate", "ChargeType", "UnitPrice", "Quantity", "Currency", "ProductName" })
            Assert.Contains(col, export.Table.Header);
        // PartnerId in an export is the CSP partner's Entra tenant GUID, not the MPN ID: ingestion must take MpnId.
        Assert.All(export.Table.Rows, r => Assert.True(Guid.TryParse(r["PartnerId"], out _)));
        Assert.Contains(export.Table.Rows, r => r["ResellerMpnId"].Length > 0 && r["ResellerMpnId"] != "0" && r["ResellerMpnId"] != r["MpnId"]);
        // Exported as the portal does: UTF-8 BOM and CRLF.
        var bytes = File.ReadAllBytes(export.File);
        Assert.Equal([0xEF, 0xBB, 0xBF], bytes[..3]);
        Assert.Contains("\r\n", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void Gzipped_usage_decompresses_to_a_usage_csv()
    {
        var gz = Assert.Single(FeedFiles(FeedSource.Usage), f => f.EndsWith(".csv.gz", StringComparison.Ordinal));
        using var stream = new GZipStream(File.OpenRead(gz), CompressionMode.Decompress);
        using var reader = new StreamReader(stream);
        Assert.Equal(string.Join(',', FeedRowRules.Columns["usage"]), reader.ReadLine());
        Assert.NotEmpty(reader.ReadToEnd());
    }

    [Fact]
    public void Dap_is_jsonl_with_a_numeric_partner_id_and_a_revoked_grant()
    {
        var jsonl = Assert.Single(FeedFiles(FeedSource.Dap), f => f.EndsWith(".jsonl", StringComparison.Ordinal));
        Assert.Contains("\"partnerId\":5678901", File.ReadAllText(jsonl), StringComparison.Ordinal);
        Assert.Contains(FeedTestFiles.Read(jsonl).Rows, r => r["revokedOn"].Length > 0);
    }

    [Fact]
    public void Pal_has_links_with_and_without_a_subscription_and_workloads_and_certifications_an_expiry_and_a_lower_case_code()
    {
        var pal = FeedFiles(FeedSource.Pal).SelectMany(f => FeedTestFiles.Read(f).Rows).ToList();
        Assert.Contains(pal, r => r["subscriptionId"].Length == 0 && r["workloads"].Length == 0);
        Assert.Contains(pal, r => r["subscriptionId"].Length > 0 && r["workloads"].Length > 0);
        Assert.Contains(pal, r => r["unlinkedOn"].Length > 0);
        var certifications = FeedFiles(FeedSource.Certifications).SelectMany(f => FeedTestFiles.Read(f).Rows).ToList();
        Assert.Contains(certifications, r => r["expiresOn"].Length == 0);
        Assert.Contains(certifications, r => r["expiresOn"].Length > 0);
        Assert.Contains(certifications, r => r["certification"].Any(char.IsAsciiLetterLower));
    }

    [Fact]
    public void Samples_cover_the_twelve_months_ending_2026_10_and_only_known_partners()
    {
        // The original samples: 12 months of usage; the designation samples (`*-designations.csv`) reach back to 2025-01,
        // the 19+ months the capability scores read (§7.3), on tenants of their own.
        var files = FeedFiles(FeedSource.Usage).ToList();
        var usage = files.Where(f => !f.Contains("-designations", StringComparison.Ordinal)).SelectMany(f => FeedTestFiles.Read(f).Rows).ToList();
        var months = usage.Select(r => r["month"]).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => new YearMonth(2025, 11).AddMonths(i).ToString()), months);
        Assert.Equal(usage.Count, usage.Select(r => (r["subscriptionId"], r["workload"], r["month"])).Distinct().Count());
        var tenants = usage.Select(r => r["customerTenantId"]).Distinct().Count();
        Assert.InRange(tenants, 5, 8);
        var scored = files.Where(f => f.Contains("-designations", StringComparison.Ordinal)).SelectMany(f => FeedTestFiles.Read(f).Rows).ToList();
        Assert.Equal(Enumerable.Range(0, 22).Select(i => new YearMonth(2025, 1).AddMonths(i).ToString()),
            scored.Select(r => r["month"]).Distinct().Order(StringComparer.Ordinal));
        Assert.Empty(scored.Select(r => r["customerTenantId"]).Intersect(usage.Select(r => r["customerTenantId"])));

        var partners = FeedFiles(FeedSource.Partners).SelectMany(f => FeedTestFiles.Read(f).Rows).Select(r => r["partnerId"]).ToHashSet();
        Assert.InRange(partners.Count, 6, 13);
        foreach (var source in new[] { FeedSource.Dpor, FeedSource.Sales, FeedSource.Csp, FeedSource.FastTrack, FeedSource.Dap, FeedSource.Pal, FeedSource.Certifications })
        {
            foreach (var row in FeedFiles(source).SelectMany(f => FeedTestFiles.Read(f).Rows))
            {
                foreach (var col in new[] { "partnerId", "resellerPartnerId", "MpnId", "ResellerMpnId" })
                {
                    if (col == "partnerId" && row.Values.ContainsKey("MpnId")) continue; // export: PartnerId is a GUID
                    var id = row[col];
                    if (id.Length > 0 && id != "0") Assert.Contains(id, partners);
                }
            }
        }
    }
}
