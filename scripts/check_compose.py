"""Drift between compose/compose.yaml and the rest of the repo (see scripts/check-compose)."""
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
problems = []


def problem(text):
    problems.append(text)


compose = yaml.safe_load(open(os.path.join(ROOT, "compose/compose.yaml")))
services = compose["services"]

# The services' ports and binaries (DESIGN.md §7), and what each must be told in a
# container, where the defaults (127.0.0.1) would point at the container itself.
APPS = {"order": ("order-service", 8080), "payment": ("payment-service", 8081), "inventory": ("inventory-service", 8082)}
REQUIRED = ["KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "HTTP_ADDR"]
INFRA_PORTS = {"kafka": [9092], "postgres": [5432], "jaeger": [4317, 4318, 16686]}


def env_of(binary):
    """Environment variables a binary reads, from its --help (clap prints [env: NAME=])."""
    help_text = subprocess.run([os.path.join(ROOT, "target/debug", binary), "--help"], capture_output=True, text=True).stdout
    # `[env: NAME=value]`, or `[env: NAME]` for a value hidden from --help.
    return set(re.findall(r"\[env: ([A-Z0-9_]+)[=\]]", help_text))


def host_ports(service):
    ports = []
    for mapping in service.get("ports", []):
        parts = str(mapping).split(":")
        if len(parts) == 3 and parts[0] != "127.0.0.1":
            problem(f"{mapping}: published on {parts[0]}, not loopback")
        if parts[-1] != parts[-2]:
            problem(f"{mapping}: host and container ports differ")
        ports.append(int(parts[-1]))
    return ports


for name, (binary, port) in APPS.items():
    service = services.get(name)
    if service is None:
        problem(f"compose has no service {name}")
        continue
    # RUST_LOG is read by the log filter, OTEL_RESOURCE_ATTRIBUTES by OpenTelemetry's
    # SDK, not by the command line.
    read = env_of(binary) | {"RUST_LOG", "OTEL_RESOURCE_ATTRIBUTES"}
    if not read:
        problem(f"{binary} --help lists no environment variables")
    env = service.get("environment", {})
    for key in env:
        if key not in read:
            problem(f"{name}: sets {key}, which {binary} does not read")
    for key in REQUIRED:
        if key not in env:
            problem(f"{name}: does not set {key}")
    if env.get("OTEL_SERVICE_NAME") != binary:
        problem(f"{name}: OTEL_SERVICE_NAME is {env.get('OTEL_SERVICE_NAME')}, not {binary}")
    if env.get("HTTP_ADDR") != f"0.0.0.0:{port}":
        problem(f"{name}: HTTP_ADDR is {env.get('HTTP_ADDR')}, not 0.0.0.0:{port}")
    if host_ports(service) != [port]:
        problem(f"{name}: publishes {host_ports(service)}, not [{port}]")
    if service.get("command") != [binary]:
        problem(f"{name}: runs {service.get('command')}, not [{binary}]")
    if "healthcheck" not in service:
        problem(f"{name}: no healthcheck")

    if service.get("restart") != "unless-stopped":
        problem(f"{name}: restart is {service.get('restart')}, not unless-stopped (a crashed service must come back)")

# The scale profile: a second instance of each app, the same but for its static
# membership id, with no host ports (the first instance has them).
for name, (binary, port) in APPS.items():
    second = services.get(f"{name}-2")
    if second is None:
        problem(f"compose has no {name}-2 (the scale profile)")
        continue
    if second.get("profiles") != ["scale"]:
        problem(f"{name}-2: profiles {second.get('profiles')}, not [scale]")
    first_env = dict(services.get(name, {}).get("environment", {}))
    second_env = dict(second.get("environment", {}))
    ids = (first_env.pop("KAFKA_GROUP_INSTANCE_ID", None), second_env.pop("KAFKA_GROUP_INSTANCE_ID", None))
    if None in ids or ids[0] == ids[1]:
        problem(f"{name}, {name}-2: KAFKA_GROUP_INSTANCE_ID {ids}: both set, and different")
    if first_env != second_env:
        problem(f"{name}-2: its environment differs from {name}'s beyond KAFKA_GROUP_INSTANCE_ID")
    for key in ["command", "restart", "healthcheck"]:
        if second.get(key) != services.get(name, {}).get(key):
            problem(f"{name}-2: {key} differs from {name}'s")
    if second.get("ports"):
        problem(f"{name}-2: publishes ports; only the first instance does")
    if second.get("image") != services["order"]["image"] or second.get("pull_policy") != "never":
        problem(f"{name}-2: not the image order builds, with pull_policy never")

# The services' image is built once, by one service; the others only run it.
builders = [name for name, service in services.items() if "build" in service]
if builders != ["order"]:
    problem(f"the services image is built by {builders}, not by order alone")
for name in ["payment", "inventory", "sagactl"]:
    if services.get(name, {}).get("image") != services["order"]["image"] or services[name].get("pull_policy") != "never":
        problem(f"{name}: not the image order builds, with pull_policy never")

# PostgreSQL answers on its socket during the image's init phase: ask over TCP.
if "-h 127.0.0.1" not in str(services["postgres"]["healthcheck"]["test"]):
    problem("postgres: the health check does not ask over TCP (pg_isready -h 127.0.0.1)")
if "pgdata:/var/lib/postgresql/data" not in services["postgres"].get("volumes", []) or "pgdata" not in compose.get("volumes", {}):
    problem("postgres: its data is not in the named volume pgdata")

for name, ports in INFRA_PORTS.items():
    if sorted(host_ports(services[name])) != ports:
        problem(f"{name}: publishes {host_ports(services[name])}, not {ports}")
    if "healthcheck" not in services[name]:
        problem(f"{name}: no healthcheck")

# Versions in step with the native path.
if services["kafka"]["image"] != f"apache/kafka:{os.environ['KAFKA_VERSION']}":
    problem(f"kafka image {services['kafka']['image']} is not Kafka {os.environ['KAFKA_VERSION']} (scripts/lib/common.sh)")
if services["postgres"]["image"] != f"postgres:{os.environ['POSTGRES_MAJOR']}":
    problem(f"postgres image {services['postgres']['image']} is not PostgreSQL {os.environ['POSTGRES_MAJOR']}")
# Jaeger publishes the v2 binary of Go module v1.N.0 as image 2.(N-63).0.
minor = int(os.environ["JAEGER_VERSION"].split(".")[1])
if services["jaeger"]["image"] != f"jaegertracing/jaeger:2.{minor - 63}.0":
    problem(f"jaeger image {services['jaeger']['image']} is not the v2 of {os.environ['JAEGER_VERSION']}")

# Topics come from the same list as the native scripts (checked against contracts).
if not any(str(v).startswith("../scripts/kafka/topics.txt:/topics.txt:ro") for v in services["topics"].get("volumes", [])):
    problem("the topics job does not read scripts/kafka/topics.txt")

# The Dockerfile builds exactly the binaries compose runs (plus sagactl).
dockerfile = open(os.path.join(ROOT, "compose/Dockerfile")).read()
build = re.search(r"cargo build --release --locked((?:.|\n)*?)&&", dockerfile)
built = set(re.findall(r"-p ([a-z-]+)", build.group(1))) if build else set()
copied = set(re.findall(r"target/release/([a-z-]+)", dockerfile))
wanted = {binary for binary, _ in APPS.values()} | {"sagactl"}
if built != wanted or copied != wanted:
    problem(f"the Dockerfile builds {sorted(built)} and copies {sorted(copied)}, compose needs {sorted(wanted)}")

if problems:
    for text in problems:
        print(f"drift: {text}")
    sys.exit(1)
print(f"compose: {len(services)} services, no drift")
