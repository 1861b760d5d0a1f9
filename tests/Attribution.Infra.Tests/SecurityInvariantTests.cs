namespace Attribution.Infra.Tests;

/// <summary>The security invariants hold in the compiled ARM JSON of infra/main.bicep.</summary>
[Collection(BicepTests.Name)]
public sealed class SecurityInvariantTests(BicepFixture bicep)
{
    [Fact]
    public void Template_never_reads_a_key_with_listKeys_or_any_list_function()
    {
        bicep.RequireTemplate();
        Assert.DoesNotContain("listKeys", bicep.TemplateText, StringComparison.OrdinalIgnoreCase);
        AssertHolds(InfraInvariants.NoListFunctions(bicep.TemplateText));
    }

    [Fact]
    public void Storage_account_has_shared_key_access_off_https_only_and_tls_1_2()
    {
        AssertHolds(InfraInvariants.StorageIsLockedDown(bicep.RequireTemplate()));
    }

    [Fact]
    public void Function_app_is_flex_consumption_dotnet_isolated_10_https_only_tls_1_2_with_a_user_assigned_identity()
    {
        AssertHolds(InfraInvariants.FunctionAppIsLockedDown(bicep.RequireTemplate()));
    }

    [Fact]
    public void App_settings_use_identity_based_connections_and_hold_no_key_or_connection_string()
    {
        AssertHolds(InfraInvariants.AppSettingsUseIdentities(bicep.RequireTemplate()));
    }

    [Fact]
    public void Every_role_assignment_is_a_least_privilege_role_scoped_to_one_resource()
    {
        AssertHolds(InfraInvariants.RoleAssignmentsAreNarrow(bicep.RequireTemplate()));
    }

    [Fact]
    public void Service_bus_app_insights_and_log_analytics_have_local_auth_off()
    {
        AssertHolds(InfraInvariants.LocalAuthIsOff(bicep.RequireTemplate()));
    }

    [Fact]
    public void Every_expected_resource_is_there()
    {
        var resources = ArmTemplate.Resources(bicep.RequireTemplate()).Where(r => !r.IsExisting).ToList();
        foreach (var type in new[]
                 {
                     "Microsoft.Resources/resourceGroups",
                     "Microsoft.ManagedIdentity/userAssignedIdentities",
                     InfraInvariants.StorageAccount,
                     "Microsoft.Storage/storageAccounts/blobServices/containers",
                     InfraInvariants.ServiceBusNamespace,
                     InfraInvariants.ServiceBusQueue,
                     InfraInvariants.SystemTopic,
                     InfraInvariants.LogAnalytics,
                     InfraInvariants.AppInsights,
                     InfraInvariants.ServerFarm,
                     InfraInvariants.Site,
                     InfraInvariants.SiteConfig,
                     InfraInvariants.RoleAssignment,
                 })
        {
            Assert.True(resources.Any(r => r.Is(type)), $"the template declares no {type}");
        }

        var topic = Assert.Single(resources, r => r.Is(InfraInvariants.SystemTopic));
        Assert.Equal("Microsoft.Storage.StorageAccounts", (string?)topic.Properties["topicType"]);
        Assert.Equal(2, resources.Count(r => r.Is("Microsoft.Storage/storageAccounts/blobServices/containers")));
    }

    [Fact]
    public void Queue_dead_letters_with_a_sensible_max_delivery_count()
    {
        var template = bicep.RequireTemplate();
        var queue = Assert.Single(ArmTemplate.OfType(template, InfraInvariants.ServiceBusQueue));
        Assert.True((bool?)queue.Properties["deadLetteringOnMessageExpiration"] ?? false, "deadLetteringOnMessageExpiration must be true");
        Assert.NotNull(queue.Properties["maxDeliveryCount"]);
        var count = (int?)template["parameters"]?["serviceBusMaxDeliveryCount"]?["defaultValue"];
        Assert.True(count is >= 3 and <= 20, $"default serviceBusMaxDeliveryCount should be 3..20, is {count}");
    }

    [Fact]
    public void Names_fixed_by_the_product_contract_reach_the_modules()
    {
        var template = bicep.RequireTemplate();
        string Param(string module, string name) => ArmExpression.Text(ArmExpression.Evaluate(
            ArmTemplate.Module(template, module)["properties"]?["parameters"]?[name]?["value"], template));

        Assert.Equal("feeds", Param("storage", "feedsContainerName"));
        Assert.Equal("feed-records", Param("servicebus", "queueName"));
        Assert.Equal("feed-records", Param("rbac", "queueName"));
        Assert.Equal("functions", Param("functionapp", "azdServiceName"));
    }

    private static void AssertHolds(IEnumerable<string> violations)
    {
        var list = violations.ToList();
        Assert.True(list.Count == 0, "Invariant violated:\n  " + string.Join("\n  ", list));
    }
}
