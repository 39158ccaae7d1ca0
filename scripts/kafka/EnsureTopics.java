// Creates the topics listed in a file (name partitions max.message.bytes per line) on
// the brokers at args[0], waiting up to a minute for them to answer, with args[2]
// replicas of which args[3] must be in sync for a write (min.insync.replicas, set per
// topic). Topics that exist are left alone, but their min.insync.replicas is set again.
// With more than one replica, __consumer_offsets gets the same min.insync.replicas: the
// broker creates it on first use with its broker-wide default, 1, which would let a
// commit be acknowledged by one broker alone.
// Run with `java -cp <kafka libs> EnsureTopics.java`; with -Dsaga.kafka.config=FILE it adds
// the client settings in FILE (scripts/infra passes admin's login in the secure mode).
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;

public class EnsureTopics {
    static final String OFFSETS = "__consumer_offsets";

    public static void main(String[] args) throws Exception {
        Properties props = clientSettings();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        short replicas = args.length > 2 ? Short.parseShort(args[2]) : 1;
        String minInSync = args.length > 3 ? args[3] : "1";
        List<NewTopic> wanted = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] f = line.split("\\s+");
            wanted.add(new NewTopic(f[0], Integer.parseInt(f[1]), replicas)
                    .configs(Map.of("max.message.bytes", f[2], "min.insync.replicas", minInSync)));
        }
        try (Admin admin = Admin.create(props)) {
            admin.describeCluster().nodes().get(60, TimeUnit.SECONDS);
            var results = admin.createTopics(wanted).values();
            int created = 0;
            for (var entry : results.entrySet()) {
                try {
                    entry.getValue().get();
                    created++;
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) throw e;
                }
            }
            List<String> names = new ArrayList<>(wanted.stream().map(NewTopic::name).toList());
            if (replicas > 1) {
                // Finding a group's coordinator makes the broker create __consumer_offsets.
                admin.listConsumerGroupOffsets("saga-ensure-topics").partitionsToOffsetAndMetadata()
                        .get(60, TimeUnit.SECONDS);
                awaitTopic(admin, OFFSETS);
                names.add(OFFSETS);
            }
            setMinInSync(admin, names, minInSync);
            System.out.printf("topics: %d wanted, %d created, %d already there; %d replicas, min.insync.replicas=%s%n",
                    wanted.size(), created, wanted.size() - created, replicas, minInSync);
        }
    }

    static void awaitTopic(Admin admin, String name) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!admin.listTopics(new org.apache.kafka.clients.admin.ListTopicsOptions().listInternal(true))
                .names().get(30, TimeUnit.SECONDS).contains(name)) {
            if (System.nanoTime() > deadline) throw new IllegalStateException(name + " was not created within 60 s");
            Thread.sleep(500);
        }
    }

    static void setMinInSync(Admin admin, Collection<String> topics, String value) throws Exception {
        Map<ConfigResource, Collection<AlterConfigOp>> changes = new HashMap<>();
        for (String topic : topics) {
            changes.put(new ConfigResource(ConfigResource.Type.TOPIC, topic),
                    List.of(new AlterConfigOp(new ConfigEntry("min.insync.replicas", value), AlterConfigOp.OpType.SET)));
        }
        admin.incrementalAlterConfigs(changes).all().get(60, TimeUnit.SECONDS);
    }

    /** Client settings from the file named by -Dsaga.kafka.config (the secure mode's admin login), if any. */
    static Properties clientSettings() throws java.io.IOException {
        Properties props = new Properties();
        String file = System.getProperty("saga.kafka.config");
        if (file != null) {
            try (var in = Files.newInputStream(Path.of(file))) {
                props.load(in);
            }
        }
        return props;
    }
}
