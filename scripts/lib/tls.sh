# The secure mode's shared parts (issue 17): the mode of each part, and one local CA for
# every secure link of the native stack. Kafka's broker, PostgreSQL and Jaeger's OTLP
# receivers present certificates it signs, so a client trusts one file,
# $SAGA_SECURE_DIR/ca.pem (.dev/secure/ca.pem). Sourced after common.sh by
# kafka-secure.sh and postgres-secure.sh.
#
#   $SAGA_STATE/<part>-security    the mode chosen last for kafka, postgres, jaeger:
#                                  `secure`; absent or `plain` is the default
#   $SAGA_STATE/tls/ (0700)        ca.pem, ca.key (0600): EC P-256, ten years, made once
#                                  and kept

SAGA_SECURE_DIR=${SAGA_SECURE_DIR:-$REPO_ROOT/.dev/secure}
case "$SAGA_SECURE_DIR" in /*) ;; *) SAGA_SECURE_DIR="$PWD/$SAGA_SECURE_DIR" ;; esac
SAGA_TLS_DIR="$SAGA_STATE/tls"
SECURE_PARTS=(kafka postgres jaeger)

# part_security PART: plain | secure, the mode chosen last for PART.
part_security() {
  local mode
  mode=$(cat "$SAGA_STATE/$1-security" 2>/dev/null || echo plain)
  echo "${mode:-plain}"
}

# part_security_set PART plain|secure: records the mode chosen.
part_security_set() {
  case "$2" in plain | secure) ;; *) die "unknown $1 mode '$2' (plain | secure)" ;; esac
  mkdir -p "$SAGA_STATE"
  echo "$2" >"$SAGA_STATE/$1-security"
}

tls_ca_pem() { echo "$SAGA_TLS_DIR/ca.pem"; }

# secure_write FILE: stdin to FILE, readable by its owner alone.
secure_write() { (umask 077 && cat >"$1.tmp") && chmod 600 "$1.tmp" && mv -f "$1.tmp" "$1"; }

# tls_ca: makes the CA if there is none. A CA that kafka-secure.sh made in its own
# directory before this file existed is moved here, so that what trusts it still does.
tls_ca() {
  local old="$SAGA_STATE/kafka-secure/tls"
  mkdir -p "$SAGA_TLS_DIR"
  chmod 700 "$SAGA_TLS_DIR"
  if [ ! -s "$SAGA_TLS_DIR/ca.key" ] && [ -s "$old/ca.key" ] && [ -s "$old/ca.pem" ]; then
    say "Moving Kafka's local CA to $SAGA_TLS_DIR, shared by every secure link ..."
    mv -f "$old/ca.key" "$old/ca.pem" "$SAGA_TLS_DIR/"
    [ ! -e "$old/ca.srl" ] || mv -f "$old/ca.srl" "$SAGA_TLS_DIR/"
  fi
  [ -s "$SAGA_TLS_DIR/ca.pem" ] && [ -s "$SAGA_TLS_DIR/ca.key" ] && return 0
  say "Making a local CA in $SAGA_TLS_DIR ..."
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$SAGA_TLS_DIR/ca.key" -out "$SAGA_TLS_DIR/ca.pem" -subj "/CN=saga local CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null) \
    || die "openssl could not make the CA"
  chmod 644 "$SAGA_TLS_DIR/ca.pem"
}

# tls_server_cert [--client] OUT CN [SAN...]: OUT.pem, a certificate signed by the CA
# (EC P-256, two years, subject CN, for DNS:localhost, IP:127.0.0.1 and the SANs given,
# e.g. DNS:kafka), and OUT.key, its key (0600). --client: also good for client
# authentication (the Kafka broker's mutual TLS with its controller). Made again when
# missing, within 30 days of its end, or no longer signed by the CA.
tls_server_cert() {
  local usage=serverAuth
  if [ "$1" = --client ]; then usage=serverAuth,clientAuth; shift; fi
  local out=$1 cn=$2 sans="DNS:localhost,IP:127.0.0.1" work san
  shift 2
  for san in "$@"; do sans+=",$san"; done
  tls_ca
  if [ -s "$out.pem" ] && [ -s "$out.key" ] && openssl x509 -in "$out.pem" -noout -checkend 2592000 >/dev/null 2>&1 \
    && openssl verify -CAfile "$(tls_ca_pem)" "$out.pem" >/dev/null 2>&1; then
    return 0
  fi
  say "Making the TLS certificate of $cn ($sans), signed by the local CA ..."
  work=$(mktemp -d)
  (
    umask 077
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature,keyEncipherment \
      "extendedKeyUsage=$usage" subjectKeyIdentifier=hash authorityKeyIdentifier=keyid \
      "subjectAltName=$sans" >"$work/ext"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key" -out "$work/csr" \
      -subj "/CN=$cn" 2>/dev/null
    openssl x509 -req -in "$work/csr" -CA "$SAGA_TLS_DIR/ca.pem" -CAkey "$SAGA_TLS_DIR/ca.key" \
      -CAcreateserial -days 730 -extfile "$work/ext" -out "$work/pem" 2>/dev/null
    mv -f "$work/key" "$out.key"
    mv -f "$work/pem" "$out.pem"
  ) || { rm -rf "$work"; die "openssl could not make the certificate of $cn"; }
  rm -rf "$work"
  chmod 600 "$out.key"
}

# tls_clients_ca: the CA where clients find it, $SAGA_SECURE_DIR/ca.pem.
tls_clients_ca() {
  tls_ca
  mkdir -p "$SAGA_SECURE_DIR"
  chmod 700 "$SAGA_SECURE_DIR"
  cp "$(tls_ca_pem)" "$SAGA_SECURE_DIR/ca.pem"
}

# tls_forget_clients_ca: removes $SAGA_SECURE_DIR/ca.pem, and the directory if empty,
# once no part is in the secure mode.
tls_forget_clients_ca() {
  local part
  for part in "${SECURE_PARTS[@]}"; do
    [ "$(part_security "$part")" = plain ] || return 0
  done
  rm -f "$SAGA_SECURE_DIR/ca.pem"
  rmdir "$SAGA_SECURE_DIR" 2>/dev/null || true
}
