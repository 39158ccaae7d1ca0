// Proves the secure mode's ACLs (scripts/kafka/acls.txt) against a running secure broker:
// each principal does what DESIGN.md §2 gives it, and is refused, with the broker's
// authorization error, what it does not. It logs in with the librdkafka settings files
// scripts/infra hands out (<dir>/<principal>.properties, translated to the Java client's
// names), so the files are checked too. Prints one line a check; exits 1 if any failed.
// Run with `java -cp <kafka libs> CheckAcls.java <bootstrap> <dir> <controller host:port>
// [--quick]` (scripts/kafka/test-secure does, against a broker of its own); --quick runs
// the issue's own three checks alone.
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class CheckAcls {
    interface Action { void run(Properties client) throws Exception; }

    static String bootstrap;
    static Path dir;
    static int failed = 0;

    public static void main(String[] args) throws Exception {
        // The clients log every refusal they meet; here refusals are the point.
        // (The clients' classes log through the application class loader's context.)
        var logs = (org.apache.logging.log4j.core.LoggerContext) org.apache.logging.log4j.LogManager
                .getContext(ClassLoader.getSystemClassLoader(), false);
        logs.getConfiguration().getRootLogger().setLevel(org.apache.logging.log4j.Level.OFF);
        logs.updateLoggers();
        bootstrap = args[0];
        dir = Path.of(args[1]);
        // The issue's own test, then the services' other rights and limits.
        check("payment-service", "writes payment-events", null, c -> produce(c, "payment-events"));
        check("payment-service", "writes inventory-events", TopicAuthorizationException.class, c -> produce(c, "inventory-events"));
        check("order-service", "writes payment-events", TopicAuthorizationException.class, c -> produce(c, "payment-events"));
        if (!(args.length > 3 && args[3].equals("--quick"))) everyOtherCheck(args[2]);
        System.out.println(failed == 0 ? "acl checks: all passed" : "acl checks: " + failed + " FAILED");
        System.exit(failed == 0 ? 0 : 1);
    }

    static void everyOtherCheck(String controller) {
        Class<? extends Exception> topicDenied = TopicAuthorizationException.class;
        Class<? extends Exception> groupDenied = GroupAuthorizationException.class;
        check("inventory-service", "writes inventory-service.dlq", null, c -> produce(c, "inventory-service.dlq"));
        check("inventory-service", "writes payment-service.dlq", topicDenied, c -> produce(c, "payment-service.dlq"));
        check("payment-service", "writes payment-service.retry (replay is sagactl's)", topicDenied, c -> produce(c, "payment-service.retry"));
        check("payment-service", "reads order-events in group payment-service", null, c -> consume(c, "payment-service", "order-events"));
        check("payment-service", "reads order-events in group inventory-service", groupDenied, c -> consume(c, "inventory-service", "order-events"));
        check("payment-service", "reads inventory-events in group payment-service", topicDenied, c -> consume(c, "payment-service", "inventory-events"));
        check("order-service", "reads payment-service.dlq in group order-service", topicDenied, c -> consume(c, "order-service", "payment-service.dlq"));
        check("payment-service", "reads the offsets of sagactl-dlq.payment-service (dlq_depth)", null, c -> offsets(c, "sagactl-dlq.payment-service"));
        check("payment-service", "reads the offsets of sagactl-dlq.order-service", groupDenied, c -> offsets(c, "sagactl-dlq.order-service"));
        check("payment-service", "creates a topic", topicDenied, c -> createTopic(c, "acl-check-" + UUID.randomUUID()));
        check("payment-service", "deletes records of payment-events", topicDenied, c -> deleteRecords(c, "payment-events"));
        // The operator.
        check("sagactl", "writes order-events (inject)", null, c -> produce(c, "order-events"));
        check("sagactl", "writes payment-service.retry (dlq replay)", null, c -> produce(c, "payment-service.retry"));
        check("sagactl", "writes order-service.dlq", topicDenied, c -> produce(c, "order-service.dlq"));
        check("sagactl", "reads payment-service.dlq in group sagactl-dlq.payment-service (settle)", null, c -> consume(c, "sagactl-dlq.payment-service", "payment-service.dlq"));
        check("sagactl", "reads order-events in a group sagactl-load-* (load)", null, c -> consume(c, "sagactl-load-" + UUID.randomUUID(), "order-events"));
        check("sagactl", "reads order-events in group payment-service-x", groupDenied, c -> consume(c, "payment-service-x", "order-events"));
        check("sagactl", "commits payment-service's offsets from outside the group (topics empty)", null, c -> commitFromOutside(c, "payment-service", "order-events"));
        check("sagactl", "deletes records of payment-service.retry (topics empty)", null, c -> deleteRecords(c, "payment-service.retry"));
        check("sagactl", "creates a topic", topicDenied, c -> createTopic(c, "acl-check-" + UUID.randomUUID()));
        // Authentication.
        check("payment-service", "logs in with a wrong password", SaslAuthenticationException.class, c -> {
            c.put("sasl.jaas.config", jaas("payment-service", "wrong-" + UUID.randomUUID()));
            describeCluster(c);
        });
        check("payment-service", "reaches the controller listener " + controller + " without a client certificate",
                SslAuthenticationException.class, c -> {
                    Properties ssl = new Properties();
                    ssl.put("bootstrap.controllers", controller);
                    ssl.put("security.protocol", "SSL");
                    ssl.put("ssl.truststore.type", "PEM");
                    ssl.put("ssl.truststore.location", c.getProperty("ssl.truststore.location"));
                    ssl.put("request.timeout.ms", "10000");
                    ssl.put("default.api.timeout.ms", "15000");
                    try (Admin admin = Admin.create(ssl)) {
                        admin.describeCluster().clusterId().get(20, TimeUnit.SECONDS);
                    }
                });
    }

    /** Runs one check as `principal`; `denial` null means it must succeed, else fail with that error. */
    static void check(String principal, String what, Class<? extends Exception> denial, Action action) {
        String line = principal + " " + what;
        Throwable error = null;
        try {
            action.run(client(principal));
        } catch (Throwable e) {
            error = e;
        }
        Throwable match = error;
        while (match != null && denial != null && !denial.isInstance(match)) match = match.getCause();
        if (denial == null && error == null) {
            System.out.println("ok    " + line + ": allowed");
        } else if (denial != null && match != null) {
            System.out.println("ok    " + line + ": refused (" + denial.getSimpleName() + ")");
        } else {
            failed++;
            System.out.println("FAIL  " + line + ": expected " + (denial == null ? "success" : denial.getSimpleName())
                    + ", got " + (error == null ? "success" : error));
        }
    }

    /** The Java client settings of `principal`, from its librdkafka properties file. */
    static Properties client(String principal) throws Exception {
        Properties rd = new Properties();
        try (var in = Files.newInputStream(dir.resolve(principal + ".properties"))) {
            rd.load(in);
        }
        Properties c = new Properties();
        for (String key : rd.stringPropertyNames()) {
            switch (key) {
                case "security.protocol" -> c.put(key, rd.getProperty(key));
                case "sasl.mechanisms" -> c.put("sasl.mechanism", rd.getProperty(key));
                case "sasl.username", "sasl.password" -> { }
                case "ssl.ca.location" -> {
                    c.put("ssl.truststore.type", "PEM");
                    c.put("ssl.truststore.location", rd.getProperty(key));
                }
                default -> throw new IllegalArgumentException(principal + ".properties: unexpected setting " + key);
            }
        }
        c.put("sasl.jaas.config", jaas(rd.getProperty("sasl.username"), rd.getProperty("sasl.password")));
        c.put("bootstrap.servers", bootstrap);
        c.put("client.id", "check-acls-" + principal);
        c.put("request.timeout.ms", "10000");
        c.put("default.api.timeout.ms", "30000");
        return c;
    }

    static String jaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    static void produce(Properties c, String topic) throws Exception {
        c.put("max.block.ms", "20000");
        c.put("delivery.timeout.ms", "25000");
        try (var producer = new KafkaProducer<>(c, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, "acl-check".getBytes(), "{}".getBytes())).get(30, TimeUnit.SECONDS);
        }
    }

    /** Joins `group` on `topic`, waits for an assignment, and commits its positions. */
    static void consume(Properties c, String group, String topic) throws Exception {
        c.put("group.id", group);
        c.put("enable.auto.commit", "false");
        c.put("auto.offset.reset", "earliest");
        try (var consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (consumer.assignment().isEmpty()) {
                if (System.nanoTime() > deadline) throw new IllegalStateException("no partition assigned within 30 s");
                consumer.poll(Duration.ofMillis(200));
            }
            consumer.commitSync();
        }
    }

    static void offsets(Properties c, String group) throws Exception {
        try (Admin admin = Admin.create(c)) {
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        }
    }

    static void commitFromOutside(Properties c, String group, String topic) throws Exception {
        try (Admin admin = Admin.create(c)) {
            admin.alterConsumerGroupOffsets(group, Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(0)))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    static void deleteRecords(Properties c, String topic) throws Exception {
        try (Admin admin = Admin.create(c)) {
            admin.deleteRecords(Map.of(new TopicPartition(topic, 0), RecordsToDelete.beforeOffset(0)))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    static void createTopic(Properties c, String topic) throws Exception {
        try (Admin admin = Admin.create(c)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
    }

    static void describeCluster(Properties c) throws Exception {
        try (Admin admin = Admin.create(c)) {
            admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
        }
    }
}
