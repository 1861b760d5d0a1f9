// Partner attribution pipeline on Azure: one `azd up` provisions this and deploys
// functions/Attribution.Functions to it. Local modules only (infra/modules); every connection
// is identity-based, no template reads a key (no listKeys), shared-key access is off.
//
//   resource group
//   ├─ user-assigned managed identity ........ modules/identity.bicep
//   ├─ Log Analytics + Application Insights .. modules/monitoring.bicep (local auth off)
//   ├─ storage account ....................... modules/storage.bicep (containers `feeds`, deployment package)
//   ├─ Service Bus namespace + `feed-records` modules/servicebus.bicep (local auth off, dead-lettering)
//   ├─ Event Grid system topic on storage .... modules/eventgrid.bicep (subscription: infra/hooks/postdeploy.*)
//   ├─ role assignments ...................... modules/rbac.bicep (each on one resource)
//   └─ Flex Consumption plan + function app .. modules/functionapp.bicep (dotnet-isolated 10.0)
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds the resource names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Optional resource group name; default rg-{environmentName}.')
param resourceGroupName string = ''

@description('Optional object id of the user (or CI principal) running azd, given data-plane roles to upload feeds, send messages and read results. azd passes AZURE_PRINCIPAL_ID.')
param principalId string = ''

@description('Kind of principal principalId is.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Service Bus tier: Basic has no base charge; Standard adds topics, sessions and duplicate detection.')
@allowed([
  'Basic'
  'Standard'
])
param serviceBusSku string = 'Basic'

@description('Deliveries of a feed message before it is dead-lettered.')
@minValue(1)
@maxValue(100)
param serviceBusMaxDeliveryCount int = 5

@description('NCRONTAB (6 fields, UTC) schedule of ScheduledRecalculation: RECALC_SCHEDULE. Default nightly at 03:00.')
param recalcSchedule string = '0 0 3 * * *'

@description('Durable Functions task hub name: TASKHUB_NAME. Letters and digits, starting with a letter.')
@minLength(3)
@maxLength(45)
param taskHubName string = 'AttributionHub'

@description('Optional ATTRIBUTION_RULES (a path in the deployed package, or inline rules JSON); empty = the default rules shipped with the app.')
param attributionRules string = ''

@description('Most instances the Flex Consumption app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per Flex Consumption instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Fixed by the product contract (docs: /shared/spec/PRODUCT.md sections 2.5 and 5).
var feedsContainerName = 'feeds'
var feedQueueName = 'feed-records'
var azdServiceName = 'functions'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'partner-attribution'
}
var functionAppName = 'func-${resourceToken}'
// Names are computed here, not read from module outputs, so What-If can predict every resource.
var names = {
  identity: 'id-${functionAppName}'
  logAnalytics: 'log-${resourceToken}'
  applicationInsights: 'appi-${resourceToken}'
  storage: 'st${resourceToken}'
  deploymentContainer: 'app-package-${resourceToken}'
  serviceBus: 'sb-${resourceToken}'
  systemTopic: 'evgt-${resourceToken}'
  plan: 'plan-${resourceToken}'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-11-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: names.storage
    location: location
    tags: tags
    feedsContainerName: feedsContainerName
    deploymentContainerName: names.deploymentContainer
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: names.serviceBus
    location: location
    tags: tags
    skuName: serviceBusSku
    queueName: feedQueueName
    maxDeliveryCount: serviceBusMaxDeliveryCount
  }
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    name: names.systemTopic
    location: location
    tags: tags
    storageAccountName: names.storage
  }
  dependsOn: [
    storage
  ]
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    appIdentityName: names.identity
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
    storageAccountName: names.storage
    serviceBusNamespaceName: names.serviceBus
    queueName: feedQueueName
    applicationInsightsName: names.applicationInsights
  }
  dependsOn: [
    identity
    storage
    serviceBus
    monitoring
  ]
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: functionAppName
    planName: names.plan
    location: location
    tags: tags
    azdServiceName: azdServiceName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: names.storage
    deploymentContainerName: names.deploymentContainer
    applicationInsightsName: names.applicationInsights
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    recalcSchedule: recalcSchedule
    taskHubName: taskHubName
    attributionRules: attributionRules
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
  // Roles first, so the host's first start already has its data-plane access.
  dependsOn: [
    rbac
    storage
    monitoring
  ]
}

// azd stores these in the environment (.azure/<env>/.env); the postdeploy hook and
// docs/deploy.md use them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output FEEDS_CONTAINER_NAME string = storage.outputs.feedsContainerName
output AZURE_SERVICEBUS_NAMESPACE string = serviceBus.outputs.name
output AZURE_SERVICEBUS_FULLY_QUALIFIED_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output SERVICEBUS_QUEUE_NAME string = serviceBus.outputs.queueName
output EVENTGRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output TASKHUB_NAME string = taskHubName
