using Attribution.Domain;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Attribution.Functions.Api;

/// <summary>RFC 9457 problem-details responses: every error of the API has this shape.</summary>
public static class Problems
{
    public static ObjectResult Create(int status, string title, string detail, string? instance = null)
    {
        var problem = new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Instance = instance,
            Type = $"https://httpstatuses.io/{status}",
        };
        var result = new ObjectResult(problem) { StatusCode = status };
        result.ContentTypes.Add("application/problem+json");
        return result;
    }

    public static ObjectResult BadRequest(string detail, HttpRequest? request = null) =>
        Create(StatusCodes.Status400BadRequest, "Bad request", detail, request?.Path);

    public static ObjectResult NotFound(string detail, HttpRequest? request = null) =>
        Create(StatusCodes.Status404NotFound, "Not found", detail, request?.Path);

    public static ObjectResult Gone(string detail, HttpRequest? request = null) =>
        Create(StatusCodes.Status410Gone, "Gone", detail, request?.Path);

    public static ObjectResult Conflict(string detail, HttpRequest? request = null) =>
        Create(StatusCodes.Status409Conflict, "Conflict", detail, request?.Path);

    /// <summary>The request is well formed but refused as asked (e.g. a recalculation of a month with no usage).</summary>
    public static ObjectResult Unprocessable(string detail, HttpRequest? request = null) =>
        Create(StatusCodes.Status422UnprocessableEntity, "Unprocessable request", detail, request?.Path);

    /// <summary>The run a read resolved cannot be read as it was computed (its snapshot or its rules are missing).</summary>
    public static ObjectResult RunUnreadable(string detail, HttpRequest? request = null) =>
        Create(StatusCodes.Status500InternalServerError, "Run results unreadable", detail, request?.Path);
}

/// <summary>Query-string values every read route parses the same way (one message for a bad month).</summary>
internal static class QueryValues
{
    /// <summary>An optional yyyy-MM query value: absent is null; anything else that is not a month is a 400 problem.</summary>
    public static bool TryMonth(HttpRequest request, string name, out YearMonth? month, out IActionResult problem)
    {
        month = null;
        problem = null!;
        var text = request.Query[name].ToString();
        if (text.Length == 0) return true;
        if (YearMonth.TryParse(text, out var m))
        {
            month = m;
            return true;
        }
        problem = Problems.BadRequest($"{name} '{text}' is not a month in the form yyyy-MM.", request);
        return false;
    }
}
