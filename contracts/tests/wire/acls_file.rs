//! The secure mode's ACLs come from `scripts/kafka/acls.txt`; each service's rights must
//! be exactly what DESIGN.md §2 gives it, as `contracts::topics` has it: it writes only
//! its own events topic and DLQ, reads only what it consumes and its `.retry`, and uses
//! only its own group. A topic added to the contracts without its ACLs fails here, not
//! at run time in the secure mode.

use std::collections::BTreeSet;
use std::path::Path;

use contracts::topics::{
    INVENTORY_EVENTS, INVENTORY_SERVICE, ORDER_EVENTS, ORDER_SERVICE, PAYMENT_EVENTS,
    PAYMENT_SERVICE, SAGA_TOPICS, SERVICES, consumed_by, dlq_topic, retry_topic,
};

/// `(principal, resource type, name, pattern type, operation)`, one a line.
type Acl = (String, String, String, String, String);

fn acls() -> Vec<Acl> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/kafka/acls.txt");
    std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|line| line.split('#').next().unwrap().trim())
        .filter(|line| !line.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(
                f.len(),
                5,
                "{line:?}: principal type name pattern operation"
            );
            (
                f[0].into(),
                f[1].into(),
                f[2].into(),
                f[3].into(),
                f[4].into(),
            )
        })
        .collect()
}

/// The literal names `principal` may `operation` on resources of `kind`.
fn rights(acls: &[Acl], principal: &str, kind: &str, operation: &str) -> BTreeSet<String> {
    acls.iter()
        .filter(|(p, k, _, pattern, op)| {
            p == principal && k == kind && op == operation && pattern == "literal"
        })
        .map(|(_, _, name, _, _)| name.clone())
        .collect()
}

fn set<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> BTreeSet<String> {
    items.into_iter().map(Into::into).collect()
}

#[test]
fn each_service_may_do_exactly_what_the_design_gives_it() {
    let acls = acls();
    let own_events = [
        (ORDER_SERVICE, ORDER_EVENTS),
        (PAYMENT_SERVICE, PAYMENT_EVENTS),
        (INVENTORY_SERVICE, INVENTORY_EVENTS),
    ];
    for (service, events) in own_events {
        assert_eq!(
            rights(&acls, service, "topic", "write"),
            set([events.to_owned(), dlq_topic(service)]),
            "{service} writes"
        );
        let mut reads = set(consumed_by(service).iter().copied());
        reads.insert(retry_topic(service));
        assert_eq!(
            rights(&acls, service, "topic", "read"),
            reads,
            "{service} reads"
        );
        assert_eq!(
            rights(&acls, service, "group", "read"),
            set([service]),
            "{service}'s groups"
        );
        let everything: Vec<_> = acls.iter().filter(|acl| acl.0 == service).collect();
        assert!(
            everything
                .iter()
                .all(|(_, _, _, pattern, op)| pattern == "literal"
                    && ["read", "write", "describe"].contains(&op.as_str())),
            "{service} holds a prefixed or wider right: {everything:?}"
        );
    }
}

#[test]
fn the_operator_replays_and_injects_but_never_writes_a_dead_letter() {
    let acls = acls();
    let mut writes = set(SAGA_TOPICS);
    writes.extend(SERVICES.iter().map(|s| retry_topic(s)));
    assert_eq!(rights(&acls, "sagactl", "topic", "write"), writes);
    let reads = rights(&acls, "sagactl", "topic", "read");
    for service in SERVICES {
        assert!(
            reads.contains(&dlq_topic(service)),
            "sagactl reads {service}'s DLQ"
        );
    }
}
