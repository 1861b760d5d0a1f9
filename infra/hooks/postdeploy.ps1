# azd postdeploy hook (Windows / PowerShell): the same as postdeploy.sh. Subscribes
# IngestFeedBlob to BlobCreated events of the `feeds` container through the Event Grid system
# topic provisioned by infra/main.bicep. The webhook URL carries the host's blobs_extension
# system key, read here with the caller's Entra ID sign-in (no listKeys() in any template);
# it is never written to disk or printed.
$ErrorActionPreference = 'Stop'

foreach ($name in 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'EVENTGRID_SYSTEM_TOPIC_NAME') {
    if (-not [Environment]::GetEnvironmentVariable($name)) {
        throw "postdeploy: $name is not set; run through azd (azd up / azd deploy) or set the outputs of infra/main.bicep"
    }
}
$rg = $env:AZURE_RESOURCE_GROUP
$app = $env:AZURE_FUNCTION_APP_NAME
$topic = $env:EVENTGRID_SYSTEM_TOPIC_NAME
$container = if ($env:FEEDS_CONTAINER_NAME) { $env:FEEDS_CONTAINER_NAME } else { 'feeds' }
$functionName = 'IngestFeedBlob'
$subscriptionName = 'ingest-feed-blob'

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    throw 'postdeploy: the Azure CLI (az) is required; see docs/deploy.md'
}
if ($env:AZURE_SUBSCRIPTION_ID) { az account set --subscription $env:AZURE_SUBSCRIPTION_ID }

$appHost = az functionapp show -g $rg -n $app --query defaultHostName -o tsv
if ($LASTEXITCODE -ne 0) { throw "postdeploy: function app $app not found in $rg" }

$functions = (az functionapp function list -g $rg -n $app --query "[].name" -o tsv 2>$null) -join ' '
if ($functions -notmatch 'IngestFeedMessage') {
    Write-Warning 'postdeploy: IngestFeedMessage is not among the deployed functions; was the package built with EnableServiceBusTrigger=true? (azure.yaml, docs/deploy.md)'
}

$key = ''
for ($attempt = 1; $attempt -le 20; $attempt++) {
    try { Invoke-WebRequest -Uri "https://$appHost/" -Method Get -TimeoutSec 30 -UseBasicParsing | Out-Null } catch { }
    $key = az functionapp keys list -g $rg -n $app --query 'systemKeys.blobs_extension' -o tsv 2>$null
    if ($key) { break }
    Write-Host "postdeploy: waiting for the host's blobs_extension key ($attempt/20)..."
    Start-Sleep -Seconds 15
}
if (-not $key) {
    Write-Host 'postdeploy: the host did not create its blobs_extension key; creating one'
    az functionapp keys set -g $rg -n $app --key-type systemKeys --key-name blobs_extension -o none
    $key = az functionapp keys list -g $rg -n $app --query 'systemKeys.blobs_extension' -o tsv
}

$endpoint = "https://$appHost/runtime/webhooks/blobs?functionName=Host.Functions.$functionName&code=$key"

for ($attempt = 1; ; $attempt++) {
    az eventgrid system-topic event-subscription create `
        --name $subscriptionName `
        --resource-group $rg `
        --system-topic-name $topic `
        --endpoint-type webhook `
        --endpoint $endpoint `
        --included-event-types Microsoft.Storage.BlobCreated `
        --subject-begins-with "/blobServices/default/containers/$container/blobs/" `
        --max-delivery-attempts 30 `
        --event-ttl 1440 `
        -o none
    if ($LASTEXITCODE -eq 0) { break }
    if ($attempt -ge 5) { throw "postdeploy: could not create the Event Grid subscription $subscriptionName" }
    Write-Host "postdeploy: retrying the Event Grid subscription ($attempt/5)..."
    Start-Sleep -Seconds 20
}

Write-Host "postdeploy: $functionName receives BlobCreated events for $container/ (subscription $subscriptionName on $topic)"
