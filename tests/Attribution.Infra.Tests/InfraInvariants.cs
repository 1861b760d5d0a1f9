using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Attribution.Infra.Tests;

/// <summary>
/// The security invariants of the compiled infrastructure. Each check returns the violations it
/// finds (empty = holds), so the tests can assert both that the real template is clean and that a
/// deliberately broken copy is caught.
/// </summary>
public static partial class InfraInvariants
{
    public const string StorageAccount = "Microsoft.Storage/storageAccounts";
    public const string Site = "Microsoft.Web/sites";
    public const string SiteConfig = "Microsoft.Web/sites/config";
    public const string ServerFarm = "Microsoft.Web/serverfarms";
    public const string RoleAssignment = "Microsoft.Authorization/roleAssignments";
    public const string ServiceBusNamespace = "Microsoft.ServiceBus/namespaces";
    public const string ServiceBusQueue = "Microsoft.ServiceBus/namespaces/queues";
    public const string AppInsights = "Microsoft.Insights/components";
    public const string LogAnalytics = "Microsoft.OperationalInsights/workspaces";
    public const string SystemTopic = "Microsoft.EventGrid/systemTopics";

    /// <summary>Built-in roles the template may assign, and the one resource type each may be scoped to.</summary>
    public static readonly IReadOnlyDictionary<string, (string Role, string ScopeType)> AllowedRoles =
        new Dictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase)
        {
            ["b7e6dc6d-f1e8-4753-8033-0f276bb0955b"] = ("Storage Blob Data Owner", StorageAccount),
            ["ba92f5b4-2d11-453d-a403-e96b0029c9fe"] = ("Storage Blob Data Contributor", StorageAccount),
            ["974c5e8b-45b9-4653-ba55-5f855dd0fb88"] = ("Storage Queue Data Contributor", StorageAccount),
            ["0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"] = ("Storage Table Data Contributor", StorageAccount),
            ["76199698-9eea-4c19-bc75-cec21354c6b6"] = ("Storage Table Data Reader", StorageAccount),
            ["4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"] = ("Azure Service Bus Data Receiver", ServiceBusQueue),
            ["69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"] = ("Azure Service Bus Data Sender", ServiceBusQueue),
            ["3913510d-42f4-4e42-8a64-420c390055eb"] = ("Monitoring Metrics Publisher", AppInsights),
        };

    /// <summary>The roles the function app's identity must hold (unconditionally).</summary>
    public static readonly IReadOnlyList<string> RequiredAppRoles =
    [
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
        "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
        "3913510d-42f4-4e42-8a64-420c390055eb",
    ];

    /// <summary>Identity-based connection settings that must be present, with their literal value where it is fixed.</summary>
    public static readonly IReadOnlyDictionary<string, string?> RequiredSettings = new Dictionary<string, string?>(StringComparer.Ordinal)
    {
        ["AzureWebJobsStorage__credential"] = "managedidentity",
        ["AzureWebJobsStorage__clientId"] = null,
        ["AzureWebJobsStorage__blobServiceUri"] = null,
        ["AzureWebJobsStorage__queueServiceUri"] = null,
        ["AzureWebJobsStorage__tableServiceUri"] = null,
        ["ServiceBusConnection__fullyQualifiedNamespace"] = null,
        ["ServiceBusConnection__credential"] = "managedidentity",
        ["ServiceBusConnection__clientId"] = null,
        ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = null,
        ["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] = null,
        ["RECALC_SCHEDULE"] = null,
        ["TASKHUB_NAME"] = null,
    };

    /// <summary>Settings that carry a secret (a key-based connection) or that Flex Consumption rejects.</summary>
    public static readonly IReadOnlyList<string> ForbiddenSettings =
    [
        "AzureWebJobsStorage",
        "AzureWebJobsDashboard",
        "ServiceBusConnection",
        "APPINSIGHTS_INSTRUMENTATIONKEY",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_RUN_FROM_PACKAGE",
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
    ];

    private static readonly string[] SecretMarkers =
    [
        "AccountKey=",
        "SharedAccessKey=",
        "SharedAccessSignature=",
        "InstrumentationKey=",
        "DefaultEndpointsProtocol=",
        "Password=",
    ];

    /// <summary>All checks together.</summary>
    public static IReadOnlyList<string> All(JsonObject template) =>
    [
        .. NoListFunctions(template.ToJsonString()),
        .. StorageIsLockedDown(template),
        .. FunctionAppIsLockedDown(template),
        .. AppSettingsUseIdentities(template),
        .. RoleAssignmentsAreNarrow(template),
        .. LocalAuthIsOff(template),
    ];

    /// <summary>No listKeys()/listSecrets()/list*() call anywhere: the template never reads a key.</summary>
    public static IEnumerable<string> NoListFunctions(string templateText)
    {
        foreach (Match m in ListCall().Matches(templateText))
        {
            var from = Math.Max(0, m.Index - 60);
            yield return $"template calls {m.Value.TrimEnd('(', ' ')}(): '...{templateText.Substring(from, Math.Min(templateText.Length - from, 140))}...'";
        }
    }

    public static IEnumerable<string> StorageIsLockedDown(JsonObject template)
    {
        var accounts = ArmTemplate.OfType(template, StorageAccount).ToList();
        if (accounts.Count == 0)
        {
            yield return "no storage account in the template";
        }

        foreach (var account in accounts)
        {
            var p = account.Properties;
            if (!IsFalse(p["allowSharedKeyAccess"]))
            {
                yield return $"{account}: allowSharedKeyAccess must be false, is {Show(p["allowSharedKeyAccess"])}";
            }

            if (!IsString(p["minimumTlsVersion"], "TLS1_2"))
            {
                yield return $"{account}: minimumTlsVersion must be TLS1_2, is {Show(p["minimumTlsVersion"])}";
            }

            if (!IsTrue(p["supportsHttpsTrafficOnly"]))
            {
                yield return $"{account}: supportsHttpsTrafficOnly must be true, is {Show(p["supportsHttpsTrafficOnly"])}";
            }

            if (!IsFalse(p["allowBlobPublicAccess"]))
            {
                yield return $"{account}: allowBlobPublicAccess must be false, is {Show(p["allowBlobPublicAccess"])}";
            }
        }
    }

    public static IEnumerable<string> FunctionAppIsLockedDown(JsonObject template)
    {
        var sites = ArmTemplate.OfType(template, Site).ToList();
        if (sites.Count == 0)
        {
            yield return "no function app (Microsoft.Web/sites) in the template";
        }

        foreach (var site in sites)
        {
            var p = site.Properties;
            if (!IsTrue(p["httpsOnly"]))
            {
                yield return $"{site}: httpsOnly must be true, is {Show(p["httpsOnly"])}";
            }

            if (!IsString(p["siteConfig"]?["minTlsVersion"], "1.2"))
            {
                yield return $"{site}: siteConfig.minTlsVersion must be 1.2, is {Show(p["siteConfig"]?["minTlsVersion"])}";
            }

            if (p["siteConfig"]?["scmMinTlsVersion"] is { } scm && !IsString(scm, "1.2"))
            {
                yield return $"{site}: siteConfig.scmMinTlsVersion must be 1.2, is {Show(scm)}";
            }

            var identityType = (string?)site.Node["identity"]?["type"] ?? "";
            if (!identityType.Contains("UserAssigned", StringComparison.OrdinalIgnoreCase))
            {
                yield return $"{site}: must run as a user-assigned identity, identity.type is '{identityType}'";
            }

            var config = p["functionAppConfig"];
            if (!IsString(config?["runtime"]?["name"], "dotnet-isolated") || !IsString(config?["runtime"]?["version"], "10.0"))
            {
                yield return $"{site}: functionAppConfig.runtime must be dotnet-isolated 10.0, is {Show(config?["runtime"])}";
            }

            if (!IsString(config?["deployment"]?["storage"]?["authentication"]?["type"], "UserAssignedIdentity"))
            {
                yield return $"{site}: the deployment package must be read with the user-assigned identity, authentication is {Show(config?["deployment"]?["storage"]?["authentication"])}";
            }
        }

        foreach (var plan in ArmTemplate.OfType(template, ServerFarm))
        {
            if (!IsString(plan.Node["sku"]?["name"], "FC1") || !IsString(plan.Node["sku"]?["tier"], "FlexConsumption"))
            {
                yield return $"{plan}: must be the Flex Consumption plan (FC1), sku is {Show(plan.Node["sku"])}";
            }
        }
    }

    /// <summary>Every app setting the template can produce, evaluated as far as the template allows.</summary>
    public static IReadOnlyDictionary<string, string> AppSettings(ArmResource site)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var config in AppSettingsResources(site))
        {
            var evaluated = ArmExpression.Evaluate(config.Node["properties"], config.Template);
            if (evaluated is JsonObject obj)
            {
                foreach (var (name, value) in obj)
                {
                    settings[name] = ArmExpression.Text(value);
                }
            }
            else
            {
                settings["<unevaluated appsettings>"] = ArmExpression.Text(evaluated);
            }
        }

        if (ArmExpression.Evaluate(site.Properties["siteConfig"]?["appSettings"], site.Template) is JsonArray array)
        {
            foreach (var item in array.OfType<JsonObject>())
            {
                settings[ArmExpression.Text(item["name"])] = ArmExpression.Text(item["value"]);
            }
        }

        return settings;
    }

    /// <summary>The sites/config 'appsettings' resources declared next to <paramref name="site"/>.</summary>
    public static IEnumerable<ArmResource> AppSettingsResources(ArmResource site) =>
        ArmTemplate.DeclaredResources(site.Template)
            .Select(node => new ArmResource(node, site.Template, site.Depth, site.Module))
            .Where(r => r.Is(SiteConfig) && r.Name.Contains("appsettings", StringComparison.OrdinalIgnoreCase));

    public static IEnumerable<string> AppSettingsUseIdentities(JsonObject template)
    {
        foreach (var site in ArmTemplate.OfType(template, Site))
        {
            var settings = AppSettings(site);
            if (!AppSettingsResources(site).Any() && site.Properties["siteConfig"]?["appSettings"] is null)
            {
                yield return $"{site}: declares no app settings";
            }

            if (settings.ContainsKey("<unevaluated appsettings>"))
            {
                yield return $"{site}: app settings could not be evaluated: {settings["<unevaluated appsettings>"]}";
            }

            foreach (var (name, expected) in RequiredSettings)
            {
                if (!settings.TryGetValue(name, out var value))
                {
                    yield return $"{site}: app setting {name} is missing";
                }
                else if (expected is not null && !string.Equals(value, expected, StringComparison.Ordinal))
                {
                    yield return $"{site}: app setting {name} must be '{expected}', is '{value}'";
                }
            }

            if (settings.TryGetValue("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", out var auth)
                && !auth.Contains("Authorization=AAD", StringComparison.Ordinal))
            {
                yield return $"{site}: APPLICATIONINSIGHTS_AUTHENTICATION_STRING must use Authorization=AAD, is '{auth}'";
            }

            foreach (var (name, value) in settings)
            {
                if (ForbiddenSettings.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    yield return $"{site}: app setting {name} must not be set (key-based connection or not allowed on Flex Consumption)";
                }

                if (name.EndsWith("__connectionString", StringComparison.OrdinalIgnoreCase))
                {
                    yield return $"{site}: app setting {name} is a connection string; use an identity-based connection";
                }

                foreach (var marker in SecretMarkers.Where(m => value.Contains(m, StringComparison.OrdinalIgnoreCase)))
                {
                    yield return $"{site}: app setting {name} contains '{marker}': '{value}'";
                }

                if (ListCall().IsMatch(value))
                {
                    yield return $"{site}: app setting {name} reads a key with a list*() call: '{value}'";
                }

                // A connection string may come only from Application Insights (it carries no secret
                // once local auth is off: an instrumentation key identifies, it does not authenticate).
                if (value.Contains("connectionstring", StringComparison.OrdinalIgnoreCase)
                    && !(name == "APPLICATIONINSIGHTS_CONNECTION_STRING" && value.Contains(AppInsights, StringComparison.OrdinalIgnoreCase)))
                {
                    yield return $"{site}: app setting {name} takes a connection string: '{value}'";
                }
            }
        }
    }

    public static IEnumerable<string> RoleAssignmentsAreNarrow(JsonObject template)
    {
        var assignments = ArmTemplate.OfType(template, RoleAssignment).ToList();
        var appRoles = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var ra in assignments)
        {
            var roleText = ArmExpression.Text(ra.Properties["roleDefinitionId"]);
            var guids = Guid().Matches(roleText).Select(m => m.Value).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            var scope = ra.Node["scope"] is { } s ? ArmExpression.Text(s) : null;
            if (ra.Depth == 0)
            {
                yield return $"{ra}: role assignment in the subscription-level template";
            }

            if (guids.Count != 1)
            {
                yield return $"{ra}: roleDefinitionId must name one built-in role by GUID, is '{roleText}'";
                continue;
            }

            var guid = guids[0];
            if (!AllowedRoles.TryGetValue(guid, out var allowed))
            {
                yield return $"{ra}: role {guid} is not one of the allowed least-privilege roles";
                continue;
            }

            if (scope is null)
            {
                yield return $"{ra}: {allowed.Role} has no scope, so it applies to the whole resource group; scope it to the {allowed.ScopeType}";
            }
            else if (!scope.Contains($"resourceId('{allowed.ScopeType}'", StringComparison.OrdinalIgnoreCase)
                     || scope.Contains("resourceGroup()", StringComparison.OrdinalIgnoreCase)
                     || scope.Contains("subscription()", StringComparison.OrdinalIgnoreCase))
            {
                yield return $"{ra}: {allowed.Role} must be scoped to the {allowed.ScopeType} itself, scope is '{scope}'";
            }

            var principalType = ArmExpression.Text(ra.Properties["principalType"]);
            var principalId = ArmExpression.Text(ra.Properties["principalId"]);
            if (ra.Node["condition"] is null && principalType == "ServicePrincipal"
                && principalId.Contains("userAssignedIdentities", StringComparison.OrdinalIgnoreCase))
            {
                appRoles.Add(guid);
            }
        }

        foreach (var required in RequiredAppRoles.Where(r => !appRoles.Contains(r)))
        {
            yield return $"the function app identity lacks {AllowedRoles[required].Role} ({required}) on its {AllowedRoles[required].ScopeType}";
        }
    }

    public static IEnumerable<string> LocalAuthIsOff(JsonObject template)
    {
        foreach (var ns in ArmTemplate.OfType(template, ServiceBusNamespace))
        {
            if (!IsTrue(ns.Properties["disableLocalAuth"]))
            {
                yield return $"{ns}: disableLocalAuth must be true (no SAS keys), is {Show(ns.Properties["disableLocalAuth"])}";
            }

            if (!IsString(ns.Properties["minimumTlsVersion"], "1.2"))
            {
                yield return $"{ns}: minimumTlsVersion must be 1.2, is {Show(ns.Properties["minimumTlsVersion"])}";
            }
        }

        foreach (var component in ArmTemplate.OfType(template, AppInsights))
        {
            if (!IsTrue(component.Properties["DisableLocalAuth"]))
            {
                yield return $"{component}: DisableLocalAuth must be true, is {Show(component.Properties["DisableLocalAuth"])}";
            }
        }

        foreach (var workspace in ArmTemplate.OfType(template, LogAnalytics))
        {
            if (!IsTrue(workspace.Properties["features"]?["disableLocalAuth"]))
            {
                yield return $"{workspace}: features.disableLocalAuth must be true, is {Show(workspace.Properties["features"]?["disableLocalAuth"])}";
            }
        }
    }

    private static bool IsTrue(JsonNode? node) => node is JsonValue v && v.TryGetValue(out bool b) && b;

    private static bool IsFalse(JsonNode? node) => node is JsonValue v && v.TryGetValue(out bool b) && !b;

    private static bool IsString(JsonNode? node, string expected) =>
        node is JsonValue v && v.TryGetValue(out string? s) && string.Equals(s, expected, StringComparison.Ordinal);

    private static string Show(JsonNode? node) => node is null ? "missing" : node.ToJsonString();

    [GeneratedRegex(@"\blist[A-Za-z]*\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex ListCall();

    [GeneratedRegex(@"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")]
    private static partial Regex Guid();
}
