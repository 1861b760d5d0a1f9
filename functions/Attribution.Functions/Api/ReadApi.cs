using System.Globalization;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;
using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Attribution.Functions.Api;

/// <summary>A page of a subscription's partners.</summary>
public sealed record SubscriptionPartnersPage(string SubscriptionId, YearMonth AsOf, string RunId, int TotalPartners, IReadOnlyList<SubscriptionPartnerView> Partners, string? ContinuationToken);

/// <summary>
/// The read API for downstream systems (function-key auth). Every read resolves the published run of the asOf
/// (latest when omitted) and reads that run's snapshot; a continuation page reads the run its first page came from.
/// Bad input is a 400 problem, unknown things a 404, a continuation of a run that is gone a 410, and a run whose
/// snapshot or rules cannot be found a 500 naming the run (never an answer from another run or other rules).
/// </summary>
public sealed class ReadApi(CreditReader reader, EvidenceService explanations, ScoreReader scores)
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;

    [Function("GetPartnerCredit")]
    public Task<IActionResult> PartnerCredit(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "partners/{partnerId}/credit")] HttpRequest request,
        string partnerId,
        CancellationToken cancellationToken) => PartnerCreditAsync(request, partnerId, cancellationToken);

    [Function("GetPartnerEvidence")]
    public Task<IActionResult> PartnerEvidence(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "partners/{partnerId}/evidence")] HttpRequest request,
        string partnerId,
        CancellationToken cancellationToken) => PartnerEvidenceAsync(request, partnerId, cancellationToken);

    [Function("GetSubscriptionPartners")]
    public Task<IActionResult> SubscriptionPartners(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "subscriptions/{subscriptionId}/partners")] HttpRequest request,
        string subscriptionId,
        CancellationToken cancellationToken) => SubscriptionPartnersAsync(request, subscriptionId, cancellationToken);

    public async Task<IActionResult> PartnerCreditAsync(HttpRequest request, string partnerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ValueRules.ParsePartnerId(partnerId, out var id) is { } problem) return Problems.BadRequest($"partnerId {problem}.", request);
        if (!QueryValues.TryMonth(request, "asOf", out var asOf, out var bad)) return bad;
        var scope = request.Query["scope"].ToString();
        if (scope.Length > 0 && scope is not ("location" or "global"))
            return Problems.BadRequest($"scope '{scope}' must be 'location' or 'global'.", request);
        var run = await reader.ResolveRunAsync(asOf, null, cancellationToken);
        if (run is null) return NothingPublished(asOf, request);
        PartnerCreditView? view;
        try
        {
            view = await reader.PartnerAsync(id, run, scope == "global", cancellationToken);
        }
        catch (RunUnreadableException e)
        {
            return Problems.RunUnreadable(e.Message, request);
        }
        return view is null
            ? Problems.NotFound($"{(scope == "global" ? "Global partner" : "Partner")} {id} has no credit as of {run.AsOf}.", request)
            : new OkObjectResult(view);
    }

    public async Task<IActionResult> PartnerEvidenceAsync(HttpRequest request, string partnerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ValueRules.ParsePartnerId(partnerId, out var id) is { } problem) return Problems.BadRequest($"partnerId {problem}.", request);
        if (!QueryValues.TryMonth(request, "asOf", out var asOf, out var bad)) return bad;
        var competency = request.Query["competency"].ToString();
        if (competency.Length == 0) return Problems.BadRequest("The query parameter 'competency' is required.", request);
        if (!TryPage(request, ContinuationToken.EvidenceList(id, competency), out var position, out var pageSize, out bad)) return bad;
        var (run, problem2) = await RunToReadAsync(request, asOf, position, cancellationToken);
        if (run is null) return problem2!;
        EvidenceView? evidence;
        try
        {
            (evidence, var unreadable) = await ReadPageAsync(request, position, run,
                () => explanations.ExplainAsync(id, competency, run, position?.Offset ?? 0, pageSize, cancellationToken), cancellationToken);
            if (unreadable is not null) return unreadable;
        }
        catch (UnknownNameException e)
        {
            return Problems.BadRequest(e.Message, request);
        }
        return evidence is null
            ? Problems.NotFound($"Partner {id} was credited on no usage as of {run.AsOf}.", request)
            : new OkObjectResult(evidence);
    }

    [Function("GetPartnerScoreCustomers")]
    public Task<IActionResult> PartnerScoreCustomers(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "partners/{partnerId}/score/customers")] HttpRequest request,
        string partnerId,
        CancellationToken cancellationToken) => PartnerScoreCustomersAsync(request, partnerId, cancellationToken);

    /// <summary>
    /// The customer eligibility view (§7.4), paged like the other lists: `designation` is required; `counted=yes|no`
    /// with `condition=now|yearAgo|deployment` (default now) keeps the customers counted (or not) by that condition.
    /// </summary>
    public async Task<IActionResult> PartnerScoreCustomersAsync(HttpRequest request, string partnerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ValueRules.ParsePartnerId(partnerId, out var id) is { } problem) return Problems.BadRequest($"partnerId {problem}.", request);
        if (!QueryValues.TryMonth(request, "asOf", out var asOf, out var bad)) return bad;
        var designation = request.Query["designation"].ToString();
        if (designation.Length == 0) return Problems.BadRequest("The query parameter 'designation' is required.", request);
        var countedText = request.Query["counted"].ToString();
        if (countedText is not ("" or "yes" or "no")) return Problems.BadRequest($"counted '{countedText}' must be 'yes' or 'no'.", request);
        bool? counted = countedText.Length == 0 ? null : countedText == "yes";
        var conditionText = request.Query["condition"].ToString();
        CustomerCondition condition;
        switch (conditionText)
        {
            case "" or "now": condition = CustomerCondition.Now; break;
            case "yearAgo": condition = CustomerCondition.YearAgo; break;
            case "deployment": condition = CustomerCondition.Deployment; break;
            default: return Problems.BadRequest($"condition '{conditionText}' must be 'now', 'yearAgo' or 'deployment'.", request);
        }
        var list = string.Create(CultureInfo.InvariantCulture, $"customers/{id}/{designation.Trim().ToUpperInvariant()}/{counted}/{condition}");
        if (!TryPage(request, list, out var position, out var pageSize, out bad)) return bad;
        var (run, problem2) = await RunToReadAsync(request, asOf, position, cancellationToken);
        if (run is null) return problem2!;
        CustomerEligibilityPage? view;
        try
        {
            (view, var unreadable) = await ReadPageAsync(request, position, run,
                () => scores.CustomersAsync(id, run, designation, counted, condition, cancellationToken), cancellationToken);
            if (unreadable is not null) return unreadable;
        }
        catch (UnknownNameException e)
        {
            return Problems.BadRequest(e.Message, request);
        }
        if (view is null) return Problems.NotFound($"Partner {id} has no capability score for {designation} as of {run.AsOf}.", request);
        var offset = position?.Offset ?? 0;
        var page = view.Customers.Skip(offset).Take(pageSize).ToList();
        var next = offset + page.Count < view.Customers.Count ? ContinuationToken.Encode(list, run, offset + page.Count) : null;
        return new OkObjectResult(view with { Customers = page, ContinuationToken = next });
    }

    public async Task<IActionResult> SubscriptionPartnersAsync(HttpRequest request, string subscriptionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ValueRules.ParseGuid(subscriptionId, out var id) is { } problem) return Problems.BadRequest($"subscriptionId {problem}.", request);
        if (!QueryValues.TryMonth(request, "asOf", out var asOf, out var bad)) return bad;
        var list = ContinuationToken.SubscriptionList(id);
        if (!TryPage(request, list, out var position, out var pageSize, out bad)) return bad;
        var (run, problem2) = await RunToReadAsync(request, asOf, position, cancellationToken);
        if (run is null) return problem2!;
        var (view, unreadable) = await ReadPageAsync(request, position, run,
            () => reader.SubscriptionAsync(id, run, cancellationToken), cancellationToken);
        if (unreadable is not null) return unreadable;
        if (view is null) return Problems.NotFound($"Subscription {id} has no credited partners as of {run.AsOf}.", request);
        var offset = position?.Offset ?? 0;
        var page = view.Partners.Skip(offset).Take(pageSize).ToList();
        var next = offset + page.Count < view.Partners.Count ? ContinuationToken.Encode(list, run, offset + page.Count) : null;
        return new OkObjectResult(new SubscriptionPartnersPage(view.SubscriptionId, view.AsOf, run.RunId, view.Partners.Count, page, next));
    }

    /// <summary>
    /// The run a read uses: without a continuation token, the published run of the asOf; with one, the run the first
    /// page came from — so pages never mix runs even when a new run is published in between. A token of a run that is
    /// gone (its snapshot was cleaned up after two newer publishes) is 410 Gone: start again without a token.
    /// </summary>
    private async Task<(RecalculationRun? Run, ObjectResult? Problem)> RunToReadAsync(HttpRequest request, YearMonth? asOf, ContinuationPosition? position, CancellationToken cancellationToken)
    {
        if (position is null)
        {
            var published = await reader.ResolveRunAsync(asOf, null, cancellationToken);
            return published is null ? (null, NothingPublished(asOf, request)) : (published, null);
        }
        if (asOf is { } month && month != position.AsOf)
            return (null, Problems.BadRequest($"continuationToken belongs to asOf {position.AsOf}, not {month}.", request));
        var run = await reader.RunOfTokenAsync(position, cancellationToken);
        return run is null ? (null, Republished(position, request)) : (run, null);
    }

    /// <summary>
    /// A continuation page of an older run may race that run's clean-up, which removes the run's manifest before its
    /// files: the manifest still there after the read means every file read was there. Null when it is.
    /// </summary>
    /// <summary>
    /// Reads one page of a run. A continuation page is whole or a problem: if the run's clean-up began while it was read
    /// (a file listed a moment ago is gone, or the manifest is gone afterwards), the answer is "republished", never part of the run.
    /// </summary>
    private async Task<(T? Value, ObjectResult? Problem)> ReadPageAsync<T>(HttpRequest request, ContinuationPosition? position, RecalculationRun run,
        Func<Task<T?>> read, CancellationToken cancellationToken) where T : class
    {
        T? value;
        try
        {
            value = await read();
        }
        catch (RunUnreadableException e)
        {
            return (null, Problems.RunUnreadable(e.Message, request));
        }
        catch (RequestFailedException e) when (e.Status == 404 && position is not null)
        {
            if (await StillThereAsync(request, position, run, cancellationToken) is { } deleted) return (null, deleted);
            throw;
        }
        return await StillThereAsync(request, position, run, cancellationToken) is { } gone ? (null, gone) : (value, null);
    }

    private async Task<ObjectResult?> StillThereAsync(HttpRequest request, ContinuationPosition? position, RecalculationRun run, CancellationToken cancellationToken) =>
        position is null || await reader.IsReadableAsync(run, cancellationToken) ? null : Republished(position, request);

    private static ObjectResult Republished(ContinuationPosition position, HttpRequest request) =>
        Problems.Gone($"The results of {position.AsOf} were republished: run {position.RunId}, which this continuationToken pages, is no longer available. " +
            "Start again from the first page (without continuationToken).", request);

    private static ObjectResult NothingPublished(YearMonth? asOf, HttpRequest request) =>
        Problems.NotFound(asOf is null ? "No recalculation has been published yet." : $"No recalculation has been published for {asOf}.", request);

    /// <param name="list">The list the request pages (<see cref="ContinuationToken.EvidenceList"/> or <see cref="ContinuationToken.SubscriptionList"/>): a token of another list is refused.</param>
    private static bool TryPage(HttpRequest request, string list, out ContinuationPosition? position, out int pageSize, out IActionResult problem)
    {
        problem = null!;
        position = null;
        pageSize = DefaultPageSize;
        var size = request.Query["pageSize"].ToString();
        if (size.Length > 0 && (!int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > MaxPageSize))
        {
            problem = Problems.BadRequest($"pageSize '{size}' must be a whole number from 1 to {MaxPageSize}.", request);
            return false;
        }
        var token = request.Query["continuationToken"].ToString();
        if (!ContinuationToken.TryDecode(token, out position))
        {
            problem = Problems.BadRequest("continuationToken is not one this API issued.", request);
            return false;
        }
        if (position is not null && !string.Equals(position.List, list, StringComparison.OrdinalIgnoreCase))
        {
            problem = Problems.BadRequest($"continuationToken pages another list ({position.List}), not this one ({list}).", request);
            position = null;
            return false;
        }
        return true;
    }
}
