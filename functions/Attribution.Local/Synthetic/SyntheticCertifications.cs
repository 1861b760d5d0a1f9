using Attribution.Domain;

namespace Attribution.Local.Synthetic;

/// <summary>
/// The partners' certified people (`certifications` feed): bigger partners (the low indices <see cref="SyntheticPartners.Pick"/>
/// favours) have more people; each holds one to three certifications. Role-based certifications expire a year after
/// they are earned and are often renewed (a new row with a new earned date); fundamentals never expire. A few codes are
/// written lower-case, as some exports do. Earned dates lie on or before the last day of the last month.
/// </summary>
internal static class SyntheticCertifications
{
    private static readonly string[] RoleBased =
        ["AZ-104", "AZ-204", "AZ-305", "AZ-400", "AZ-500", "SC-200", "SC-300", "SC-100", "MS-102", "MD-102", "PL-200", "PL-400", "MB-210", "MB-800", "DP-600"];

    private static readonly string[] Fundamentals = ["AZ-900", "MS-900", "SC-900", "PL-900"];

    public static void Write(SyntheticPartners partners, Random rng, YearMonth lastMonth, CsvOut csv)
    {
        var lastDay = lastMonth.LastDay;
        var from = lastDay.AddYears(-4);
        for (var p = 0; p < partners.Count; p++)
        {
            var id = partners.Id(p);
            // Partner 0 about 12 people, the long tail one or two.
            var people = 1 + rng.Next(1 + (12 * (partners.Count - p) / partners.Count));
            for (var person = 0; person < people; person++)
            {
                var personId = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"p-{id}-{person:D3}");
                var held = 1 + rng.Next(3);
                for (var c = 0; c < held; c++)
                {
                    var fundamental = rng.NextDouble() < 0.25;
                    var code = fundamental ? Fundamentals[rng.Next(Fundamentals.Length)] : RoleBased[rng.Next(RoleBased.Length)];
                    var earned = SyntheticTenant.RandomDate(rng, from, lastDay);
                    while (true)
                    {
                        DateOnly? expires = fundamental ? null : earned.AddYears(1).AddDays(-1);
                        Row(csv, id, personId, rng.NextDouble() < 0.05 ? code.ToLowerInvariant() : code, earned, expires);
                        // Renewed within the last month before expiry, most of the time, while that is not in the future.
                        if (expires is not { } end || rng.NextDouble() >= 0.6) break;
                        var renewed = end.AddDays(-rng.Next(30));
                        if (renewed > lastDay) break;
                        earned = renewed;
                    }
                }
            }
        }
    }

    private static void Row(CsvOut csv, long partnerId, string personId, string code, DateOnly earned, DateOnly? expires)
    {
        csv.Int(partnerId);
        csv.Raw(personId);
        csv.Raw(code);
        csv.Date(earned);
        csv.Date(expires);
        csv.EndRow();
    }
}
