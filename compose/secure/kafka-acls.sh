#!/usr/bin/env bash
# Makes the broker's ACLs those of a table (scripts/kafka/acls.txt), as
# scripts/kafka/EnsureAcls.java does natively: what is missing is created, every ACL the
# table lacks is removed, and a second run changes nothing. Run by the secure compose
# stack's topics job (compose/compose.secure.yaml) with the apache/kafka image's
# kafka-acls.sh, since that image has a JRE without the compiler a source-file program
# needs. One kafka-acls.sh lists, then one adds per principal, pattern type and
# operation, four at a time (each is a JVM's start: a dozen take seconds, not a minute).
#
#   kafka-acls.sh TABLE BOOTSTRAP ADMIN_PROPERTIES
set -euo pipefail
table=$1 bootstrap=$2 admin=$3
acls() { /opt/kafka/bin/kafka-acls.sh --bootstrap-server "$bootstrap" --command-config "$admin" "$@"; }

# One ACL a line: principal resource-type name pattern-type operation host permission,
# in the broker's words (User:x TOPIC name LITERAL WRITE * ALLOW).
wanted=$(sed 's/#.*//' "$table" | awk 'NF == 5 {
  print ($1 ~ /:/ ? $1 : "User:" $1), toupper($2), $3, toupper($4), toupper($5), "*", "ALLOW" }
  NF != 0 && NF != 5 { print FILENAME ": want 5 fields: " $0 > "/dev/stderr"; exit 1 }' | sort -u)
# kafka-acls.sh --list prints, for each resource:
#   Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=x, patternType=LITERAL)`:
#    	(principal=User:y, host=*, operation=WRITE, permissionType=ALLOW)
present=$(acls --list | awk '
  function field(line, key,   rest) { rest = substr(line, index(line, key "=") + length(key) + 1); sub(/[,)].*/, "", rest); return rest }
  /^Current ACLs for resource/ { type = field($0, "resourceType"); name = field($0, "name"); pattern = field($0, "patternType") }
  /\(principal=/ { print field($0, "principal"), type, name, pattern, field($0, "operation"), field($0, "host"), field($0, "permissionType") }' | sort -u)

option_of() {
  case "$1" in
    TOPIC) echo --topic ;; GROUP) echo --group ;; CLUSTER) echo --cluster ;;
    TRANSACTIONAL_ID) echo --transactional-id ;; DELEGATION_TOKEN) echo --delegation-token ;;
    USER) echo --user-principal ;; *) echo "unknown resource type $1" >&2; return 1 ;;
  esac
}
# An operation as kafka-acls.sh names it: WRITE -> Write, IDEMPOTENT_WRITE -> IdempotentWrite.
operation_of() { sed -E 's/(^|_)([A-Z])([A-Z]*)/\2\L\3/g' <<<"$1"; }

missing=$(comm -23 <(echo "$wanted") <(echo "$present") | sed '/^$/d')
extra=$(comm -13 <(echo "$wanted") <(echo "$present") | sed '/^$/d')

# add PRINCIPAL PATTERN OPERATION: the missing ACLs of one kafka-acls.sh --add.
add() {
  local args=() type name
  while read -r _ type name _; do
    args+=("$(option_of "$type")" "$name")
  done < <(awk -v p="$1" -v t="$2" -v o="$3" '$1 == p && $4 == t && $5 == o' <<<"$missing")
  acls --add --allow-principal "$1" --operation "$(operation_of "$3")" --resource-pattern-type "$2" "${args[@]}" >/dev/null
}
pids=()
failed=0
while read -r principal pattern operation; do
  [ -n "$principal" ] || continue
  add "$principal" "$pattern" "$operation" &
  pids+=($!)
  if [ ${#pids[@]} = 4 ]; then
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    pids=()
  fi
done < <(awk '{ print $1, $4, $5 }' <<<"$missing" | sort -u)
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ $failed = 0 ] || { echo "adding ACLs failed" >&2; exit 1; }

while read -r principal type name pattern operation host permission; do
  [ -n "$principal" ] || continue
  echo "removing $permission $principal $operation on $type $name ($pattern, host $host)"
  permission=${permission,,}
  acls --remove --force "--$permission-principal" "$principal" "--$permission-host" "$host" \
    --operation "$(operation_of "$operation")" --resource-pattern-type "$pattern" \
    "$(option_of "$type")" "$name" >/dev/null
done <<<"$extra"

count() { if [ -n "$1" ]; then wc -l <<<"$1"; else echo 0; fi; }
echo "acls: $(count "$wanted") in the table, $(count "$missing") created, $(count "$extra") removed"
