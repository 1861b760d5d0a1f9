using System.Globalization;
using Attribution.Domain;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Attribution.Functions.Api;

/// <summary>
/// "What changed" (function-key auth): between two published months, or a scenario run and the published run of its
/// month. Bad input is a 400 problem, a month without a published run (or no earlier month) a 404, and a run whose
/// snapshot or rules cannot be found a 500 naming the run.
/// </summary>
public sealed class ChangesApi(CreditChanges changes)
{
    public const int MaxTop = 1000;

    [Function("GetChanges")]
    public Task<IActionResult> Changes(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "changes")] HttpRequest request,
        CancellationToken cancellationToken) => ChangesAsync(request, cancellationToken);

    public async Task<IActionResult> ChangesAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!QueryValues.TryMonth(request, "asOf", out var asOf, out var bad) || !QueryValues.TryMonth(request, "since", out var since, out bad)) return bad;
        var scenario = request.Query["scenario"].ToString();
        if (scenario.Length > 0 && (scenario.Length > 40 || !scenario.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            return Problems.BadRequest("scenario takes 1-40 letters, digits, '-' or '_'.", request);
        var top = CreditChanges.DefaultTop;
        var topText = request.Query["top"].ToString();
        if (topText.Length > 0 && (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top is < 1 or > MaxTop))
            return Problems.BadRequest($"top '{topText}' must be a whole number from 1 to {MaxTop}.", request);

        try
        {
            var (from, to) = await changes.ResolveAsync(asOf, since, scenario.Length == 0 ? null : scenario, cancellationToken);
            return new OkObjectResult(await changes.CompareAsync(from, to, top, cancellationToken));
        }
        catch (ComparisonUnavailableException e)
        {
            return e.IsBadRequest ? Problems.BadRequest(e.Message, request) : Problems.NotFound(e.Message, request);
        }
        catch (RunUnreadableException e)
        {
            return Problems.RunUnreadable(e.Message, request);
        }
    }
}
