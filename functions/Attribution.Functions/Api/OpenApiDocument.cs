using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Attribution.Functions.Api;

/// <summary>Serves the OpenAPI description of the HTTP API (kept beside the code, checked by a test against the bindings).</summary>
public static class OpenApiDocument
{
    private static readonly Lazy<string> Json = new(() =>
    {
        using var stream = typeof(OpenApiDocument).Assembly.GetManifestResourceStream("Attribution.Functions.openapi.json")
            ?? throw new InvalidOperationException("openapi.json is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static string Text => Json.Value;

    [Function("GetOpenApiDocument")]
    public static IActionResult Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest request) =>
        new ContentResult { Content = Text, ContentType = "application/json", StatusCode = StatusCodes.Status200OK };
}
