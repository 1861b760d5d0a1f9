using System.Text;
using Attribution.Domain;
using Attribution.Domain.Feeds;

namespace Attribution.Local.Synthetic;

/// <summary>
/// Deterministic synthetic feeds at any scale (<c>attribution generate</c>, load tests, benchmarks).
/// Every row is valid per the feed value rules, so a generated set ingests with zero rejections.
/// Output streams tenant by tenant: memory stays flat however many tenants are asked for.
/// </summary>
public static class SyntheticFeedGenerator
{
    private const int BufferSize = 1 << 16;
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private static readonly string[] UsageHeader = ["customerTenantId", "subscriptionId", "workload", "month", "consumedRevenueUsd", "activeUsers"];

    /// <summary>
    /// Writes one CSV per source under <paramref name="outDir"/>/{source}/{source}.csv (replacing existing
    /// ones) and returns what it wrote. <paramref name="progress"/> gets the fraction of tenants done, ending with 1.
    /// </summary>
    public static SyntheticFeedSummary Generate(string outDir, SyntheticFeedOptions options, IProgress<double>? progress = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        var firstMonth = options.FirstMonth;
        var lastMonth = options.EffectiveLastMonth;
        var writers = new Dictionary<FeedSource, (StreamWriter Writer, CsvOut Csv, string Path)>();
        try
        {
            foreach (var source in FeedSources.All)
            {
                var dir = Path.Combine(outDir, source.Name());
                Directory.CreateDirectory(dir);
                var path = Path.GetFullPath(Path.Combine(dir, source.Name() + ".csv"));
                var writer = new StreamWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, BufferSize), Utf8NoBom, BufferSize);
                writers[source] = (writer, new CsvOut(writer), path);
            }

            var partnersCsv = writers[FeedSource.Partners].Csv;
            var dpor = writers[FeedSource.Dpor].Csv;
            var sales = writers[FeedSource.Sales].Csv;
            var csp = writers[FeedSource.Csp].Csv;
            var fastTrack = writers[FeedSource.FastTrack].Csv;
            var dap = writers[FeedSource.Dap].Csv;
            var pal = writers[FeedSource.Pal].Csv;
            var certifications = writers[FeedSource.Certifications].Csv;
            var usage = writers[FeedSource.Usage].Csv;

            partnersCsv.Header("partnerId", "globalPartnerId", "partnerName", "country");
            dpor.Header("subscriptionId", "customerTenantId", "partnerId", "effectiveDate", "action");
            sales.Header("customerTenantId", "partnerId", "program", "validFrom", "validTo", "subscriptionId", "agreementId");
            csp.Header("customerTenantId", "subscriptionId", "partnerId", "validFrom", "validTo", "resellerPartnerId", "workloads");
            fastTrack.Header("customerTenantId", "partnerId", "workloads", "engagementStart", "engagementEnd");
            dap.Header("customerTenantId", "partnerId", "workloads", "grantedOn", "revokedOn");
            pal.Header("customerTenantId", "partnerId", "linkedOn", "unlinkedOn", "subscriptionId", "workloads");
            certifications.Header("partnerId", "personId", "certification", "earnedOn", "expiresOn");
            usage.Header(UsageHeader);

            var directory = new Random(options.Seed);
            var partners = SyntheticPartners.Build(directory, options.Tenants, partnersCsv);
            // The same draws after the directory: the tenants' own generators are untouched by it.
            SyntheticCertifications.Write(partners, directory, lastMonth, certifications);
            var associations = new AssociationWriter(partners, firstMonth, lastMonth, dpor, sales, csp, fastTrack, dap, pal);

            long subscriptions = 0;
            var step = Math.Max(1, options.Tenants / 100);
            for (var i = 0; i < options.Tenants; i++)
            {
                var rng = TenantRandom(options.Seed, i);
                var tenant = SyntheticTenant.Create(rng, firstMonth, lastMonth);
                tenant.WriteUsage(usage, rng, firstMonth, lastMonth);
                associations.Write(tenant, rng);
                subscriptions += tenant.Subscriptions.Count;
                if (progress is not null && (i + 1) % step == 0 && i + 1 < options.Tenants)
                    progress.Report((double)(i + 1) / options.Tenants);
            }

            foreach (var (writer, _, _) in writers.Values) writer.Flush();
            var files = FeedSources.All
                .Select(s => new SyntheticFeedFile(s.Name(), writers[s].Path, writers[s].Csv.Rows, writers[s].Writer.BaseStream.Length))
                .ToList();
            progress?.Report(1);
            return new SyntheticFeedSummary(files, options.Tenants, subscriptions, partners.Count, partners.GlobalCount);
        }
        finally
        {
            foreach (var (writer, _, _) in writers.Values) writer.Dispose();
        }
    }

    /// <summary>
    /// Streams a <c>usage</c> CSV of at least <paramref name="targetBytes"/> bytes into <paramref name="output"/>
    /// (left open) without holding it in memory, and returns the bytes written. The rows are those
    /// <see cref="Generate"/> writes for the same seed (the default months, ending 2026-10), tenant after tenant until
    /// the target is reached. <paramref name="extraColumnBytes"/> &gt; 0 adds an ignored <c>notes</c> column
    /// that wide per row: wider rows mean fewer entities per gigabyte.
    /// </summary>
    public static long WriteUsageCsv(Stream output, long targetBytes, int seed, int extraColumnBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(targetBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(extraColumnBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(extraColumnBytes, 1 << 20);

        var options = new SyntheticFeedOptions(Seed: seed);
        var firstMonth = options.FirstMonth;
        var lastMonth = options.EffectiveLastMonth;
        using var writer = new StreamWriter(output, Utf8NoBom, BufferSize, leaveOpen: true);
        var csv = new CsvOut(writer);
        var extra = extraColumnBytes > 0 ? new ExtraColumn(extraColumnBytes) : null;
        if (extra is null) csv.Header(UsageHeader);
        else csv.Header([.. UsageHeader, "notes"]);

        for (var i = 0; csv.Chars < targetBytes; i++)
        {
            var rng = TenantRandom(seed, i);
            var tenant = SyntheticTenant.Create(rng, firstMonth, lastMonth);
            tenant.WriteUsage(csv, rng, firstMonth, lastMonth, extra, targetBytes);
        }
        writer.Flush();
        return csv.Chars; // ASCII only: characters = bytes
    }

    /// <summary>
    /// Tenant i's own generator: seed and index mixed (SplitMix64 finaliser) so neighbouring tenants and
    /// seeds are uncorrelated, and a tenant's rows do not depend on the ones before it.
    /// </summary>
    internal static Random TenantRandom(int seed, int index)
    {
        var z = ((ulong)(uint)seed << 32) | (uint)index;
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return new Random((int)(z & 0x7FFF_FFFF));
    }
}
