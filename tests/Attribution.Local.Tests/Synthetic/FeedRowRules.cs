using System.Globalization;
using Attribution.Domain;
using Attribution.Domain.Rules;

namespace Attribution.Local.Tests.Synthetic;

/// <summary>
/// Simple, independent checks of PRODUCT.md §2.2/§2.3 for happy-path files (generated and samples):
/// a row that passes here must be accepted by ingestion. Returns the problems found, "line N: column: why".
/// </summary>
internal static class FeedRowRules
{
    public static readonly IReadOnlyDictionary<string, string[]> Columns = new Dictionary<string, string[]>
    {
        ["partners"] = ["partnerId", "globalPartnerId", "partnerName", "country"],
        ["dpor"] = ["subscriptionId", "customerTenantId", "partnerId", "effectiveDate", "action"],
        ["sales"] = ["customerTenantId", "partnerId", "program", "validFrom", "validTo", "subscriptionId", "agreementId"],
        ["csp"] = ["customerTenantId", "subscriptionId", "partnerId", "validFrom", "validTo", "resellerPartnerId", "workloads"],
        ["fasttrack"] = ["customerTenantId", "partnerId", "workloads", "engagementStart", "engagementEnd"],
        ["dap"] = ["customerTenantId", "partnerId", "workloads", "grantedOn", "revokedOn"],
        ["pal"] = ["customerTenantId", "partnerId", "linkedOn", "unlinkedOn", "subscriptionId", "workloads"],
        ["certifications"] = ["partnerId", "personId", "certification", "earnedOn", "expiresOn"],
        ["usage"] = ["customerTenantId", "subscriptionId", "workload", "month", "consumedRevenueUsd", "activeUsers"],
    };

    public static readonly IReadOnlyDictionary<string, string[]> Required = new Dictionary<string, string[]>
    {
        ["partners"] = ["partnerId"],
        ["dpor"] = ["subscriptionId", "customerTenantId", "partnerId", "effectiveDate"],
        ["sales"] = ["customerTenantId", "partnerId", "program", "validFrom"],
        ["csp"] = ["customerTenantId", "subscriptionId", "partnerId", "validFrom"],
        ["fasttrack"] = ["customerTenantId", "partnerId", "workloads", "engagementStart"],
        ["dap"] = ["customerTenantId", "partnerId", "workloads", "grantedOn"],
        ["pal"] = ["customerTenantId", "partnerId", "linkedOn"],
        ["certifications"] = ["partnerId", "personId", "certification", "earnedOn"],
        ["usage"] = ["customerTenantId", "subscriptionId", "workload", "month"],
    };

    public static bool IsCanonicalGuid(string s) => Guid.TryParseExact(s, "D", out var g) && g.ToString("D") == s;

    public static bool IsPartnerId(string s) => s.Length is >= 1 and <= 10 && s.All(char.IsAsciiDigit);

    public static bool TryIsoDate(string s, out DateOnly date) =>
        DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

    /// <summary>Partner Center export dates: US M/d/yyyy, optionally with a 12-hour time.</summary>
    public static bool TryUsDate(string s, out DateOnly date)
    {
        date = default;
        if (!DateTime.TryParseExact(s, ["M/d/yyyy", "M/d/yyyy h:mm:ss tt"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var dt)) return false;
        date = DateOnly.FromDateTime(dt);
        return true;
    }

    /// <summary>Checks a file in the canonical columns of its source.</summary>
    public static List<string> Check(string source, FeedTable table)
    {
        var problems = new List<string>();
        foreach (var col in Required[source])
            if (!table.Header.Contains(col)) problems.Add($"header: required column {col} missing");
        foreach (var row in table.Rows)
        {
            void Bad(string col, string why) => problems.Add($"line {row.Line}: {col}: {why} ('{row[col]}')");
            void Guid(string col, bool required = true)
            {
                if (row[col].Length == 0 && !required) return;
                if (!IsCanonicalGuid(row[col])) Bad(col, "not a canonical lower-case GUID");
            }
            void Partner(string col, bool required = true)
            {
                if (row[col].Length == 0 && !required) return;
                if (!IsPartnerId(row[col])) Bad(col, "not a 1-10 digit partner ID");
            }
            DateOnly? Date(string col, bool required = true)
            {
                if (row[col].Length == 0 && !required) return null;
                if (TryIsoDate(row[col], out var d)) return d;
                Bad(col, "not yyyy-MM-dd");
                return null;
            }
            void Range(string from, string to)
            {
                var f = Date(from);
                var t = Date(to, required: false);
                if (f is not null && t is not null && t < f) Bad(to, $"before {from}");
            }
            void Workloads(string col, bool required)
            {
                if (row[col].Length == 0)
                {
                    if (required) Bad(col, "empty");
                    return;
                }
                if (!WorkloadNames.TryParseList(row[col], out var set, out var unknown)) Bad(col, $"unknown workload {unknown}");
                else if (set.IsEmpty) Bad(col, "no workload");
            }

            switch (source)
            {
                case "partners":
                    Partner("partnerId");
                    Partner("globalPartnerId", required: false);
                    break;
                case "dpor":
                    Guid("subscriptionId");
                    Guid("customerTenantId");
                    Partner("partnerId");
                    Date("effectiveDate");
                    if (row["action"] is not ("" or "set" or "remove")) Bad("action", "not set/remove");
                    break;
                case "sales":
                    Guid("customerTenantId");
                    Partner("partnerId");
                    if (row["program"] is not ("EA" or "Open")) Bad("program", "not EA/Open");
                    Range("validFrom", "validTo");
                    Guid("subscriptionId", required: false);
                    break;
                case "csp":
                    Guid("customerTenantId");
                    Guid("subscriptionId");
                    Partner("partnerId");
                    Range("validFrom", "validTo");
                    Partner("resellerPartnerId", required: false);
                    Workloads("workloads", required: false);
                    break;
                case "fasttrack":
                    Guid("customerTenantId");
                    Partner("partnerId");
                    Workloads("workloads", required: true);
                    Range("engagementStart", "engagementEnd");
                    break;
                case "dap":
                    Guid("customerTenantId");
                    Partner("partnerId");
                    Workloads("workloads", required: true);
                    Range("grantedOn", "revokedOn");
                    break;
                case "pal":
                    Guid("customerTenantId");
                    Partner("partnerId");
                    Range("linkedOn", "unlinkedOn");
                    Guid("subscriptionId", required: false);
                    Workloads("workloads", required: false);
                    break;
                case "certifications":
                    Partner("partnerId");
                    var person = row["personId"].Trim();
                    if (person.Length is 0 or > 64 || person.Any(char.IsControl)) Bad("personId", "not 1-64 characters without control characters");
                    var code = row["certification"].Trim();
                    if (code.Length is 0 or > 32 || !code.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')) Bad("certification", "not 1-32 letters, digits or '-'");
                    Range("earnedOn", "expiresOn");
                    break;
                case "usage":
                    Guid("customerTenantId");
                    Guid("subscriptionId");
                    if (!WorkloadNames.TryParse(row["workload"], out _)) Bad("workload", "unknown workload");
                    if (!YearMonth.TryParse(row["month"], out _)) Bad("month", "not yyyy-MM");
                    var revenue = row["consumedRevenueUsd"];
                    var users = row["activeUsers"];
                    if (revenue.Length == 0 && users.Length == 0) Bad("consumedRevenueUsd", "neither amount present");
                    if (revenue.Length > 0 && !(decimal.TryParse(revenue, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var r) && r >= 0))
                        Bad("consumedRevenueUsd", "not a decimal >= 0");
                    if (users.Length > 0 && !long.TryParse(users, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                        Bad("activeUsers", "not an integer >= 0");
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(source), source, null);
            }
        }
        return problems;
    }

    /// <summary>Checks a Partner Center billing reconciliation export as the csp feed reads it (§2.3).</summary>
    public static List<string> CheckPartnerCenterExport(FeedTable table, CreditRules rules)
    {
        var problems = new List<string>();
        foreach (var col in new[] { "CustomerId", "SubscriptionId", "MpnId", "ResellerMpnId", "ChargeStartDate", "ChargeEndDate", "ProductName" })
            if (!table.Header.Contains(col)) problems.Add($"header: {col} missing");
        foreach (var row in table.Rows)
        {
            void Bad(string col, string why) => problems.Add($"line {row.Line}: {col}: {why} ('{row[col]}')");
            if (!IsCanonicalGuid(row["CustomerId"])) Bad("CustomerId", "not a GUID");
            if (!IsCanonicalGuid(row["SubscriptionId"])) Bad("SubscriptionId", "not a GUID");
            if (!IsPartnerId(row["MpnId"])) Bad("MpnId", "not a partner ID");
            if (row["ResellerMpnId"].Length > 0 && !IsPartnerId(row["ResellerMpnId"])) Bad("ResellerMpnId", "not a partner ID");
            var startOk = TryUsDate(row["ChargeStartDate"], out var start);
            var endOk = TryUsDate(row["ChargeEndDate"], out var end);
            if (!startOk) Bad("ChargeStartDate", "not M/d/yyyy h:mm:ss tt");
            if (!endOk) Bad("ChargeEndDate", "not M/d/yyyy h:mm:ss tt");
            if (startOk && endOk && end < start) Bad("ChargeEndDate", "before ChargeStartDate");
            if (!rules.ProductMap.TryMap(row["ProductName"], out _)) Bad("ProductName", "not in the product-workload map");
        }
        return problems;
    }
}
