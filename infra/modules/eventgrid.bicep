// Event Grid system topic over the storage account. The BlobCreated subscription that drives
// IngestFeedBlob is created by infra/hooks/postdeploy.sh (or .ps1) once the code is deployed:
// its webhook URL carries the host's `blobs_extension` system key, which exists only after the
// function runs for the first time, and reading it here would need listKeys() in the template.

@description('System topic name.')
param name string

@description('Azure region (the storage account\'s).')
param location string

@description('Tags applied to the topic.')
param tags object

@description('Name of the storage account whose events the topic publishes.')
param storageAccountName string

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = topic.name
