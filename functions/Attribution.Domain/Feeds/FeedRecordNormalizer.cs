using Attribution.Domain;
using Attribution.Domain.Rules;

namespace Attribution.Domain.Feeds;

/// <summary>Receives the canonical records of accepted rows.</summary>
public interface IFeedRecordSink
{
    void Add(PartnerRecord partner, FeedLineage lineage);
    void Add(DporEvent dporEvent);
    void Add(Association association);
    void Add(UsageRecord usage);
    void Add(CertificationRecord certification);
}

/// <summary>
/// Turns one feed row into canonical records, applying the value rules of §2.2–2.3.
/// The same code serves files (CSV, JSONL) and Service Bus records.
/// </summary>
public sealed class FeedRecordNormalizer(FeedSource source, ProductWorkloadMap products, string ingestionId, DateTimeOffset ingestedAt)
{
    public const int MaxTextLength = 1000;

    public FeedSource Source { get; } = source;

    /// <summary>Normalizes the reader's current row into the sink. Returns null when accepted, else the rejection reason.</summary>
    public string? Normalize(FeedRowReader row, IFeedRecordSink sink)
    {
        if (row.RowProblem is { } problem) return problem;
        var lineage = new FeedLineage(ingestionId, row.Line, ingestedAt);
        return Source switch
        {
            FeedSource.Partners => Partner(row, lineage, sink),
            FeedSource.Dpor => Dpor(row, lineage, sink),
            FeedSource.Sales => Sales(row, lineage, sink),
            FeedSource.Csp => Csp(row, lineage, sink),
            FeedSource.FastTrack => Scoped(row, lineage, sink, AssociationSource.FastTrack, FeedColumn.EngagementStart, FeedColumn.EngagementEnd),
            FeedSource.Dap => Scoped(row, lineage, sink, AssociationSource.Dap, FeedColumn.GrantedOn, FeedColumn.RevokedOn),
            FeedSource.Pal => Pal(row, lineage, sink),
            FeedSource.Certifications => Certification(row, lineage, sink),
            FeedSource.Usage => Usage(row, lineage, sink),
            _ => throw new InvalidOperationException($"Unknown source {Source}"),
        };
    }

    private static string? Partner(FeedRowReader row, FeedLineage lineage, IFeedRecordSink sink)
    {
        if (RequiredPartner(row, FeedColumn.PartnerId, out var partnerId) is { } e1) return e1;
        var global = partnerId;
        if (!row[FeedColumn.GlobalPartnerId].Trim().IsEmpty && Partner(row, FeedColumn.GlobalPartnerId, out global) is { } e2) return e2;
        if (OptionalText(row, FeedColumn.PartnerName, out var name) is { } e3) return e3;
        if (OptionalText(row, FeedColumn.Country, out var country) is { } e4) return e4;
        sink.Add(new PartnerRecord(partnerId, global, name, country), lineage);
        return null;
    }

    private static string? Dpor(FeedRowReader row, FeedLineage lineage, IFeedRecordSink sink)
    {
        if (RequiredGuid(row, FeedColumn.SubscriptionId, out var subscription) is { } e1) return e1;
        if (RequiredGuid(row, FeedColumn.CustomerTenantId, out var tenant) is { } e2) return e2;
        if (RequiredPartner(row, FeedColumn.PartnerId, out var partner) is { } e3) return e3;
        if (RequiredDate(row, FeedColumn.EffectiveDate, out var effective) is { } e4) return e4;
        var actionText = row[FeedColumn.Action].Trim();
        DporAction action;
        if (actionText.IsEmpty || actionText.Equals("set", StringComparison.OrdinalIgnoreCase)) action = DporAction.Set;
        else if (actionText.Equals("remove", StringComparison.OrdinalIgnoreCase)) action = DporAction.Remove;
        else return $"{row.Label(FeedColumn.Action)}: '{ValueRules.Show(actionText)}' is not an action (expected set or remove)";
        sink.Add(new DporEvent(subscription, tenant, partner, effective, action, lineage));
        return null;
    }

    private static string? Sales(FeedRowReader row, FeedLineage lineage, IFeedRecordSink sink)
    {
        if (RequiredGuid(row, FeedColumn.CustomerTenantId, out var tenant) is { } e1) return e1;
        if (RequiredPartner(row, FeedColumn.PartnerId, out var partner) is { } e2) return e2;
        var programText = row[FeedColumn.Program].Trim();
        SalesProgram program;
        if (programText.IsEmpty) return Missing(row, FeedColumn.Program);
        if (programText.Equals("EA", StringComparison.OrdinalIgnoreCase)) program = SalesProgram.EA;
        else if (programText.Equals("Open", StringComparison.OrdinalIgnoreCase)) program = SalesProgram.Open;
        else return $"{row.Label(FeedColumn.Program)}: '{ValueRules.Show(programText)}' is not a program (expected EA or Open)";
        if (Interval(row, FeedColumn.ValidFrom, FeedColumn.ValidTo, out var from, out var to) is { } e3) return e3;
        Guid? subscription = null;
        if (!row[FeedColumn.SubscriptionId].Trim().IsEmpty)
        {
            if (Guid(row, FeedColumn.SubscriptionId, out var s) is { } e4) return e4;
            subscription = s;
        }
        if (OptionalText(row, FeedColumn.AgreementId, out var agreement) is { } e5) return e5;
        sink.Add(new Association(AssociationSource.Sales, partner, tenant, subscription, WorkloadSet.Empty, from, to, lineage)
        {
            Program = program,
            AgreementId = agreement,
        });
        return null;
    }

    private string? Csp(FeedRowReader row, FeedLineage lineage, IFeedRecordSink sink)
    {
        if (RequiredGuid(row, FeedColumn.CustomerTenantId, out var tenant) is { } e1) return e1;
        if (RequiredGuid(row, FeedColumn.SubscriptionId, out var subscription) is { } e2) return e2;
        if (RequiredPartner(row, FeedColumn.PartnerId, out var partner) is { } e3) return e3;
        if (Interval(row, FeedColumn.ValidFrom, FeedColumn.ValidTo, out var from, out var to) is { } e4) return e4;
        long? reseller = null;
        var resellerText = row[FeedColumn.ResellerPartnerId].Trim();
        if (!resellerText.IsEmpty)
        {
            if (Partner(row, FeedColumn.ResellerPartnerId, out var r) is { } e5) return e5;
            // Empty, 0 or the provider itself: no indirect reseller on this line.
            if (r != 0 && r != partner) reseller = r;
        }
        WorkloadSet workloads;
        if (row.Schema.IsReconciliationExport)
        {
            var product = row[FeedColumn.ProductName].Trim();
            if (product.IsEmpty) return Missing(row, FeedColumn.ProductName);
            if (!products.TryMap(product, out workloads))
                return $"{row.Label(FeedColumn.ProductName)}: product '{ValueRules.Show(product)}' is not in the rules' product-to-workload map";
        }
        else if (WorkloadList(row, FeedColumn.Workloads, required: false, out workloads) is { } e6) return e6;

        sink.Add(new Association(AssociationSource.Csp, partner, tenant, subscription, workloads, from, to, lineage) { RelatedPartnerId = reseller });
        if (reseller is { } resellerId)
            sink.Add(new Association(AssociationSource.Csp, resellerId, tenant, subscription, workloads, from, to, lineage) { RelatedPartnerId = partner });
        return null;
    }

    private static string? Scoped(FeedRowReader row, FeedLineage lineage, IFeedRecordSink sink, AssociationSource source, FeedColumn start, FeedColumn end)
    {
        if (RequiredGuid(row, FeedColumn.CustomerTenantId, out var tenant) is { } e1) return e1;
        if (RequiredPartner(row, FeedColumn.PartnerId, out var partner) is { } e2) return e2;
        if (WorkloadList(row, FeedColumn.Workloads, required: true, out var workloads) is { } e3) return e3;
        if (Interval(row, start, end, out var from, out var to) is { } e4) return e4;
        sink.Add(new Association(source, partner, tenant, null, workloads, from, to, lineage));
        return null;
    }

    /// <summary>A Partner Admin Link: an association like the others, scoped to the tenant or one subscription, and to workloads.</summary>
    private static string? Pal(FeedRowReader row, FeedLineage lineage, IFeedRecordSink sink)
    {
        if (RequiredGuid(row, FeedColumn.CustomerTenantId, out var tenant) is { } e1) return e1;
        if (RequiredPartner(row, FeedColumn.PartnerId, out var partner) is { } e2) return e2;
        if (Interval(row, FeedColumn.LinkedOn, FeedColumn.UnlinkedOn, out var from, out var to) is { } e3) return e3;
        Guid? subscription = null;
        if (!row[FeedColumn.SubscriptionId].Trim().IsEmpty)
        {
            if (Guid(row, FeedColumn.SubscriptionId, out var s) is { } e4) return e4;
            subscription = s;
        }
        if (WorkloadList(row, FeedColumn.Workloads, required: false, out var workloads) is { } e5) return e5;
        sink.Add(new Association(AssociationSource.Pal, partner, tenant, subscription, workloads, from, to, lineage));
        return null;
    }

    private static string? Certification(FeedRowReader row, FeedLineage lineage, IFeedRecordSink sink)
    {
        if (RequiredPartner(row, FeedColumn.PartnerId, out var partner) is { } e1) return e1;
        if (row[FeedColumn.PersonId].Trim().IsEmpty) return Missing(row, FeedColumn.PersonId);
        if (ValueRules.ParsePersonId(row[FeedColumn.PersonId], out var person) is { } e2) return $"{row.Label(FeedColumn.PersonId)}: {e2}";
        if (row[FeedColumn.Certification].Trim().IsEmpty) return Missing(row, FeedColumn.Certification);
        if (ValueRules.ParseCertificationCode(row[FeedColumn.Certification], out var code) is { } e3) return $"{row.Label(FeedColumn.Certification)}: {e3}";
        if (Interval(row, FeedColumn.EarnedOn, FeedColumn.ExpiresOn, out var earned, out var expires) is { } e4) return e4;
        sink.Add(new CertificationRecord(partner, person, code, earned, expires, lineage));
        return null;
    }

    private static string? Usage(FeedRowReader row, FeedLineage lineage, IFeedRecordSink sink)
    {
        if (RequiredGuid(row, FeedColumn.CustomerTenantId, out var tenant) is { } e1) return e1;
        if (RequiredGuid(row, FeedColumn.SubscriptionId, out var subscription) is { } e2) return e2;
        var workloadText = row[FeedColumn.Workload].Trim();
        if (workloadText.IsEmpty) return Missing(row, FeedColumn.Workload);
        if (!WorkloadNames.TryParse(workloadText, out var workload))
            return $"{row.Label(FeedColumn.Workload)}: '{ValueRules.Show(workloadText)}' is not a known workload";
        var monthText = row[FeedColumn.Month];
        if (monthText.Trim().IsEmpty) return Missing(row, FeedColumn.Month);
        if (ValueRules.ParseMonth(monthText, out var month) is { } e3) return $"{row.Label(FeedColumn.Month)}: {e3}";
        double? revenue = null;
        long? users = null;
        var revenueText = row[FeedColumn.ConsumedRevenueUsd];
        if (!revenueText.Trim().IsEmpty)
        {
            if (ValueRules.ParseAmount(revenueText, out var r) is { } e4) return $"{row.Label(FeedColumn.ConsumedRevenueUsd)}: {e4}";
            revenue = r;
        }
        var usersText = row[FeedColumn.ActiveUsers];
        if (!usersText.Trim().IsEmpty)
        {
            if (ValueRules.ParseCount(usersText, out var u) is { } e5) return $"{row.Label(FeedColumn.ActiveUsers)}: {e5}";
            users = u;
        }
        if (revenue is null && users is null)
            return "consumedRevenueUsd, activeUsers: a usage row needs at least one of the two";
        sink.Add(new UsageRecord(tenant, subscription, workload, month, revenue, users, lineage));
        return null;
    }

    private static string Missing(FeedRowReader row, FeedColumn column) => $"{row.Label(column)}: required value is missing";

    private static string? RequiredGuid(FeedRowReader row, FeedColumn column, out Guid value)
    {
        value = default;
        return row[column].Trim().IsEmpty ? Missing(row, column) : Guid(row, column, out value);
    }

    private static string? Guid(FeedRowReader row, FeedColumn column, out Guid value) =>
        ValueRules.ParseGuid(row[column], out value) is { } e ? $"{row.Label(column)}: {e}" : null;

    private static string? RequiredPartner(FeedRowReader row, FeedColumn column, out long value)
    {
        value = default;
        return row[column].Trim().IsEmpty ? Missing(row, column) : Partner(row, column, out value);
    }

    private static string? Partner(FeedRowReader row, FeedColumn column, out long value)
    {
        var problem = ValueRules.ParsePartnerId(row[column], out var id);
        value = id.Value;
        return problem is null ? null : $"{row.Label(column)}: {problem}";
    }

    private static string? RequiredDate(FeedRowReader row, FeedColumn column, out DateOnly value)
    {
        value = default;
        if (row[column].Trim().IsEmpty) return Missing(row, column);
        return ValueRules.ParseDate(row[column], out value) is { } e ? $"{row.Label(column)}: {e}" : null;
    }

    /// <summary>A start date and an optional inclusive end date that is not before it.</summary>
    private static string? Interval(FeedRowReader row, FeedColumn startColumn, FeedColumn endColumn, out DateOnly start, out DateOnly? end)
    {
        end = null;
        if (RequiredDate(row, startColumn, out start) is { } e1) return e1;
        if (row[endColumn].Trim().IsEmpty) return null;
        if (ValueRules.ParseDate(row[endColumn], out var e) is { } e2) return $"{row.Label(endColumn)}: {e2}";
        if (e < start)
            return $"{row.Label(endColumn)}: {e:yyyy-MM-dd} is before {row.Label(startColumn)} {start:yyyy-MM-dd}";
        end = e;
        return null;
    }

    private static string? WorkloadList(FeedRowReader row, FeedColumn column, bool required, out WorkloadSet workloads)
    {
        var text = row[column];
        if (!WorkloadNames.TryParseList(text, out workloads, out var unknown))
            return $"{row.Label(column)}: '{ValueRules.Show(unknown)}' is not a known workload";
        return required && workloads.IsEmpty ? Missing(row, column) : null;
    }

    private static string? OptionalText(FeedRowReader row, FeedColumn column, out string? value)
    {
        var text = row[column].Trim();
        value = null;
        if (text.IsEmpty) return null;
        if (text.Length > MaxTextLength) return $"{row.Label(column)}: longer than {MaxTextLength} characters";
        value = text.ToString();
        return null;
    }
}
