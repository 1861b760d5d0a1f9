using Attribution.Pipeline.Hosting;
using Attribution.Functions;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
// The one composition root (the CLI and the tests use it too): options validated at start, clients from configuration.
builder.Services.AddAttribution(builder.Configuration);
builder.Services.AddAttributionTelemetry(builder.Configuration);
builder.Build().Run();
