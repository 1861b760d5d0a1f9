// Service Bus namespace and the `feed-records` queue consumed by IngestFeedMessage.
// Local (SAS) auth is off: senders and the app use Entra ID.

@description('Service Bus namespace name.')
@minLength(6)
@maxLength(50)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the namespace.')
param tags object

@description('Basic has no monthly base charge and supports everything the pipeline uses (queues, dead-lettering); Standard adds topics, sessions and duplicate detection.')
@allowed([
  'Basic'
  'Standard'
])
param skuName string = 'Basic'

@description('Queue the feed records arrive on.')
param queueName string

@description('Deliveries before a message is dead-lettered: a transient storage failure abandons the message, so it gets this many tries in all.')
@minValue(1)
@maxValue(100)
param maxDeliveryCount int = 5

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuName
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: queueName
  properties: {
    maxDeliveryCount: maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    // The function renews the lock for up to 5 minutes (host.json maxAutoLockRenewalDuration).
    lockDuration: 'PT5M'
    // 14 days is the longest time-to-live the Basic tier allows.
    defaultMessageTimeToLive: 'P14D'
    maxSizeInMegabytes: 1024
    enablePartitioning: false
  }
}

output id string = namespace.id
output name string = namespace.name
output queueName string = queue.name
// `https://{name}.servicebus.windows.net:443/` -> `{name}.servicebus.windows.net`, whatever the cloud.
output fullyQualifiedNamespace string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
