using Attribution.Domain;

namespace Attribution.Local.Synthetic;

/// <summary>
/// One synthetic customer tenant: its subscriptions, the workloads each reports usage on and the usage
/// profile of each. Drawn from a per-tenant <see cref="Random"/> so a tenant's usage does not depend on
/// how many partners or tenants there are. Only arithmetic (no Math.Exp/Pow) touches the random draws,
/// so the output is the same on every platform.
/// </summary>
internal sealed class SyntheticTenant
{
    private static readonly int[] UserTiers = [5, 12, 25, 45, 80, 150, 300, 600, 1200, 2500, 6000];
    private static readonly int[] UserTierWeights = [10, 14, 16, 15, 13, 11, 8, 6, 4, 2, 1];
    private static readonly int[] AzureTiers = [25, 80, 250, 700, 2000, 5000, 12000];
    private static readonly int[] AzureTierWeights = [20, 25, 22, 15, 10, 5, 3];

    public required Guid TenantId { get; init; }

    /// <summary>Seats in the tenant: scales every user-based workload.</summary>
    public required int Users { get; init; }

    public required List<SyntheticSubscription> Subscriptions { get; init; }

    public WorkloadSet Workloads => Subscriptions.Aggregate(WorkloadSet.Empty, (s, sub) => s.Union(WorkloadSet.Of(sub.Workloads.Select(w => w.Workload))));

    public static Guid NewGuid(Random rng)
    {
        Span<byte> bytes = stackalloc byte[16];
        rng.NextBytes(bytes);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(bytes);
    }

    public static DateOnly RandomDate(Random rng, DateOnly min, DateOnly max) =>
        max <= min ? min : min.AddDays(rng.Next(max.DayNumber - min.DayNumber + 1));

    private static int Weighted(Random rng, int[] weights)
    {
        var total = 0;
        foreach (var w in weights) total += w;
        var r = rng.Next(total);
        for (var i = 0; i < weights.Length; i++)
        {
            r -= weights[i];
            if (r < 0) return i;
        }
        return weights.Length - 1;
    }

    private static double Between(Random rng, double min, double max) => min + ((max - min) * rng.NextDouble());

    public static SyntheticTenant Create(Random rng, YearMonth firstMonth, YearMonth lastMonth)
    {
        var tenantId = NewGuid(rng);
        var users = Math.Max(1, (int)(UserTiers[Weighted(rng, UserTierWeights)] * Between(rng, 0.8, 1.2)));
        var r = rng.NextDouble();
        var subscriptionCount = r < 0.45 ? 1 : r < 0.75 ? 2 : r < 0.90 ? 3 : 4;
        var months = lastMonth.Index - firstMonth.Index + 1;
        var subs = new List<SyntheticSubscription>(subscriptionCount);
        for (var s = 0; s < subscriptionCount; s++)
        {
            var id = NewGuid(rng);
            DateOnly start;
            YearMonth firstUsage;
            if (months == 1 || rng.NextDouble() < 0.85)
            {
                // Created before the window: usage in every month.
                start = RandomDate(rng, firstMonth.FirstDay.AddYears(-3), firstMonth.FirstDay.AddDays(-1));
                firstUsage = firstMonth;
            }
            else
            {
                firstUsage = firstMonth.AddMonths(1 + rng.Next(months - 1));
                start = firstUsage.FirstDay.AddDays(rng.Next(27));
            }
            subs.Add(new SyntheticSubscription(id, start, firstUsage, PickWorkloads(rng, users)) { LastUsageMonth = lastMonth });
        }
        Shape(rng, subs, firstMonth, lastMonth);
        return new SyntheticTenant { TenantId = tenantId, Users = users, Subscriptions = subs };
    }

    /// <summary>
    /// The tenant's course over the months, so usage has trends to find: most are steady (a mild drift), some grow or
    /// shrink steeply, some are new customers (every subscription starts in the second half of the months) and some
    /// leave (usage stops before the last month). Drawn last, so the rest of the tenant is as before.
    /// </summary>
    private static void Shape(Random rng, List<SyntheticSubscription> subs, YearMonth firstMonth, YearMonth lastMonth)
    {
        var months = lastMonth.Index - firstMonth.Index + 1;
        var r = rng.NextDouble();
        if (r < 0.60) return;
        if (r < 0.72) Retrend(rng, subs, 0.04, 0.10);            // growing
        else if (r < 0.84) Retrend(rng, subs, -0.035, -0.015);   // shrinking (stays > 0 for 24 months)
        else if (months >= 6 && r < 0.92)
        {
            // A new customer: every subscription created in the second half.
            var firstUsage = firstMonth.AddMonths(months / 2 + rng.Next(months - (months / 2)));
            for (var i = 0; i < subs.Count; i++)
                subs[i] = subs[i] with { Start = firstUsage.FirstDay.AddDays(rng.Next(27)), FirstUsageMonth = firstUsage };
        }
        else if (months >= 6)
        {
            // A customer that left: no usage after a month between the first quarter and the month before the last.
            var lastUsage = firstMonth.AddMonths(months / 4 + rng.Next(months - 1 - (months / 4)));
            for (var i = 0; i < subs.Count; i++)
                if (subs[i].FirstUsageMonth <= lastUsage) subs[i] = subs[i] with { LastUsageMonth = lastUsage };
        }

        static void Retrend(Random rng, List<SyntheticSubscription> subs, double min, double max)
        {
            foreach (var sub in subs)
                for (var w = 0; w < sub.Workloads.Count; w++)
                    sub.Workloads[w] = sub.Workloads[w] with { Trend = Between(rng, min, max) };
        }
    }

    private static List<WorkloadProfile> PickWorkloads(Random rng, int users)
    {
        var list = new List<WorkloadProfile>(4);
        var kind = rng.NextDouble();
        if (kind < 0.40)
        {
            list.Add(Profile(rng, Workload.Azure, users));
            if (rng.NextDouble() < 0.15) list.Add(Profile(rng, Workload.PowerPlatform, users));
            if (rng.NextDouble() < 0.05) list.Add(Profile(rng, Workload.Dynamics365, users));
        }
        else if (kind < 0.85)
        {
            ReadOnlySpan<(Workload W, double P)> pool =
            [
                (Workload.Exchange, 0.85), (Workload.Teams, 0.6), (Workload.SharePoint, 0.35),
                (Workload.OneDrive, 0.25), (Workload.Intune, 0.2), (Workload.EntraID, 0.2),
            ];
            foreach (var (w, p) in pool)
                if (list.Count < 4 && rng.NextDouble() < p) list.Add(Profile(rng, w, users));
            if (list.Count == 0) list.Add(Profile(rng, Workload.Exchange, users));
        }
        else
        {
            list.Add(Profile(rng, Workload.Dynamics365, users));
            if (rng.NextDouble() < 0.5) list.Add(Profile(rng, Workload.PowerPlatform, users));
            if (rng.NextDouble() < 0.2) list.Add(Profile(rng, Workload.Azure, users));
        }
        return list;
    }

    private static WorkloadProfile Profile(Random rng, Workload w, int users)
    {
        var trend = Between(rng, -0.02, 0.05);
        double revenue = 0, active = 0;
        switch (w)
        {
            case Workload.Azure:
                revenue = AzureTiers[Weighted(rng, AzureTierWeights)] * Between(rng, 0.7, 1.3);
                if (rng.NextDouble() < 0.1) active = Math.Max(1, users * Between(rng, 0.02, 0.2));
                break;
            case Workload.Exchange or Workload.Teams or Workload.SharePoint or Workload.OneDrive:
                active = Math.Max(1, users * Between(rng, 0.5, 1.0));
                if (rng.NextDouble() < 0.15) revenue = active * Between(rng, 2, 8);
                break;
            case Workload.Intune or Workload.EntraID:
                active = Math.Max(1, users * Between(rng, 0.4, 1.0));
                if (rng.NextDouble() < 0.1) revenue = active * Between(rng, 4, 9);
                break;
            case Workload.Dynamics365:
                active = Math.Max(1, users * Between(rng, 0.05, 0.3));
                revenue = active * Between(rng, 50, 110);
                break;
            default:
                active = Math.Max(1, users * Between(rng, 0.05, 0.5));
                if (rng.NextDouble() < 0.3) revenue = active * Between(rng, 5, 20);
                break;
        }
        return new WorkloadProfile(w, revenue, active, trend);
    }

    /// <summary>
    /// Writes the tenant's usage rows (month by month, subscription by subscription). Returns false as soon
    /// as <paramref name="stopAtChars"/> is reached, for size-targeted output.
    /// </summary>
    public bool WriteUsage(CsvOut csv, Random rng, YearMonth firstMonth, YearMonth lastMonth, ExtraColumn? extra = null, long stopAtChars = long.MaxValue)
    {
        Span<char> month = stackalloc char[7];
        foreach (var sub in Subscriptions)
        {
            for (var m = sub.FirstUsageMonth; m <= sub.LastUsageMonth; m = m.AddMonths(1))
            {
                var t = m.Index - firstMonth.Index;
                var mm = m.Month;
                month[0] = (char)('0' + (m.Year / 1000 % 10));
                month[1] = (char)('0' + (m.Year / 100 % 10));
                month[2] = (char)('0' + (m.Year / 10 % 10));
                month[3] = (char)('0' + (m.Year % 10));
                month[4] = '-';
                month[5] = (char)('0' + (mm / 10));
                month[6] = (char)('0' + (mm % 10));
                foreach (var p in sub.Workloads)
                {
                    var growth = Math.Max(0, 1 + (p.Trend * t));
                    var churned = rng.NextDouble() < 0.01; // an occasional zero month: valid, and exercises "usage > 0"
                    csv.Guid(TenantId);
                    csv.Guid(sub.Id);
                    csv.Raw(WorkloadName(p.Workload));
                    csv.Raw(month);
                    if (p.Revenue > 0) csv.Money(churned ? 0 : Math.Round(p.Revenue * growth * Between(rng, 0.9, 1.1), 2));
                    else csv.Empty();
                    if (p.ActiveUsers > 0) csv.Int(churned ? 0 : (long)Math.Round(p.ActiveUsers * growth * Between(rng, 0.92, 1.08)));
                    else csv.Empty();
                    extra?.Write(csv);
                    csv.EndRow();
                    if (csv.Chars >= stopAtChars) return false;
                }
            }
        }
        return true;
    }

    public static string WorkloadName(Workload w) => w switch
    {
        Workload.Azure => "Azure",
        Workload.Exchange => "Exchange",
        Workload.SharePoint => "SharePoint",
        Workload.Teams => "Teams",
        Workload.OneDrive => "OneDrive",
        Workload.Intune => "Intune",
        Workload.EntraID => "EntraID",
        Workload.Dynamics365 => "Dynamics365",
        Workload.PowerPlatform => "PowerPlatform",
        _ => throw new ArgumentOutOfRangeException(nameof(w)),
    };

    /// <summary>A product name the feeds accept for the workload (FastTrack reports use these).</summary>
    public static string ProductName(Workload w) => w switch
    {
        Workload.Azure => "Microsoft Azure",
        Workload.Exchange => "Exchange Online",
        Workload.SharePoint => "SharePoint Online",
        Workload.Teams => "Microsoft Teams",
        Workload.OneDrive => "OneDrive for Business",
        Workload.Intune => "Microsoft Intune",
        Workload.EntraID => "Entra ID P1",
        Workload.Dynamics365 => "Dynamics 365",
        Workload.PowerPlatform => "Power Apps",
        _ => throw new ArgumentOutOfRangeException(nameof(w)),
    };
}

internal sealed record SyntheticSubscription(Guid Id, DateOnly Start, YearMonth FirstUsageMonth, List<WorkloadProfile> Workloads)
{
    /// <summary>The last month with usage: the last month of the set unless the customer left.</summary>
    public required YearMonth LastUsageMonth { get; init; }
}

/// <summary>Monthly baseline of one workload on one subscription; 0 = the amount is not reported.</summary>
internal readonly record struct WorkloadProfile(Workload Workload, double Revenue, double ActiveUsers, double Trend);

/// <summary>The ignored free-text column of wide benchmark rows: <c>width</c> characters, no comma or quote.</summary>
internal sealed class ExtraColumn
{
    private const string Lorem = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ";
    private readonly char[] _text;
    private readonly int _width;
    private int _row;

    public ExtraColumn(int width)
    {
        _width = width;
        _text = new char[width + Lorem.Length];
        for (var i = 0; i < _text.Length; i++) _text[i] = Lorem[i % Lorem.Length];
    }

    public void Write(CsvOut csv)
    {
        // Shift the window per row so rows differ (closer to real free text for compression and hashing).
        var offset = _row++ % Lorem.Length;
        csv.Raw(_text.AsSpan(offset, _width));
    }
}
