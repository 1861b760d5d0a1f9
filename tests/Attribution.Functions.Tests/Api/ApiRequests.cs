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
}
