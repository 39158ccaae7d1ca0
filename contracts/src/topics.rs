//! Topics, consumer groups and service names (DESIGN.md §2 and §7).

/// Events of the order aggregate.
pub const ORDER_EVENTS: &str = "order-events";
/// Payment outcomes and refunds.
pub const PAYMENT_EVENTS: &str = "payment-events";
/// Stock reservations and releases.
pub const INVENTORY_EVENTS: &str = "inventory-events";

/// The three topics the saga runs on, in the order the happy path visits them.
pub const SAGA_TOPICS: [&str; 3] = [ORDER_EVENTS, PAYMENT_EVENTS, INVENTORY_EVENTS];

/// Service names: `OTEL_SERVICE_NAME`, consumer group, `ce_source` (with a leading `/`).
pub const ORDER_SERVICE: &str = "order-service";
pub const PAYMENT_SERVICE: &str = "payment-service";
pub const INVENTORY_SERVICE: &str = "inventory-service";

/// Every service, which is also every consumer group that owns a `.retry` and `.dlq`.
pub const SERVICES: [&str; 3] = [ORDER_SERVICE, PAYMENT_SERVICE, INVENTORY_SERVICE];

/// Who consumes what (DESIGN.md §1): each service, and the saga topics its group reads.
/// The services subscribe by it, `sagactl verify` measures lag by it, the simulation
/// delivers by it, and the AsyncAPI document is written from it.
pub const SUBSCRIPTIONS: [(&str, &[&str]); 3] = [
    (ORDER_SERVICE, &[PAYMENT_EVENTS, INVENTORY_EVENTS]),
    (PAYMENT_SERVICE, &[ORDER_EVENTS]),
    (INVENTORY_SERVICE, &[PAYMENT_EVENTS, ORDER_EVENTS]),
];

/// The saga topics `service` consumes; none for a name that is not a service.
pub fn consumed_by(service: &str) -> &'static [&'static str] {
    SUBSCRIPTIONS
        .iter()
        .find(|(name, _)| *name == service)
        .map_or(&[], |(_, topics)| topics)
}

/// The services that consume `topic`, in the order of [`SERVICES`].
pub fn consumers_of(topic: &str) -> Vec<&'static str> {
    SUBSCRIPTIONS
        .iter()
        .filter(|(_, topics)| topics.contains(&topic))
        .map(|(service, _)| *service)
        .collect()
}

/// Partitions of every topic the scripts create.
pub const PARTITIONS: i32 = 6;

/// `max.message.bytes` of the saga topics.
pub const SAGA_TOPIC_MAX_BYTES: usize = 1024 * 1024;
/// `max.message.bytes` of the `.retry` and `.dlq` topics: a dead-lettered message grows
/// by its DLQ headers, so these topics take more than the saga topics.
pub const SIDE_TOPIC_MAX_BYTES: usize = 4 * 1024 * 1024;

/// The topic `sagactl dlq replay` writes to, consumed by `group` alone.
pub fn retry_topic(group: &str) -> String {
    format!("{group}.retry")
}

/// The dead letter topic of `group`.
pub fn dlq_topic(group: &str) -> String {
    format!("{group}.dlq")
}

/// One topic as the scripts create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub max_message_bytes: usize,
}

/// Every topic of DESIGN.md §2: the saga topics, then each group's `.retry` and `.dlq`.
pub fn all_topics() -> Vec<TopicSpec> {
    let saga = SAGA_TOPICS.iter().map(|name| TopicSpec {
        name: (*name).to_owned(),
        partitions: PARTITIONS,
        max_message_bytes: SAGA_TOPIC_MAX_BYTES,
    });
    let side = SERVICES.iter().flat_map(|group| {
        [retry_topic(group), dlq_topic(group)].map(|name| TopicSpec {
            name,
            partitions: PARTITIONS,
            max_message_bytes: SIDE_TOPIC_MAX_BYTES,
        })
    });
    saga.chain(side).collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_saga_topic_is_consumed_by_the_services_its_events_concern() {
        assert_eq!(
            consumers_of(ORDER_EVENTS),
            [PAYMENT_SERVICE, INVENTORY_SERVICE]
        );
        assert_eq!(
            consumers_of(PAYMENT_EVENTS),
            [ORDER_SERVICE, INVENTORY_SERVICE]
        );
        assert_eq!(consumers_of(INVENTORY_EVENTS), [ORDER_SERVICE]);
        assert_eq!(consumed_by(PAYMENT_SERVICE), [ORDER_EVENTS]);
        assert!(consumed_by("nobody").is_empty());
    }
    use super::*;

    #[test]
    fn every_group_has_a_retry_and_a_dlq_topic() {
        let names: Vec<String> = all_topics().into_iter().map(|t| t.name).collect();
        assert_eq!(names.len(), 9);
        for group in SERVICES {
            assert!(names.contains(&format!("{group}.retry")));
            assert!(names.contains(&format!("{group}.dlq")));
        }
    }

    #[test]
    fn side_topics_take_larger_messages_than_saga_topics() {
        for topic in all_topics() {
            let expected = if SAGA_TOPICS.contains(&topic.name.as_str()) {
                SAGA_TOPIC_MAX_BYTES
            } else {
                SIDE_TOPIC_MAX_BYTES
            };
            assert_eq!(topic.max_message_bytes, expected, "{}", topic.name);
        }
    }
}
