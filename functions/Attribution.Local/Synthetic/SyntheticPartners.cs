namespace Attribution.Local.Synthetic;

/// <summary>
/// The synthetic partner directory: location partners (MPN IDs) grouped under global partners, most
/// globals with one location, some with two to six in different countries. Kept as arrays of
/// Tenants / 4 entries: small next to the feed rows, and tenants need random access to it.
/// </summary>
internal sealed class SyntheticPartners
{
    private static readonly string[] Brands =
    [
        "Contoso", "Fabrikam", "Northwind", "Adatum", "Tailspin", "Woodgrove", "Litware", "Proseware",
        "Wingtip", "Alpine Ski", "Coho", "Lucerne", "Margie's", "Trey Research", "Wide World", "Fourth Coffee",
        "Humongous", "Relecloud", "VanArsdel", "Blue Yonder", "Lamna", "Bellows", "Consolidated", "Datum",
        "Southridge", "Tasmanian", "Graphic Design", "School of Fine Art", "Munson's", "City Power",
        "Best For You", "Nod Publishers", "Olympia", "Boulder", "Cascade", "Summit", "Harbor", "Redwood",
    ];

    private static readonly string[] Suffixes =
    [
        "Cloud Services", "IT Solutions", "Consulting", "Systems", "Technologies", "Digital", "Managed Services",
        "Group", "Partners", "Solutions, Inc.", "Ltd.", "GmbH", "Networks", "Cloud, LLC", "Data & AI",
    ];

    private static readonly (string Code, string Name)[] Countries =
    [
        ("US", "United States"), ("GB", "United Kingdom"), ("DE", "Germany"), ("FR", "France"), ("NL", "Netherlands"),
        ("SE", "Sweden"), ("IN", "India"), ("JP", "Japan"), ("AU", "Australia"), ("CA", "Canada"), ("BR", "Brazil"),
        ("ES", "Spain"), ("IT", "Italy"), ("PL", "Poland"), ("ZA", "South Africa"), ("SG", "Singapore"),
    ];

    private readonly long[] _locationIds;
    private readonly int[] _distributors;

    public int Count => _locationIds.Length;

    public int GlobalCount { get; }

    private SyntheticPartners(long[] locationIds, int globalCount, int[] distributors)
    {
        _locationIds = locationIds;
        GlobalCount = globalCount;
        _distributors = distributors;
    }

    public static int CountFor(int tenants) => Math.Max(1, (tenants + 2) / 4);

    /// <summary>Builds the directory, writing the <c>partners</c> rows as it goes when <paramref name="csv"/> is given.</summary>
    public static SyntheticPartners Build(Random rng, int tenants, CsvOut? csv)
    {
        var count = CountFor(tenants);
        var ids = new long[count];
        var next = 0L;
        // One increasing sequence for location and global IDs keeps them unique at any scale.
        long NextId() => 1_000_000 + (next++ * 7) + rng.Next(7);

        var created = 0;
        var globals = 0;
        while (created < count)
        {
            var r = rng.NextDouble();
            var size = r < 0.72 ? 1 : r < 0.87 ? 2 : r < 0.96 ? 3 : 4 + rng.Next(3);
            size = Math.Min(size, count - created);
            var brand = Brands[rng.Next(Brands.Length)] + " " + Suffixes[rng.Next(Suffixes.Length)];
            var home = rng.Next(Countries.Length);
            globals++;
            if (size == 1)
            {
                var id = NextId();
                ids[created++] = id;
                if (csv is null) continue;
                csv.Int(id);
                // Half say it explicitly, half rely on the default (itself).
                if (rng.Next(2) == 0) csv.Int(id);
                else csv.Empty();
                csv.Text(brand);
                csv.Raw(Countries[home].Code);
                csv.EndRow();
                continue;
            }
            var globalId = NextId();
            for (var i = 0; i < size; i++)
            {
                var id = NextId();
                ids[created++] = id;
                if (csv is null) continue;
                var country = Countries[(home + i) % Countries.Length];
                csv.Int(id);
                csv.Int(globalId);
                csv.Text($"{brand} ({country.Name})");
                csv.Raw(country.Code);
                csv.EndRow();
            }
        }

        // CSP indirect providers (distributors): every 40th partner, at least one.
        var distributors = Enumerable.Range(0, count).Where(i => i % 40 == 3).ToArray();
        if (distributors.Length == 0) distributors = [count - 1];
        return new SyntheticPartners(ids, globals, distributors);
    }

    public long Id(int index) => _locationIds[index];

    /// <summary>A partner index skewed toward the low indices: a few partners serve many tenants, a long tail serves a few.</summary>
    public int Pick(Random rng)
    {
        var u = rng.NextDouble();
        return Math.Min(Count - 1, (int)(Count * u * u));
    }

    /// <summary>A partner other than <paramref name="not"/> when there is one.</summary>
    public int PickOther(Random rng, int not)
    {
        if (Count == 1) return 0;
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var p = Pick(rng);
            if (p != not) return p;
        }
        return (not + 1 + rng.Next(Count - 1)) % Count;
    }

    public int PickDistributor(Random rng) => _distributors[rng.Next(_distributors.Length)];
}
