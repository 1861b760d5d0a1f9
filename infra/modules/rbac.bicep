// Least-privilege data-plane roles. Each assignment is scoped to the one resource it is about
// (the storage account, the queue, the Application Insights component), never to the resource
// group or the subscription, and names its built-in role by GUID (the same in every tenant).
//
//   function app identity                      deployer (optional, AZURE_PRINCIPAL_ID)
//   storage  Storage Blob Data Owner            Storage Blob Data Contributor
//            Storage Queue Data Contributor     Storage Table Data Reader
//            Storage Table Data Contributor
//   queue    Azure Service Bus Data Receiver    Azure Service Bus Data Sender
//   App Ins. Monitoring Metrics Publisher

@description('Name of the function app\'s user-assigned identity (in this resource group).')
param appIdentityName string

@description('Optional: object id of the person or CI principal running `azd up`, given data-plane roles to upload a first feed, send a first message and read the results. Empty = none.')
param deployerPrincipalId string

@description('Kind of principal deployerPrincipalId is.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string

@description('Storage account holding the app\'s host storage, the feeds and the result tables.')
param storageAccountName string

@description('Service Bus namespace of the feed queue.')
param serviceBusNamespaceName string

@description('The feed queue (the app receives from it; the deployer may send to it).')
param queueName string

@description('Application Insights component the app publishes telemetry to.')
param applicationInsightsName string

var withDeployer = !empty(deployerPrincipalId)

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: serviceBus
  name: queueName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// ---- The function app's identity -----------------------------------------------------------

// Blob: host leases and keys, the deployment package, the blob trigger's receipts and the feeds.
// The Functions host needs Owner (not Contributor) on host storage.
resource appBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appIdentity.id, 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
  scope: storage
  properties: {
    description: 'Storage Blob Data Owner: function app host storage and feeds'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Queue: the Durable task hub's control and work-item queues, the blob trigger's poison queue.
resource appQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appIdentity.id, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  scope: storage
  properties: {
    description: 'Storage Queue Data Contributor: Durable Functions task hub queues'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Table: the Durable task hub's history and instances, and the published result tables.
resource appTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appIdentity.id, '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
  scope: storage
  properties: {
    description: 'Storage Table Data Contributor: task hub tables and result tables'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Receive (and complete, abandon, dead-letter) on the one queue; no send, no manage.
resource appQueueReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, appIdentity.id, '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0')
  scope: queue
  properties: {
    description: 'Azure Service Bus Data Receiver: IngestFeedMessage on feed-records'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0')
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Telemetry to Application Insights with local auth off (Entra ID ingestion).
resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appIdentity.id, '3913510d-42f4-4e42-8a64-420c390055eb')
  scope: appInsights
  properties: {
    description: 'Monitoring Metrics Publisher: Entra ID telemetry ingestion'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---- The deployer (optional) ---------------------------------------------------------------

resource deployerBlobDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (withDeployer) {
  name: guid(storage.id, deployerPrincipalId, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  scope: storage
  properties: {
    description: 'Storage Blob Data Contributor: upload feed files'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

resource deployerTableDataReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (withDeployer) {
  name: guid(storage.id, deployerPrincipalId, '76199698-9eea-4c19-bc75-cec21354c6b6')
  scope: storage
  properties: {
    description: 'Storage Table Data Reader: read the published results'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '76199698-9eea-4c19-bc75-cec21354c6b6')
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

resource deployerQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (withDeployer) {
  name: guid(queue.id, deployerPrincipalId, '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
  scope: queue
  properties: {
    description: 'Azure Service Bus Data Sender: send feed records'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}
