using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Attribution.Functions.Tests.Api;

/// <summary>Requests and result checks shared by the HTTP API tests.</summary>
internal static class ApiRequests
{
    public static HttpRequest Get(string path, string query = "")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query.Length == 0 ? "" : "?" + query);
        return context.Request;
    }

    public static T Ok<T>(IActionResult result) => Assert.IsType<T>(Assert.IsType<OkObjectResult>(result).Value);

    /// <summary>A problem-details response (RFC 9457) with this status, its body saying so too.</summary>
    public static void AssertProblem(IActionResult result, int status) => Assert.Equal(status, ProblemOf(result, status).Status);

    /// <summary>A problem-details response with this status whose detail says <paramref name="detail"/>.</summary>
    public static void AssertProblem(IActionResult result, int status, string detail) =>
        Assert.Contains(detail, ProblemOf(result, status).Detail, StringComparison.Ordinal);

    private static ProblemDetails ProblemOf(IActionResult result, int status)
    {
        var obj = Assert.IsType<ObjectResult>(result);
        Assert.Equal(status, obj.StatusCode);
        Assert.Contains("application/problem+json", obj.ContentTypes);
        return Assert.IsType<ProblemDetails>(obj.Value);
    }
}
