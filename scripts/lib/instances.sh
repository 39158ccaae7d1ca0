# How scripts/dev names and places the instances of the services, for every script that
# reaches them (scripts/dev, scripts/chaos, scripts/bench-scale). Sourced after common.sh.
#
# The first instance of a service is named after it (`order`, on :8080); the k-th is
# `<service>-<k>`, on the first one's port + 100 * (k - 1) (`order-2` on :8180).

SERVICES=(order payment inventory)

# service_port SVC: the first instance's HTTP port.
service_port() {
  case "$1" in
    order) echo 8080 ;;
    payment) echo 8081 ;;
    inventory) echo 8082 ;;
    *) die "unknown service '$1' (order | payment | inventory)" ;;
  esac
}

# instance_name SVC K: the K-th instance's name.
instance_name() { if [ "$2" = 1 ]; then echo "$1"; else echo "$1-$2"; fi; }

# instance_port SVC K: the K-th instance's HTTP port.
instance_port() { echo $(($(service_port "$1") + 100 * ($2 - 1))); }

# order_urls N: the first N order instances' URLs, comma-separated (sagactl load --order-url).
order_urls() {
  local k urls=()
  for k in $(seq 1 "$1"); do urls+=("http://127.0.0.1:$(instance_port order "$k")"); done
  (
    IFS=,
    echo "${urls[*]}"
  )
}
