using System.Text.Json.Nodes;

namespace Attribution.Infra.Tests;

/// <summary>
/// The invariant checks catch what they guard against: each test breaks one thing in a copy of
/// the compiled template and expects a violation naming it. (The real template must stay clean:
/// SecurityInvariantTests.)
/// </summary>
[Collection(BicepTests.Name)]
public sealed class InvariantCheckerTests(BicepFixture bicep)
{
    [Fact]
    public void Real_template_has_no_violation()
    {
        var violations = InfraInvariants.All(bicep.RequireTemplate());
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    [Theory]
    [InlineData("allowSharedKeyAccess", true)]
    [InlineData("supportsHttpsTrafficOnly", false)]
    [InlineData("allowBlobPublicAccess", true)]
    public void Flipped_storage_flag_is_caught(string property, bool value)
    {
        var template = bicep.CloneTemplate();
        Single(template, InfraInvariants.StorageAccount).Properties[property] = value;
        AssertCaught(InfraInvariants.All(template), property);
    }

    [Fact]
    public void Old_storage_tls_is_caught()
    {
        var template = bicep.CloneTemplate();
        Single(template, InfraInvariants.StorageAccount).Properties["minimumTlsVersion"] = "TLS1_0";
        AssertCaught(InfraInvariants.All(template), "minimumTlsVersion");
    }

    [Fact]
    public void Storage_flag_left_to_its_default_is_caught()
    {
        var template = bicep.CloneTemplate();
        Single(template, InfraInvariants.StorageAccount).Properties.Remove("allowSharedKeyAccess");
        AssertCaught(InfraInvariants.All(template), "allowSharedKeyAccess");
    }

    [Fact]
    public void Http_function_app_is_caught()
    {
        var template = bicep.CloneTemplate();
        var site = Single(template, InfraInvariants.Site);
        site.Properties["httpsOnly"] = false;
        site.Properties["siteConfig"]!["minTlsVersion"] = "1.0";
        var violations = InfraInvariants.All(template);
        AssertCaught(violations, "httpsOnly");
        AssertCaught(violations, "minTlsVersion");
    }

    [Fact]
    public void ListKeys_anywhere_is_caught()
    {
        var text = bicep.TemplateText.Replace(
            "reference(resourceId('Microsoft.Insights/components'",
            "listKeys(resourceId('Microsoft.Insights/components'",
            StringComparison.Ordinal);
        Assert.NotEqual(bicep.TemplateText, text);
        AssertCaught(InfraInvariants.NoListFunctions(text), "listKeys");
    }

    [Theory]
    [InlineData("AzureWebJobsStorage", "[format('DefaultEndpointsProtocol=https;AccountName={0};AccountKey={1}', parameters('storageAccountName'), listKeys(resourceId('Microsoft.Storage/storageAccounts', parameters('storageAccountName')), '2025-01-01').keys[0].value)]", "AccountKey=")]
    [InlineData("ServiceBusConnection", "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=abc", "SharedAccessKey=")]
    [InlineData("APPINSIGHTS_INSTRUMENTATIONKEY", "[reference(resourceId('Microsoft.Insights/components', 'x'), '2020-02-02').InstrumentationKey]", "APPINSIGHTS_INSTRUMENTATIONKEY")]
    [InlineData("FEED_STORAGE", "[reference(resourceId('Microsoft.Storage/storageAccounts', 'x'), '2025-01-01').primaryEndpoints.connectionString]", "connection string")]
    [InlineData("ServiceBusConnection__connectionString", "Endpoint=sb://x/", "connection string")]
    public void Secret_bearing_app_setting_is_caught(string name, string value, string expected)
    {
        var template = bicep.CloneTemplate();
        var site = Single(template, InfraInvariants.Site);
        var config = Assert.Single(InfraInvariants.AppSettingsResources(site));
        var settings = ArmExpression.Evaluate(config.Node["properties"], config.Template)!.AsObject();
        settings[name] = value;
        config.Node["properties"] = settings;
        Assert.Equal(value, InfraInvariants.AppSettings(site)[name]);
        AssertCaught(InfraInvariants.AppSettingsUseIdentities(template), expected);
    }

    [Fact]
    public void Missing_identity_setting_is_caught()
    {
        var template = bicep.CloneTemplate();
        var site = Single(template, InfraInvariants.Site);
        var config = Assert.Single(InfraInvariants.AppSettingsResources(site));
        var settings = ArmExpression.Evaluate(config.Node["properties"], config.Template)!.AsObject();
        settings.Remove("ServiceBusConnection__fullyQualifiedNamespace");
        settings["AzureWebJobsStorage__credential"] = "connectionstring";
        config.Node["properties"] = settings;
        var violations = InfraInvariants.AppSettingsUseIdentities(template).ToList();
        AssertCaught(violations, "ServiceBusConnection__fullyQualifiedNamespace is missing");
        AssertCaught(violations, "AzureWebJobsStorage__credential must be 'managedidentity'");
    }

    [Fact]
    public void Role_assignment_without_scope_applies_to_the_resource_group_and_is_caught()
    {
        var template = bicep.CloneTemplate();
        FirstRoleAssignment(template).Node.Remove("scope");
        AssertCaught(InfraInvariants.RoleAssignmentsAreNarrow(template), "whole resource group");
    }

    [Fact]
    public void Role_assignment_scoped_to_the_resource_group_is_caught()
    {
        var template = bicep.CloneTemplate();
        FirstRoleAssignment(template).Node["scope"] = "[resourceGroup().id]";
        AssertCaught(InfraInvariants.RoleAssignmentsAreNarrow(template), "must be scoped to");
    }

    [Fact]
    public void Queue_role_scoped_to_the_whole_namespace_is_caught()
    {
        var template = bicep.CloneTemplate();
        var receiver = ArmTemplate.OfType(template, InfraInvariants.RoleAssignment).First(r =>
            ArmExpression.Text(r.Properties["roleDefinitionId"]).Contains("4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0", StringComparison.Ordinal));
        receiver.Node["scope"] = "[resourceId('Microsoft.ServiceBus/namespaces', parameters('serviceBusNamespaceName'))]";
        AssertCaught(InfraInvariants.RoleAssignmentsAreNarrow(template), "Azure Service Bus Data Receiver must be scoped to the Microsoft.ServiceBus/namespaces/queues");
    }

    [Fact]
    public void Broad_role_is_caught()
    {
        var template = bicep.CloneTemplate();
        FirstRoleAssignment(template).Properties["roleDefinitionId"] =
            "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b24988ac-6180-42a0-ab88-20f7382dd24c')]";
        var violations = InfraInvariants.RoleAssignmentsAreNarrow(template).ToList();
        AssertCaught(violations, "not one of the allowed");
        AssertCaught(violations, "lacks");
    }

    [Theory]
    [InlineData(InfraInvariants.ServiceBusNamespace, "disableLocalAuth")]
    [InlineData(InfraInvariants.AppInsights, "DisableLocalAuth")]
    public void Local_auth_turned_on_is_caught(string type, string property)
    {
        var template = bicep.CloneTemplate();
        Single(template, type).Properties[property] = false;
        AssertCaught(InfraInvariants.LocalAuthIsOff(template), property);
    }

    private static ArmResource Single(JsonObject template, string type) =>
        Assert.Single(ArmTemplate.OfType(template, type));

    private static ArmResource FirstRoleAssignment(JsonObject template) =>
        ArmTemplate.OfType(template, InfraInvariants.RoleAssignment).First();

    private static void AssertCaught(IEnumerable<string> violations, string expected)
    {
        var list = violations.ToList();
        Assert.True(list.Any(v => v.Contains(expected, StringComparison.OrdinalIgnoreCase)),
            $"expected a violation mentioning '{expected}', got:\n  " + string.Join("\n  ", list));
    }
}
