"""Drift between compose/compose.secure.yaml (the compose stack's secure mode, read over
compose/compose.yaml) and the rest of the repo: the binaries' settings, the native secure
mode's scripts (kafka-secure.sh, postgres-secure.sh, tls.sh), what compose/secure/init.sh
gives each container, and least privilege between the containers' volumes. Run by
scripts/check-compose after check_compose.py."""
import os
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
problems = []


def problem(text):
    problems.append(text)


def read(path):
    return open(os.path.join(ROOT, path)).read()


def shell_array(text, name):
    """The words of a bash array `NAME=(a b c)` in a script."""
    match = re.search(rf"^{name}=\(([^)]*)\)", text, re.M)
    return match.group(1).split() if match else []


base = yaml.safe_load(read("compose/compose.yaml"))["services"]
override = yaml.safe_load(read("compose/compose.secure.yaml"))
secure = override["services"]
kafka_secure = read("scripts/lib/kafka-secure.sh")
postgres_secure = read("scripts/lib/postgres-secure.sh")
init = read("compose/secure/init.sh")
KAFKA_PRINCIPALS = shell_array(kafka_secure, "KAFKA_PRINCIPALS")
BROKER_CN = re.search(r"^KAFKA_BROKER_CN=(\S+)", kafka_secure, re.M).group(1)
ROLES = shell_array(postgres_secure, "POSTGRES_SERVICE_ROLES")
VERIFY_ROLE = re.search(r"^POSTGRES_VERIFY_ROLE=(\S+)", postgres_secure, re.M).group(1)
DATABASES = shell_array(read("scripts/lib/common.sh"), "SERVICE_DATABASES")
APPS = {"order": "order-service", "payment": "payment-service", "inventory": "inventory-service"}


def target(volume):
    return str(volume).split(":")[1]


def merged(name):
    """A service as Compose reads it from both files: mappings merged, volumes by their
    target, every other key replaced."""
    result = dict(base.get(name, {}))
    for key, value in secure.get(name, {}).items():
        if key == "environment":
            result[key] = {**result.get(key, {}), **value}
        elif key == "volumes":
            kept = [v for v in result.get(key, []) if target(v) not in {target(o) for o in value}]
            result[key] = kept + value
        else:
            result[key] = value
    return result


for name in secure:
    if name not in base and name != "secure-init":
        problem(f"compose.secure.yaml: {name} is no service of compose.yaml")

# What init.sh gives each container: `give CONTAINER UID SOURCE NAME [MODE]`; "$svc" is
# each of the three services.
given = {}
for container, name in re.findall(r'^\s*give "?\$?(\w+)"? \S+ .*? "?([\w./$-]+?)"?(?: 0\d{3})?$', init, re.M):
    for owner in (APPS if container == "svc" else [container]):
        given.setdefault(owner, set()).add(name)
mounted = {}
for volume in [v for v in secure["secure-init"]["volumes"] if str(v).startswith("secure-")]:
    mounted[volume.split(":")[0]] = volume.split(":")[1].removeprefix("/out/")


def secure_volume(name, service):
    """The secure-<x> volume a service mounts at /secure, and the container of init.sh's it is."""
    for volume in service.get("volumes", []):
        if target(volume) == "/secure":
            return volume.split(":")[0], mounted.get(volume.split(":")[0])
    problem(f"{name}: mounts no volume at /secure")
    return None, None


def files_given(name, service, values):
    """Every /secure/<file> a service is told of is one init.sh gives its volume."""
    _, container = secure_volume(name, service)
    for value in values:
        for path in re.findall(r"/secure/([\w.-]+)", str(value)):
            if path not in given.get(container, set()):
                problem(f"{name}: reads /secure/{path}, which init.sh does not give {container}")


def env_of(*command):
    """Environment variables a binary reads, from its --help (clap prints [env: NAME=])."""
    help_text = subprocess.run([os.path.join(ROOT, "target/debug", command[0]), *command[1:], "--help"],
                               capture_output=True, text=True).stdout
    return set(re.findall(r"\[env: ([A-Z0-9_]+)[=\]]", help_text)), help_text


def postgres_url(name, url, role, database):
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    if parsed.username != role or parsed.path != f"/{database}" or parsed.password:
        problem(f"{name}: {url} is not role {role} on {database}, without a password")
    if query.get("sslmode") != ["verify-full"] or "sslrootcert" not in query or parsed.hostname != "postgres":
        problem(f"{name}: {url} does not verify postgres's certificate (sslmode=verify-full, sslrootcert)")


def kafka_client(name, env, principal):
    want = {"LIBRDKAFKA_SECURITY_PROTOCOL": "SASL_SSL", "LIBRDKAFKA_SASL_MECHANISMS": "SCRAM-SHA-512",
            "LIBRDKAFKA_SASL_USERNAME": principal}
    for key, value in want.items():
        if env.get(key) != value:
            problem(f"{name}: {key} is {env.get(key)}, not {value}")
    for key in ["LIBRDKAFKA_SASL_PASSWORD_FILE", "LIBRDKAFKA_SSL_CA_LOCATION"]:
        if key not in env:
            problem(f"{name}: does not set {key}")
    if principal not in KAFKA_PRINCIPALS:
        problem(f"{name}: Kafka principal {principal} is not one of kafka-secure.sh's {KAFKA_PRINCIPALS}")


# ---- the services: their principal, role, HTTPS, tokens, OTLP over TLS
for index, (name, binary) in enumerate(APPS.items()):
    read_by_binary = env_of(binary)[0] | {"RUST_LOG", "OTEL_RESOURCE_ATTRIBUTES"}
    first = merged(name)
    for instance in [name, f"{name}-2"]:
        service = merged(instance)
        env = service.get("environment", {})
        for key in env:
            if key not in read_by_binary and not key.startswith("LIBRDKAFKA_"):
                problem(f"{instance}: sets {key}, which {binary} does not read")
        kafka_client(instance, env, binary)
        postgres_url(instance, env.get("DATABASE_URL", ""), ROLES[index], DATABASES[index])
        for key in ["DATABASE_PASSWORD_FILE", "AUTH_PUBLIC_KEY_FILES", "HTTP_TLS_CERT_FILE", "HTTP_TLS_KEY_FILE",
                    "OTEL_EXPORTER_OTLP_CERTIFICATE"]:
            if key not in env:
                problem(f"{instance}: does not set {key}")
        if not env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").startswith("https://jaeger:"):
            problem(f"{instance}: OTEL_EXPORTER_OTLP_ENDPOINT is not https://jaeger:...")
        if "https://" not in str(service["healthcheck"]["test"]) or "--cacert" not in service["healthcheck"]["test"]:
            problem(f"{instance}: the health check does not ask over HTTPS, trusting the CA")
        files_given(instance, service, env.values())
        first_env = {k: v for k, v in first["environment"].items() if k != "KAFKA_GROUP_INSTANCE_ID"}
        if {k: v for k, v in env.items() if k != "KAFKA_GROUP_INSTANCE_ID"} != first_env:
            problem(f"{instance}: its environment differs from {name}'s beyond KAFKA_GROUP_INSTANCE_ID")
        if service.get("volumes") != first.get("volumes") or service["healthcheck"] != first["healthcheck"]:
            problem(f"{instance}: its volumes or health check differ from {name}'s")

# ---- sagactl: the operator's principal, the read-only role, the CA, the signing key
sagactl = merged("sagactl")
env = sagactl.get("environment", {})
commands = re.findall(r"^  ([a-z]+)\s", env_of("sagactl")[1].split("Commands:")[-1], re.M)
read_by_sagactl = set().union(*(env_of("sagactl", command)[0] for command in commands if command != "help"))
# Read with std::env rather than clap: each must be named in sagactl's or messaging's sources.
sources = "".join(open(os.path.join(d, f)).read() for top in ["crates/sagactl/src", "crates/messaging/src"]
                  for d, _, files in os.walk(os.path.join(ROOT, top)) for f in files if f.endswith(".rs"))
read_by_sagactl |= {key for key in env if f'"{key}"' in sources} | {"PATH"}
for key in env:
    if key not in read_by_sagactl and not key.startswith("LIBRDKAFKA_"):
        problem(f"sagactl: sets {key}, which sagactl does not read")
kafka_client("sagactl", env, "sagactl")
for database, key in zip(DATABASES, ["ORDERS_DATABASE_URL", "PAYMENTS_DATABASE_URL", "INVENTORY_DATABASE_URL"]):
    postgres_url("sagactl", env.get(key, ""), VERIFY_ROLE, database)
for key in ["ORDER_URL", "PAYMENT_URL", "INVENTORY_URL"]:
    if not env.get(key, "").startswith("https://"):
        problem(f"sagactl: {key} is not https")
for key in ["SAGA_CA_FILE", "AUTH_PRIVATE_KEY_FILE", "DATABASE_PASSWORD_FILE"]:
    if key not in env:
        problem(f"sagactl: does not set {key}")
files_given("sagactl", sagactl, env.values())
wrapper = [v for v in sagactl.get("volumes", []) if str(v).startswith("./secure/sagactl:")]
if not wrapper or not env.get("PATH", "").startswith(os.path.dirname(target(wrapper[0])) + ":"):
    problem("sagactl: compose/secure/sagactl (the operator's token per call) is not first on its PATH")

# ---- Kafka: the native secure mode's settings (kafka_secure_listeners), as KAFKA_* variables
kafka = merged("kafka")
env = kafka["environment"]
native = dict(re.findall(r"^([a-z.-]+)=(.*)$", kafka_secure, re.M))
native["super.users"] = native["super.users"].replace("$KAFKA_BROKER_CN", BROKER_CN)
for prop in ["sasl.enabled.mechanisms", "sasl.mechanism.inter.broker.protocol", "ssl.keystore.type",
             "ssl.truststore.type", "listener.name.controller.ssl.client.auth", "authorizer.class.name",
             "allow.everyone.if.no.acl.found", "super.users"]:
    key = "KAFKA_" + prop.upper().replace("_", "__").replace("-", "___").replace(".", "_")
    if env.get(key) != native.get(prop):
        problem(f"kafka: {key} is {env.get(key)}, natively {prop}={native.get(prop)}")
protocols = dict(entry.split(":") for entry in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
for listener in re.findall(r"(\w+)://", env["KAFKA_LISTENERS"]):
    want = "SSL" if listener == env["KAFKA_CONTROLLER_LISTENER_NAMES"] else "SASL_SSL"
    if protocols.get(listener) != want:
        problem(f"kafka: listener {listener} is {protocols.get(listener)}, not {want}")
if kafka.get("entrypoint") != ["/bin/bash", "/saga/kafka.sh"] or "./secure/kafka.sh:/saga/kafka.sh:ro,z" not in kafka["volumes"]:
    problem("kafka: does not start with compose/secure/kafka.sh (the SCRAM users at format time)")
if "--command-config /secure/admin.properties" not in str(kafka["healthcheck"]["test"]):
    problem("kafka: the health check does not log in as admin")
files_given("kafka", kafka, env.values())
topics = merged("topics")
script = "\n".join(topics["command"])
if "../scripts/kafka/acls.txt:/acls.txt:ro,z" not in topics["volumes"] or "/saga/kafka-acls.sh /acls.txt" not in script:
    problem("topics: does not make scripts/kafka/acls.txt true (compose/secure/kafka-acls.sh)")
if script.count("kafka-topics.sh") != script.count("--command-config /secure/admin.properties"):
    problem("topics: kafka-topics.sh does not log in as admin")

# ---- PostgreSQL: the native secure cluster's settings, its pg_hba, the roles' script
postgres = merged("postgres")
command = postgres["command"]
if command[:len(base["postgres"]["command"])] != base["postgres"]["command"]:
    problem(f"postgres: the secure command does not begin with compose.yaml's {base['postgres']['command']}")
options = dict(command[i + 1].split("=", 1) for i, word in enumerate(command) if word == "-c")
for setting, value in re.findall(r"^(\w+) = '?([^'\n]*)'?$", postgres_secure, re.M):
    if setting not in ("ssl_cert_file", "ssl_key_file") and options.get(setting) != value:
        problem(f"postgres: -c {setting} is {options.get(setting)}, natively {value}")
if "hba_file" not in options or f"./secure/pg_hba.conf:{options['hba_file']}:ro,z" not in postgres["volumes"]:
    problem("postgres: its hba_file is not compose/secure/pg_hba.conf")
hba = [line.split() for line in read("compose/secure/pg_hba.conf").splitlines() if line and not line.startswith("#")]
if any(line[0] not in ("local", "hostssl") for line in hba) or ["hostssl", "all", "all", "all", "scram-sha-256"] not in hba:
    problem("compose/secure/pg_hba.conf: TCP is not TLS and scram-sha-256 only")
if not any(str(v).startswith("./secure/postgres-roles.sh:/docker-entrypoint-initdb.d/") for v in postgres["volumes"]):
    problem("postgres: compose/secure/postgres-roles.sh is not an init script")
if any(target(v) == "/var/lib/postgresql/data" and v.startswith("pgdata:") for v in postgres["volumes"]):
    problem("postgres: the secure mode keeps its data in the default mode's pgdata")
files_given("postgres", postgres, list(options.values()) + list(postgres["environment"].values()))

# ---- Jaeger: the native overlay (scripts/jaeger/config-tls.yaml) and its certificate
jaeger = merged("jaeger")
if "--config=/saga/jaeger/config-tls.yaml" not in jaeger["command"] or "../scripts/jaeger:/saga/jaeger:ro,z" not in jaeger["volumes"]:
    problem("jaeger: does not read scripts/jaeger/config-tls.yaml")
tls_files = re.findall(r"\$\{env:JAEGER_TLS_DIR\}/([\w.-]+)", read("scripts/jaeger/config-tls.yaml"))
files_given("jaeger", jaeger, [f"{jaeger['environment'].get('JAEGER_TLS_DIR')}/{name}" for name in tls_files])

# ---- least privilege: the CA's key and every password in `secure`, secure-init's alone;
# each secure-<x> volume only in the containers of x (kafka's also in the topics job).
for name in set(base) | set(secure):
    volumes = [str(v).split(":")[0] for v in merged(name).get("volumes", []) if str(v).startswith("secure")]
    allowed = {f"secure-{name.removesuffix('-2')}"} | ({"secure-kafka"} if name == "topics" else set())
    if name == "secure-init":
        allowed = {"secure", *mounted}
    if not set(volumes) <= allowed:
        problem(f"{name}: mounts {sorted(set(volumes) - allowed)}, which are not its own")
for volume in ["secure", *mounted, "pgdata-secure"]:
    if volume not in override.get("volumes", {}):
        problem(f"compose.secure.yaml: volume {volume} is not declared")

if problems:
    for text in problems:
        print(f"drift: {text}")
    sys.exit(1)
print(f"compose secure: {len(secure)} services overridden or added, no drift")
