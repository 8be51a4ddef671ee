#!/usr/bin/env bash
# newman runs the committed Postman collection (docs/postman/) against a fresh `make run`-style server: web,
# worker, beat and the sandbox shops on embedded defaults (SQLite, SQLAlchemy broker) in a temporary data dir:
# `make run` itself.
# Fails on any failed assertion. Ports: NEWMAN_PORT (web) and the two following ones (sandbox shops).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${NEWMAN_PORT:-18200}"
export SANDBOX_PRESTASHOP_PORT="$((PORT + 1))" SANDBOX_PRODUCTSUP_PORT="$((PORT + 2))"
unset DATABASE_URL CELERY_BROKER_URL PRESTASHOP_URL PRODUCTSUP_API_URL PRODUCTSUP_STREAM_API_URL
export DJANGO_DEBUG=1
DATA="$(mktemp -d)"
export PRODUCTS_SYNC_DATA_DIR="$DATA"
export GESMART_WEBHOOK_SECRET="newman-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')"
export API_USER_PASSWORD="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(18))')"

[ -x node_modules/.bin/newman ] || npm ci --no-audit --no-fund

# Exactly `make run`, in a process group of its own so that stopping it stops every process honcho started.
setsid make run PORT="$PORT" >"$DATA/server.log" 2>&1 </dev/null &
SERVER=$!
cleanup() {
  kill -INT -- "-$SERVER" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

for _ in $(seq 1 240); do
  # The banner comes last, once web, worker, beat and the sandbox shops all answer.
  if grep -q "Ctrl-C stops everything." "$DATA/server.log" 2>/dev/null; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then cat "$DATA/server.log"; echo "server did not start"; exit 1; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$DATA/server.log"; echo "server not ready"; exit 1; }

.venv/bin/python manage.py create_api_user erp --password-env API_USER_PASSWORD >/dev/null
# GET /api/postman/ serves the same collection that is committed.
curl -fsS "http://127.0.0.1:$PORT/api/postman/" | cmp - docs/postman/products-sync.postman_collection.json

node_modules/.bin/newman run docs/postman/products-sync.postman_collection.json \
  --environment docs/postman/products-sync.postman_environment.json \
  --env-var "base_url=http://127.0.0.1:$PORT" \
  --env-var "username=erp" \
  --env-var "password=$API_USER_PASSWORD" \
  --env-var "webhook_secret=$GESMART_WEBHOOK_SECRET" \
  --reporters cli,json --reporter-json-export "$DATA/newman.json" --color off || { tail -50 "$DATA/server.log"; exit 1; }
# One plain closing line with the assertion counts.
.venv/bin/python - "$DATA/newman.json" <<'PY'
import json
import sys

stats = json.load(open(sys.argv[1]))["run"]["stats"]["assertions"]
print(f"newman: {stats['total'] - stats['failed']} passed, {stats['failed']} failed")
sys.exit(1 if stats["failed"] else 0)
PY
