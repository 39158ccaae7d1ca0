//! Client settings shared by every Kafka client of the workspace.

use rdkafka::ClientConfig;

use crate::client_settings::ClientSettings;

/// The largest message any producer of ours sends: the `.dlq` and `.retry` topics
/// take 4 MiB, and a producer must not refuse what those topics accept.
pub const MESSAGE_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Where the brokers are, plus the settings every client shares.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub bootstrap_servers: String,
    /// Prepended to every topic name (`KAFKA_TOPIC_PREFIX`): empty in production; a
    /// test or a second deployment on one cluster gets topics of its own with it.
    pub topic_prefix: String,
    /// librdkafka settings the deployment passes through (TLS, SASL, ...), applied over
    /// every default here.
    pub settings: ClientSettings,
}

impl KafkaConfig {
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            topic_prefix: String::new(),
            settings: ClientSettings::default(),
        }
    }

    pub fn with_settings(mut self, settings: ClientSettings) -> Self {
        self.settings = settings;
        self
    }

    pub fn with_topic_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.topic_prefix = prefix.into();
        self
    }

    /// The name of topic `name` in this deployment.
    pub fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.topic_prefix)
    }

    /// Settings common to every client: brokers, quick failure detection, and what the
    /// deployment passes through.
    pub fn client(&self) -> ClientConfig {
        self.finish(self.base())
    }

    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("socket.keepalive.enable", "true")
            .set("reconnect.backoff.max.ms", "2000");
        config
    }

    /// The passed-through settings go last: they override the defaults above, and
    /// [`ClientSettings`] refuses the ones the guarantees rest on.
    fn finish(&self, mut config: ClientConfig) -> ClientConfig {
        self.settings.apply(&mut config);
        config
    }

    /// The producer of DESIGN.md §5: idempotent, every in-sync replica acknowledges,
    /// Java-compatible partitioning, and room for a dead-lettered message.
    pub fn producer(&self) -> ClientConfig {
        let mut config = self.base();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("partitioner", "murmur2_random")
            .set("message.max.bytes", MESSAGE_MAX_BYTES.to_string())
            // Each saga hop waits for one linger (four hops per saga): 1 ms, not the
            // default 5, keeps p99 at 100 orders/s under 100 ms. Under load the relay's
            // pipelined batches fill the client's queue anyway, so batching holds.
            .set("linger.ms", "1")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", "30000");
        self.finish(config)
    }

    /// A consumer in `group` that stores offsets only when told to (DESIGN.md §5).
    ///
    /// Partitions are assigned by `cooperative-sticky` (KIP-429): a rebalance revokes only
    /// the partitions that move, and every other member keeps consuming the rest, where
    /// librdkafka's eager default (`range,roundrobin`) stops the whole group until each
    /// member has given up everything. rdkafka's default `ConsumerContext::rebalance`
    /// calls `incremental_assign`/`incremental_unassign` under this protocol, so the
    /// runtime's context sees in `Rebalance::Assign` and `Revoke` only the partitions
    /// added or taken away; its commit on revoke and its pause state for new partitions
    /// hold for those alone (see `consumer::context`). This needs librdkafka 2.10 or later
    /// (commits during an incremental rebalance no longer lose the assignment, #4908;
    /// resuming a partition that is not paused no longer rewinds it, #4686).
    /// Eager and cooperative members cannot share a group: changing the assignor of a
    /// running group means stopping all its members first.
    /// `tests/consumer/rebalance.rs` shows per-order order kept while partitions move.
    pub fn consumer(&self, group: &str) -> ClientConfig {
        let mut config = self.base();
        config
            .set("group.id", group)
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set("auto.offset.reset", "earliest")
            // The runtime commits what it stored itself, once a second and before
            // partitions go, and never for an assignment the client has lost (see
            // `SagaConsumerContext`). librdkafka's own auto-commit (up to 2.12, the one
            // rdkafka bundles) commits a lost assignment on revoke, with the member id
            // already reset: a static member gets FENCED_INSTANCE_ID for it, a fatal
            // error that stopped every surviving instance when a broker died
            // (librdkafka #5585).
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            // A member that died is noticed in 10 s, not 45: until then nobody
            // consumes its partitions (a static member sends no LeaveGroup).
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "2000")
            // A subscribed topic created after start-up is picked up in seconds, not
            // at librdkafka's default five-minute metadata refresh.
            .set("topic.metadata.refresh.interval.ms", "5000")
            // The client's own statistics give the `consumer_lag` gauge (see
            // `SagaConsumerContext::stats`) at no cost to the broker.
            .set("statistics.interval.ms", "10000");
        self.finish(config)
    }
}
