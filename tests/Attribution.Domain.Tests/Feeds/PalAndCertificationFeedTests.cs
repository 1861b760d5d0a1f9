using System.Text;
using Attribution.Domain.Feeds;
using Attribution.Domain.Rules;

namespace Attribution.Domain.Tests.Feeds;

/// <summary>The `pal` and `certifications` feeds (§2.2–2.3): their value rules, as rows become records or reasons.</summary>
public sealed class PalAndCertificationFeedTests
{
    private const string Tenant = "bbdc79ef-c388-417b-bdef-d3cf4e4665d2";
    private const string Sub = "0a765893-8334-4ba8-92a2-94bc602ab29c";

    private sealed class ListSink : IFeedRecordSink
    {
        public List<object> Records { get; } = [];
        public void Add(PartnerRecord partner, FeedLineage lineage) => Records.Add(partner);
        public void Add(DporEvent dporEvent) => Records.Add(dporEvent);
        public void Add(Association association) => Records.Add(association);
        public void Add(UsageRecord usage) => Records.Add(usage);
        public void Add(CertificationRecord certification) => Records.Add(certification);
    }

    /// <summary>Each row: its line, the reason it was rejected (null: accepted) and what it became.</summary>
    private static List<(long Line, string? Reason, List<object> Records)> Normalize(FeedSource source, string content, FeedFormat format = FeedFormat.Csv)
    {
        using var reader = FeedRowReader.Open(new MemoryStream(Encoding.UTF8.GetBytes(content)), source, format, gzip: false);
        var normalizer = new FeedRecordNormalizer(source, CreditRulesLoader.Default.ProductMap, "ing-1", new DateTimeOffset(2026, 11, 2, 8, 0, 0, TimeSpan.Zero));
        var rows = new List<(long, string?, List<object>)>();
        while (reader.MoveNext())
        {
            var sink = new ListSink();
            var reason = normalizer.Normalize(reader, sink);
            rows.Add((reader.Line, reason, reason is null ? sink.Records : []));
        }
        return rows;
    }

    [Fact]
    public void Pal_rows_are_associations_scoped_to_the_tenant_or_a_subscription_and_to_workloads()
    {
        var rows = Normalize(FeedSource.Pal,
            "customerTenantId,partnerId,linkedOn,unlinkedOn,subscriptionId,workloads\n" +
            $"{Tenant.ToUpperInvariant()},0002345678,2025-03-01,,,\n" +
            $"{{{Tenant}}},2345678,3/1/2025,2026-02-28,{Sub.ToUpperInvariant()},Microsoft Azure|Dynamics 365\n");

        Assert.All(rows, r => Assert.Null(r.Reason));
        var wide = Assert.IsType<Association>(Assert.Single(rows[0].Records));
        Assert.Equal(AssociationSource.Pal, wide.Source);
        Assert.Equal("pal", wide.Source.Name());
        Assert.Equal(2345678, wide.PartnerId);
        Assert.Equal(Guid.Parse(Tenant), wide.CustomerTenantId);
        Assert.Null(wide.SubscriptionId); // empty: every subscription of the tenant
        Assert.True(wide.Workloads.IsEmpty); // empty: every workload
        Assert.Equal(new DateOnly(2025, 3, 1), wide.ValidFrom);
        Assert.Null(wide.ValidTo);
        Assert.Equal(2, wide.Lineage.Line);

        var scoped = Assert.IsType<Association>(Assert.Single(rows[1].Records));
        Assert.Equal(Guid.Parse(Sub), scoped.SubscriptionId);
        Assert.Equal(WorkloadSet.Of([Workload.Azure, Workload.Dynamics365]), scoped.Workloads);
        Assert.Equal(new DateOnly(2026, 2, 28), scoped.ValidTo); // inclusive, kept as given
    }

    [Theory]
    [InlineData("2026-01-10,2026-01-09,,", "unlinkedOn: 2026-01-09 is before linkedOn 2026-01-10")]
    [InlineData(",2026-01-09,,", "linkedOn: required value is missing")]
    [InlineData("2026-01-10,,not-a-guid,", "subscriptionId: 'not-a-guid' is not a GUID")]
    [InlineData("2026-01-10,,,Gardening", "workloads: 'Gardening' is not a known workload")]
    [InlineData("2026-13-01,,,", "linkedOn: '2026-13-01' is not a valid date")]
    public void Bad_pal_rows_are_rejected_naming_the_column(string tail, string reason)
    {
        var row = Assert.Single(Normalize(FeedSource.Pal, $"customerTenantId,partnerId,linkedOn,unlinkedOn,subscriptionId,workloads\n{Tenant},2345678,{tail}\n"));
        Assert.Equal(2, row.Line);
        Assert.NotNull(row.Reason);
        Assert.StartsWith(reason, row.Reason);
    }

    [Fact]
    public void A_pal_link_that_ends_the_day_it_starts_is_in_force_that_day()
    {
        var row = Assert.Single(Normalize(FeedSource.Pal, $"customerTenantId,partnerId,linkedOn,unlinkedOn\n{Tenant},1,2026-01-10,2026-01-10\n"));
        Assert.Null(row.Reason);
    }

    [Fact]
    public void Certifications_keep_the_person_as_written_and_store_the_code_upper_case()
    {
        var rows = Normalize(FeedSource.Certifications,
            "partnerId,personId,certification,earnedOn,expiresOn\n" +
            "1234567,  Ana.Souza@contoso.example  ,az-104,2025-04-02,2026-04-01\n" +
            "1234567,ana.souza@contoso.example,Az-104,2025-04-02,\n" +
            "1234567,p-00042,  MS-900 ,2024-12-31T23:30:00-02:00,\n");

        Assert.All(rows, r => Assert.Null(r.Reason));
        var first = Assert.IsType<CertificationRecord>(Assert.Single(rows[0].Records));
        Assert.Equal(1234567, first.PartnerId);
        Assert.Equal("Ana.Souza@contoso.example", first.PersonId); // trimmed, case kept
        Assert.Equal("AZ-104", first.Certification);
        Assert.Equal(new DateOnly(2025, 4, 2), first.EarnedOn);
        Assert.Equal(new DateOnly(2026, 4, 1), first.ExpiresOn);

        // Person IDs compare exactly: another case is another person.
        var second = Assert.IsType<CertificationRecord>(Assert.Single(rows[1].Records));
        Assert.Equal("ana.souza@contoso.example", second.PersonId);
        Assert.NotEqual(first.PersonId, second.PersonId);
        Assert.Equal("AZ-104", second.Certification);
        Assert.Null(second.ExpiresOn); // empty: never expires

        var third = Assert.IsType<CertificationRecord>(Assert.Single(rows[2].Records));
        Assert.Equal("MS-900", third.Certification);
        Assert.Equal(new DateOnly(2025, 1, 1), third.EarnedOn); // the UTC date of a date-time counts
    }

    [Theory]
    [InlineData("1,p1,AZ-104,2025-05-01,2025-04-30", "expiresOn: 2025-04-30 is before earnedOn 2025-05-01")]
    [InlineData("1,,AZ-104,2025-05-01,", "personId: required value is missing")]
    [InlineData("1,   ,AZ-104,2025-05-01,", "personId: required value is missing")]
    [InlineData("1,p1,,2025-05-01,", "certification: required value is missing")]
    [InlineData("1,p1,AZ 104,2025-05-01,", "certification: 'AZ 104' is not a certification code")]
    [InlineData("1,p1,AZ_104,2025-05-01,", "certification: 'AZ_104' is not a certification code")]
    [InlineData("1,p1,ÄZ-104,2025-05-01,", "certification: 'ÄZ-104' is not a certification code")]
    [InlineData("1,p1,ABCDEFGHIJKLMNOPQRSTUVWXYZ-1234567,2025-05-01,", "certification: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ-1234567' is longer than 32 characters")]
    [InlineData("1,p1,AZ-104,,", "earnedOn: required value is missing")]
    [InlineData("x1,p1,AZ-104,2025-05-01,", "partnerId: 'x1' is not a partner ID")]
    public void Bad_certification_rows_are_rejected_naming_the_column(string row, string reason)
    {
        var result = Assert.Single(Normalize(FeedSource.Certifications, $"partnerId,personId,certification,earnedOn,expiresOn\n{row}\n"));
        Assert.NotNull(result.Reason);
        Assert.StartsWith(reason, result.Reason);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(64, true)]
    [InlineData(65, false)]
    public void A_person_id_is_at_most_64_characters(int length, bool ok)
    {
        var id = new string('p', length);
        Assert.Equal(ok, ValueRules.ParsePersonId($"  {id} ", out var value) is null);
        if (ok) Assert.Equal(id, value);
    }

    [Fact]
    public void A_person_id_counts_a_character_outside_the_bmp_once()
    {
        var id = string.Concat(Enumerable.Repeat("😀", 64)); // 128 UTF-16 units, 64 characters
        Assert.Null(ValueRules.ParsePersonId(id, out var value));
        Assert.Equal(id, value);
        Assert.NotNull(ValueRules.ParsePersonId(id + "😀", out _));
    }

    [Theory]
    [InlineData("p\u0001x")]
    [InlineData("p\tx")]
    [InlineData("p\u007Fx")]
    [InlineData("p\u0085x")]
    public void A_person_id_with_a_control_character_is_rejected(string text)
    {
        var reason = ValueRules.ParsePersonId(text, out _);
        Assert.NotNull(reason);
        Assert.Contains("control character", reason);
        Assert.DoesNotContain(text, reason); // quoted with the control character escaped
    }

    [Fact]
    public void A_person_id_with_a_control_character_in_a_jsonl_row_is_rejected_naming_the_field()
    {
        var row = Assert.Single(Normalize(FeedSource.Certifications,
            "{\"partnerId\":1234567,\"personId\":\"ana\\u0007\",\"certification\":\"az-900\",\"earnedOn\":\"2025-01-01\"}\n", FeedFormat.JsonLines));
        Assert.StartsWith("personId: 'ana\\x07' contains a control character", row.Reason);
    }

    [Theory]
    [InlineData("az-104", "AZ-104")]
    [InlineData(" Dp-600 ", "DP-600")]
    [InlineData("X", "X")]
    [InlineData("SC-100-EXPERT-2025", "SC-100-EXPERT-2025")]
    public void Certification_codes_are_stored_upper_case(string text, string expected)
    {
        Assert.Null(ValueRules.ParseCertificationCode(text, out var code));
        Assert.Equal(expected, code);
    }

    [Fact]
    public void In_force_on_a_day_counts_the_earned_and_the_expiry_day()
    {
        var lineage = new FeedLineage("i", 1, DateTimeOffset.UnixEpoch);
        var c = new CertificationRecord(1, "p", "AZ-104", new DateOnly(2025, 4, 2), new DateOnly(2026, 4, 1), lineage);
        Assert.False(c.InForceOn(new DateOnly(2025, 4, 1)));
        Assert.True(c.InForceOn(new DateOnly(2025, 4, 2)));
        Assert.True(c.InForceOn(new DateOnly(2026, 4, 1)));
        Assert.False(c.InForceOn(new DateOnly(2026, 4, 2)));
        Assert.True((c with { ExpiresOn = null }).InForceOn(new DateOnly(2099, 1, 1)));
    }

    [Theory]
    [InlineData(FeedSource.Pal, "customerTenantId,workloads\n", "customerTenantId", "partnerId, linkedOn")]
    [InlineData(FeedSource.Certifications, "partnerId,expiresOn,person\n", "partnerId", "personId, certification, earnedOn")]
    public void A_file_without_required_columns_fails_as_a_whole_naming_every_one(FeedSource source, string header, string present, string missing)
    {
        var e = Assert.Throws<FeedFormatException>(() => FeedRowReader.Open(new MemoryStream(Encoding.UTF8.GetBytes(header)), source, FeedFormat.Csv, gzip: false));
        Assert.EndsWith($"lacks required column(s): {missing}.", e.Message);
        Assert.DoesNotContain(present, e.Message.Split("lacks")[1]);
    }

    [Theory]
    [InlineData("pal")]
    [InlineData("certifications")]
    public void The_new_sources_parse_by_name(string name)
    {
        Assert.True(FeedSources.TryParse(name.ToUpperInvariant(), out var source));
        Assert.Equal(name, source.Name());
        Assert.Contains(name, FeedSources.AllNames.Split(' '));
    }
}
