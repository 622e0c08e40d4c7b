#!/usr/bin/env bash
# Compatibility test with Microsoft's JavaScript Graph client: builds allot,
# makes a self-signed certificate, serves HTTPS on a free loopback port,
# and runs test.mjs once per fetch implementation (Node's built-in fetch, and
# isomorphic-fetch as the client's README documents), each against a fresh
# tenant. Exits non-zero on any failure. Run from anywhere:
#
#   compat/graph-js/run.sh
#
# ALLOT_BIN uses an allot binary already built instead of building one.
# ALLOT_COMPAT_DB picks the database (default: a new SQLite file; a
# postgres://… URL of an empty database works too). ALLOT_BIG sets how many
# users the paging flow creates (default 1005: more than one page of 999).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
for tool in go node npm; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed" >&2; exit 2; }
done
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
	echo "run.sh: Node.js 20 or later is needed, found $(node --version)" >&2
	exit 2
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "== npm ci"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

if [ -n "${ALLOT_BIN:-}" ]; then
	echo "== use $ALLOT_BIN"
	cp "$ALLOT_BIN" "$work/allot"
else
	echo "== build allot"
	(cd "$root" && go build -o "$work/allot" ./cmd/allot)
fi

echo "== self-signed certificate for 127.0.0.1 and localhost"
cert="$work/cert.pem" key="$work/key.pem"
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=allot compat test" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$key" -out "$cert" 2>"$work/openssl.log" || { cat "$work/openssl.log" >&2; exit 1; }
else
	# No openssl: the same certificate from Go's standard library.
	cat >"$work/gencert.go" <<'EOF'
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"time"
)

func main() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "allot compat test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	k, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(os.Args[1], pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(os.Args[2], pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), 0o600)
}
EOF
	(cd "$work" && go run gencert.go "$cert" "$key")
fi

echo "== start allot serve over TLS"
op="op-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
db="${ALLOT_COMPAT_DB:-$work/allot.db}"
"$work/allot" serve --addr 127.0.0.1:0 --db "$db" --operator-token "$op" \
	--tls-cert "$cert" --tls-key "$key" >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
url=""
for _ in $(seq 1 300); do
	url="$(grep -o 'https://[^ ]*' "$work/server.out" | head -n1 || true)"
	[ -n "$url" ] && break
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "run.sh: allot serve exited:" >&2
		cat "$work/server.out" "$work/server.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [ -z "$url" ]; then
	echo "run.sh: allot serve announced no https:// URL" >&2
	cat "$work/server.out" "$work/server.log" >&2
	exit 1
fi
echo "   $url"

# The certificate is trusted the way Node documents for extra roots; TLS
# checks stay on (NODE_TLS_REJECT_UNAUTHORIZED is not touched).
export NODE_EXTRA_CA_CERTS="$cert"

# call METHOD PATH TOKEN JSON prints the JSON answer; any status but 2xx fails.
call() {
	node --input-type=module -e '
const [method, path, token, body] = process.argv.slice(1);
const res = await fetch(process.env.ALLOT_URL + path, { method, body, headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" } });
const text = await res.text();
if (!res.ok) { console.error(`${method} ${path}: ${res.status} ${text}`); process.exit(1); }
process.stdout.write(text);
' "$@"
}
field() { node -e 'let v = JSON.parse(require("fs").readFileSync(0, "utf8")); for (const k of process.argv[1].split(".")) v = v[k]; process.stdout.write(String(v));' "$1"; }
export ALLOT_URL="$url"

E3=6fd2c87f-b296-42f0-b197-1e91e994b900   # Office 365 E3
EXO2=19ec0d23-8335-4cbd-94ac-6050e30712fa # Exchange Online (Plan 2)
EXO1=4b9405b0-7788-4568-add1-99614e613b69 # Exchange Online (Plan 1)
big="${ALLOT_BIG:-1005}"
seats_e3=$((big + 50))
seats_exo2=1 # of the group's two members one waits for a seat

status=0
for mode in builtin-fetch isomorphic-fetch; do
	echo "== test.mjs with $mode"
	tenant="$(call POST /allot/v1/tenants "$op" "{\"displayName\":\"Graph JS $mode\",\"defaultUsageLocation\":\"US\"}")"
	token="$(printf '%s' "$tenant" | field token.secret)"
	call POST /allot/v1/subscriptions "$token" "{\"skuId\":\"$E3\",\"seats\":$seats_e3}" >/dev/null
	call POST /allot/v1/subscriptions "$token" "{\"skuId\":\"$EXO2\",\"seats\":$seats_exo2}" >/dev/null
	call POST /allot/v1/subscriptions "$token" "{\"skuId\":\"$EXO1\",\"seats\":5}" >/dev/null
	flags=() expect=builtin
	if [ "$mode" = isomorphic-fetch ]; then
		# Without Node's fetch, the client's documented polyfill takes over.
		flags=(--no-experimental-fetch) expect=polyfill
	fi
	if ! (cd "$here" && ALLOT_EXPECT_FETCH="$expect" ALLOT_TOKEN="$token" ALLOT_RUN="$mode" ALLOT_BIG="$big" SEATS_E3="$seats_e3" SEATS_EXO2="$seats_exo2" \
		SKU_E3="$E3" SKU_EXO2="$EXO2" SKU_EXO1="$EXO1" node "${flags[@]}" test.mjs); then
		status=1
	fi
done

echo "== stop the server and check the invariants"
kill "$server_pid"
if ! wait "$server_pid"; then
	echo "run.sh: allot serve did not stop cleanly" >&2
	status=1
fi
server_pid=""
if ! "$work/allot" check --db "$db"; then
	status=1
fi
if [ "$status" -ne 0 ]; then
	echo "run.sh: FAILED; server log:" >&2
	tail -n 50 "$work/server.log" >&2
fi
exit "$status"
