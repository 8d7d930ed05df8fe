#!/usr/bin/env bash
# Regenerates openssl-sm2-keys.json: SM2 keys made by the OpenSSL CLI and
# every encoding of them that OpenSSL writes. Needs openssl (3.x) and python3.
# Usage: tests/vectors/gen-openssl-sm2-keys.sh > tests/vectors/openssl-sm2-keys.json
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

gen() { # $1 = output name
  openssl genpkey -algorithm SM2 -out "$1.pem"
}

# Three ordinary keys, then one whose scalar has a leading zero byte (about
# 1 in 256), to pin how OpenSSL pads the SEC1 privateKey OCTET STRING.
for i in 1 2 3; do gen "k$i"; done
for try in $(seq 1 5000); do
  gen k4
  first=$(openssl ec -in k4.pem -outform DER 2>/dev/null | head -c 8 | tail -c 1 | od -An -tx1 | tr -d ' \n')
  [ "$first" = "00" ] && break
done
[ "$first" = "00" ] || { echo "no leading-zero key found" >&2; exit 1; }

for k in k1 k2 k3 k4; do
  openssl pkcs8 -topk8 -nocrypt -in "$k.pem" -outform DER -out "$k.p8.der"
  openssl pkey -in "$k.pem" -outform DER -out "$k.pkey.der"
  openssl ec -in "$k.pem" -outform DER -out "$k.sec1.der" 2>/dev/null
  openssl ec -in "$k.pem" -out "$k.sec1.pem" 2>/dev/null
  openssl pkey -in "$k.pem" -pubout -outform DER -out "$k.spki.der"
  openssl pkey -in "$k.pem" -pubout -out "$k.spki.pem"
  openssl pkey -in "$k.pem" -text -noout > "$k.txt"
done

OPENSSL_VERSION=$(openssl version) python3 - <<'PY'
import json, os, re
def hexf(p): return open(p, "rb").read().hex()
def textf(p): return open(p).read()
def field(txt, name):
    m = re.search(name + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", txt)
    return re.sub(r"[\s:]", "", m.group(1))
keys = []
for k in ["k1", "k2", "k3", "k4"]:
    txt = textf(k + ".txt")
    priv = field(txt, "priv")
    priv = priv[-64:].rjust(64, "0")  # OpenSSL prints the BIGNUM, maybe shorter or with a sign byte
    keys.append({
        "scalar": priv,
        "public_key": field(txt, "pub"),
        "pkcs8_pem": textf(k + ".pem"),
        "pkcs8_der": hexf(k + ".p8.der"),
        "pkey_der": hexf(k + ".pkey.der"),
        "sec1_der": hexf(k + ".sec1.der"),
        "sec1_pem": textf(k + ".sec1.pem"),
        "spki_der": hexf(k + ".spki.der"),
        "spki_pem": textf(k + ".spki.pem"),
    })
out = {
    "generator": os.environ["OPENSSL_VERSION"] + " CLI, tests/vectors/gen-openssl-sm2-keys.sh",
    "commands": {
        "pkcs8_pem": "openssl genpkey -algorithm SM2 -out k.pem",
        "pkcs8_der": "openssl pkcs8 -topk8 -nocrypt -in k.pem -outform DER",
        "pkey_der": "openssl pkey -in k.pem -outform DER  (OpenSSL 3.0 writes the type-specific SEC1 ECPrivateKey here, not PKCS#8)",
        "sec1_der": "openssl ec -in k.pem -outform DER",
        "sec1_pem": "openssl ec -in k.pem  (label 'SM2 PRIVATE KEY' in OpenSSL 3.0)",
        "spki_der": "openssl pkey -in k.pem -pubout -outform DER",
        "spki_pem": "openssl pkey -in k.pem -pubout",
        "scalar, public_key": "openssl pkey -in k.pem -text -noout (priv:, pub:)",
    },
    "notes": "The last key's scalar starts with a zero byte: OpenSSL pads the SEC1 privateKey to 32 octets.",
    "keys": keys,
}
print(json.dumps(out, indent=1))
PY
