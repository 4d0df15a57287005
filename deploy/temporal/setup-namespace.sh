#!/bin/sh
# One-shot: wait for the Temporal frontend, create the namespace, and register the
# search attributes the API sets on every execution (OwnerId, AuterityWorkflowId,
# AuterityWorkflowVersion). Safe to run again.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${RETENTION:=7d}"

attempt=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS did not become healthy" >&2
    exit 1
  fi
  sleep 2
done

ns="--address $TEMPORAL_ADDRESS --namespace $TEMPORAL_NAMESPACE"
# shellcheck disable=SC2086
temporal operator namespace describe $ns >/dev/null 2>&1 ||
  temporal operator namespace create $ns --retention "$RETENTION"

# shellcheck disable=SC2086
existing=$(temporal operator search-attribute list $ns)
for pair in OwnerId=Keyword AuterityWorkflowId=Keyword AuterityWorkflowVersion=Int; do
  name=${pair%%=*}
  kind=${pair#*=}
  if echo "$existing" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    # shellcheck disable=SC2086
    temporal operator search-attribute create $ns --name "$name" --type "$kind"
  fi
done
echo "namespace $TEMPORAL_NAMESPACE is ready"
