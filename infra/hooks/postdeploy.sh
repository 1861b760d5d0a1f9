#!/bin/sh
# azd postdeploy hook (POSIX): subscribe IngestFeedBlob to BlobCreated events of the `feeds`
# container through the Event Grid system topic provisioned by infra/main.bicep.
#
# Why here and not in Bicep: the subscription's webhook URL must carry the function host's
# `blobs_extension` system key. That key exists only once the deployed code has run (the host
# creates it on its first start with an Event Grid blob trigger), and reading it from a template
# needs listKeys(), which this repository's templates never use (see docs/deploy.md). The key is
# read here with the caller's own Entra ID sign-in and never written to disk or printed.
#
# Inputs: azd passes the environment's values (the outputs of infra/main.bicep) as variables.
set -eu

: "${AZURE_RESOURCE_GROUP:?run through azd (azd up / azd deploy) or export the outputs of infra/main.bicep}"
: "${AZURE_FUNCTION_APP_NAME:?}"
: "${EVENTGRID_SYSTEM_TOPIC_NAME:?}"
FEEDS_CONTAINER_NAME="${FEEDS_CONTAINER_NAME:-feeds}"
FUNCTION_NAME="IngestFeedBlob"
SUBSCRIPTION_NAME="ingest-feed-blob"

if ! command -v az >/dev/null 2>&1; then
  echo "postdeploy: the Azure CLI (az) is required; see docs/deploy.md" >&2
  exit 1
fi

if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then
  az account set --subscription "$AZURE_SUBSCRIPTION_ID"
fi

app_host=$(az functionapp show -g "$AZURE_RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" --query defaultHostName -o tsv)

# The deployed build must contain the Service Bus trigger (azure.yaml sets EnableServiceBusTrigger).
functions=$(az functionapp function list -g "$AZURE_RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" --query "[].name" -o tsv 2>/dev/null || true)
case "$functions" in
  *IngestFeedMessage*) ;;
  *) echo "postdeploy: WARNING: IngestFeedMessage is not among the deployed functions; was the package built with EnableServiceBusTrigger=true? (azure.yaml, docs/deploy.md)" >&2 ;;
esac

# Wake the host (Flex Consumption scales to zero) and wait for its blobs_extension key.
key=""
attempt=0
while [ "$attempt" -lt 20 ]; do
  attempt=$((attempt + 1))
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null --max-time 30 "https://$app_host/" || true
  fi
  key=$(az functionapp keys list -g "$AZURE_RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" --query "systemKeys.blobs_extension" -o tsv 2>/dev/null || true)
  [ -n "$key" ] && break
  echo "postdeploy: waiting for the host's blobs_extension key ($attempt/20)..."
  sleep 15
done
if [ -z "$key" ]; then
  echo "postdeploy: the host did not create its blobs_extension key; creating one"
  az functionapp keys set -g "$AZURE_RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" \
    --key-type systemKeys --key-name blobs_extension -o none
  key=$(az functionapp keys list -g "$AZURE_RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" --query "systemKeys.blobs_extension" -o tsv)
fi

endpoint="https://$app_host/runtime/webhooks/blobs?functionName=Host.Functions.$FUNCTION_NAME&code=$key"

# Create or update (PUT) the subscription. Event Grid validates the webhook with a handshake the
# host answers; a cold host can miss the first one, so retry.
attempt=0
until az eventgrid system-topic event-subscription create \
    --name "$SUBSCRIPTION_NAME" \
    --resource-group "$AZURE_RESOURCE_GROUP" \
    --system-topic-name "$EVENTGRID_SYSTEM_TOPIC_NAME" \
    --endpoint-type webhook \
    --endpoint "$endpoint" \
    --included-event-types Microsoft.Storage.BlobCreated \
    --subject-begins-with "/blobServices/default/containers/$FEEDS_CONTAINER_NAME/blobs/" \
    --max-delivery-attempts 30 \
    --event-ttl 1440 \
    -o none; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 5 ]; then
    echo "postdeploy: could not create the Event Grid subscription $SUBSCRIPTION_NAME" >&2
    exit 1
  fi
  echo "postdeploy: retrying the Event Grid subscription ($attempt/5)..."
  sleep 20
done

echo "postdeploy: $FUNCTION_NAME receives BlobCreated events for $FEEDS_CONTAINER_NAME/ (subscription $SUBSCRIPTION_NAME on $EVENTGRID_SYSTEM_TOPIC_NAME)"
