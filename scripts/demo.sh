#!/usr/bin/env bash
# make demo: the WhatsApp simulator, the server and a webhook printer on loopback; then, through the real API,
# an instance is created, linked by QR code to a simulated phone, sends a message and a picture, and the webhooks
# arrive.
set -euo pipefail
cd "$(dirname "$0")/.."

WASIM=127.0.0.1:7080
API=127.0.0.1:7081
HOOKS=127.0.0.1:7090
ADMIN=demo-admin-token
DATA=$(mktemp -d)
LOGS=$DATA/logs
mkdir -p "$LOGS"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; }
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
wait_http() { for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

step "Starting the WhatsApp simulator (wasim), a webhook printer, and plugzapi"
bin/wasim --addr "$WASIM" >"$LOGS/wasim.log" 2>&1 & pids+=($!)
go build -o "$DATA/webhook-printer" ./scripts/webhook-printer
# The printed webhooks also go to a file, where the demo finds the URL of the picture Alice sends.
"$DATA/webhook-printer" --addr "$HOOKS" > >(tee "$LOGS/webhooks.log") & pids+=($!)
PLUGZAPI_ADDR=$API PLUGZAPI_DATA=$DATA PLUGZAPI_ADMIN_TOKEN=$ADMIN PLUGZAPI_WA_SIMULATOR=$WASIM \
  PLUGZAPI_ALLOW_INSECURE_WEBHOOKS=1 bin/plugzapi >"$LOGS/plugzapi.log" 2>&1 & pids+=($!)
wait_http "http://$WASIM/v1/accounts"
wait_http "http://$API/healthz"
wait_http "http://$HOOKS/"
echo "simulator on $WASIM, API on $API, webhooks printed from $HOOKS (logs in $LOGS)"

step "Two simulated WhatsApp accounts: the business's phone and a customer, Alice"
for who in '{"phone":"5511999990000","name":"Loja Demo"}' '{"phone":"5511999990001","name":"Alice"}'; do
  show "curl -X POST http://$WASIM/v1/accounts -d '$who'"
  curl -fsS -X POST "http://$WASIM/v1/accounts" -H 'Content-Type: application/json' -d "$who"; echo
done

step "Create an instance, with every webhook pointing at the printer"
body="{\"name\":\"demo\",\"deliveryCallbackUrl\":\"http://$HOOKS/delivery\",\"receivedCallbackUrl\":\"http://$HOOKS/received\",\"messageStatusCallbackUrl\":\"http://$HOOKS/status\",\"connectedCallbackUrl\":\"http://$HOOKS/connected\",\"disconnectedCallbackUrl\":\"http://$HOOKS/disconnected\"}"
show "curl -X POST http://$API/instances/integrator/on-demand -H 'Authorization: Bearer $ADMIN' -d '$body'"
created=$(curl -fsS -X POST "http://$API/instances/integrator/on-demand" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d "$body")
echo "$created"
ID=$(echo "$created" | json_field id)
TOKEN=$(echo "$created" | json_field token)
BASE="http://$API/instances/$ID/token/$TOKEN"

step "Get the QR code and let the business's simulated phone scan it"
show "curl $BASE/qr-code"
for _ in $(seq 1 50); do qr=$(curl -fsS "$BASE/qr-code" 2>/dev/null | json_field value) && [ -n "$qr" ] && break; sleep 0.2; done
echo "QR: ${qr:0:40}…"
show "curl -X POST http://$WASIM/v1/accounts/5511999990000/scan -d '{\"qr\":\"…\"}'"
curl -fsS -X POST "http://$WASIM/v1/accounts/5511999990000/scan" -H 'Content-Type: application/json' -d "{\"qr\":\"$qr\"}"; echo
for _ in $(seq 1 100); do curl -fsS "$BASE/status" | grep -q '"connected":true' && break; sleep 0.1; done
show "curl $BASE/status"; curl -fsS "$BASE/status"; echo

step "Send Alice a message"
show "curl -X POST $BASE/send-text -d '{\"phone\":\"5511999990001\",\"message\":\"Olá Alice! Seu pedido saiu para entrega.\"}'"
sent=$(curl -fsS -X POST "$BASE/send-text" -H 'Content-Type: application/json' -d '{"phone":"5511999990001","message":"Olá Alice! Seu pedido saiu para entrega."}')
echo "$sent"
MSG=$(echo "$sent" | json_field messageId)
sleep 1

step "Send Alice a picture (base64 here; an https URL works too)"
PIXEL='data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
show "curl -X POST $BASE/send-image -d '{\"phone\":\"5511999990001\",\"caption\":\"Seu pedido\",\"image\":\"$PIXEL\"}'"
image=$(curl -fsS -X POST "$BASE/send-image" -H 'Content-Type: application/json' -d "{\"phone\":\"5511999990001\",\"caption\":\"Seu pedido\",\"image\":\"$PIXEL\"}")
echo "$image"
IMG=$(echo "$image" | json_field messageId)
# It goes out after the pause between messages (1-3 s).
for _ in $(seq 1 100); do curl -fsS "http://$WASIM/v1/accounts/5511999990001/messages" | grep -q "$IMG" && break; sleep 0.1; done

step "What Alice's phone received"
show "curl http://$WASIM/v1/accounts/5511999990001/messages"
curl -fsS "http://$WASIM/v1/accounts/5511999990001/messages"; echo

step "Alice reads it and answers"
curl -fsS -X POST "http://$WASIM/v1/accounts/5511999990001/read" -H 'Content-Type: application/json' -d "{\"chat\":\"5511999990000\",\"ids\":[\"$MSG\"]}" >/dev/null
curl -fsS -X POST "http://$WASIM/v1/accounts/5511999990001/messages" -H 'Content-Type: application/json' -d "{\"to\":\"5511999990000\",\"text\":\"Obrigada!\",\"replyTo\":\"$MSG\"}"; echo
sleep 2

step "Alice sends a photo: the received webhook gives its URL on this server"
# The same one-pixel PNG the instance sent her.
PHOTO=${PIXEL#*,}
show "curl -X POST http://$WASIM/v1/accounts/5511999990001/messages -d '{\"to\":\"5511999990000\",\"type\":\"image\",\"caption\":\"Chegou!\",\"mediaBase64\":\"…\"}'"
curl -fsS -X POST "http://$WASIM/v1/accounts/5511999990001/messages" -H 'Content-Type: application/json' \
  -d "{\"to\":\"5511999990000\",\"type\":\"image\",\"mimeType\":\"image/png\",\"caption\":\"Chegou!\",\"mediaBase64\":\"$PHOTO\"}"; echo
URL=
for _ in $(seq 1 100); do URL=$(sed -n 's/.*"imageUrl": "\([^"]*\)".*/\1/p' "$LOGS/webhooks.log" | head -1) && [ -n "$URL" ] && break; sleep 0.1; done
if [ -z "$URL" ]; then echo "no received-image webhook came" >&2; exit 1; fi
show "curl $URL"
curl -fsS -o "$DATA/received" -w 'HTTP %{http_code}, %{content_type}, %{size_download} bytes: ' "$URL"
if cmp -s "$DATA/received" <(echo "$PHOTO" | base64 -d); then echo "the very picture Alice sent"; else echo "not what Alice sent" >&2; exit 1; fi

step "Done: the webhooks above show Connected, Delivery, SENT/RECEIVED/READ statuses, Alice's answer and her photo"
