using System.Text.Json;
using Attribution.Domain;
using Attribution.Pipeline.Hosting;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;
using Attribution.Functions.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Attribution.Functions.Recalculation;

/// <summary>Body of POST /api/recalculations.</summary>
/// <param name="AllowEmpty">Start even when no usage falls in the month's window (otherwise 422).</param>
public sealed record RecalculationStartBody(string? AsOf, bool AllowEmpty = false);

/// <summary>202 body: where to follow the run.</summary>
public sealed record RecalculationAccepted(string InstanceId, string RunId, YearMonth AsOf, string StatusUrl);

/// <summary>`POST /api/recalculations` and `GET /api/recalculations/{id}` over any <see cref="IRecalculationInstances"/>.</summary>
/// <param name="records">The app's records: they set the default month and refuse an empty window.</param>
public sealed class RecalculationHttp(AppRulesSource rules, TimeProvider time, RecalculationSettings settings, RecordStore records, InstanceStartGate gate)
{
    [Function("StartRecalculation")]
    public Task<IActionResult> Start(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "recalculations")] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        StartAsync(request, new DurableFunctionsInstances(client, gate), cancellationToken);

    [Function("GetRecalculation")]
    public Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "recalculations/{id}")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        StatusAsync(request, id, new DurableFunctionsInstances(client, gate), cancellationToken);

    public async Task<IActionResult> StartAsync(HttpRequest request, IRecalculationInstances instances, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        RecalculationStartBody? body = null;
        if (request.ContentLength is null or > 0)
        {
            try
            {
                body = await JsonSerializer.DeserializeAsync<RecalculationStartBody>(request.Body, ApiJson.Options, cancellationToken);
            }
            catch (JsonException e)
            {
                return Problems.BadRequest($"The body is not valid JSON: {e.Message}", request);
            }
        }
        var starter = new RecalculationStarter(instances, time, settings, records);
        YearMonth asOf;
        if (body?.AsOf is { } text)
        {
            if (!YearMonth.TryParse(text, out asOf)) return Problems.BadRequest($"asOf '{text}' is not a month in the form yyyy-MM.", request);
            if (RecalculationStarter.AsOfProblem(asOf) is { } problem) return Problems.BadRequest(problem, request);
        }
        else
        {
            asOf = await starter.DefaultAsOfAsync(cancellationToken);
        }
        StartOutcome outcome;
        try
        {
            outcome = await starter.StartAsync(asOf, rules.Json, cancellationToken: cancellationToken, allowEmpty: body?.AllowEmpty ?? false);
        }
        catch (EmptyWindowException e)
        {
            // Well-formed but not worth doing as asked: 422, and the body's allowEmpty overrides it.
            return Problems.Unprocessable($"{e.Message[..^1]} (\"allowEmpty\": true).", request);
        }
        if (!outcome.Started)
            return Problems.Conflict($"A recalculation for {outcome.AsOf} is already running (instance {outcome.InstanceId}).", request);
        var statusUrl = $"{request.Scheme}://{request.Host}/api/recalculations/{Uri.EscapeDataString(outcome.InstanceId)}";
        request.HttpContext.Response.Headers.Location = statusUrl;
        return new ObjectResult(new RecalculationAccepted(outcome.InstanceId, outcome.RunId!, outcome.AsOf, statusUrl)) { StatusCode = StatusCodes.Status202Accepted };
    }

    public static async Task<IActionResult> StatusAsync(HttpRequest request, string id, IRecalculationInstances instances, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > 100) return Problems.BadRequest("The recalculation id is missing or too long.", request);
        var status = await instances.GetStatusAsync(id, cancellationToken);
        if (status is null) return Problems.NotFound($"No recalculation instance '{id}'.", request);
        return new OkObjectResult(new
        {
            instanceId = status.InstanceId,
            runtimeStatus = status.State.ToString(),
            asOf = status.Input?.AsOf,
            runId = status.Input?.RunId,
            createdAt = status.CreatedAt,
            lastUpdatedAt = status.LastUpdatedAt,
            output = status.Output,
            failure = status.Failure,
        });
    }
}

/// <summary>JSON of the API: camelCase in and out.</summary>
public static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
