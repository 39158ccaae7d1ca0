// Moves partition leadership back to each partition's preferred replica (the Admin API's
// preferred leader election, what kafka-leader-election.sh does) for the topics listed
// in args[1] (scripts/kafka/topics.txt), on the brokers at args[0]. A broker that was
// down lost the leadership of its partitions; once it is back in every in-sync replica
// set (waited for, up to args[2] seconds, default 120), the election hands them back.
// Prints `leader_moves=N`: the partitions whose leader changed.
// Run with `java -cp <kafka libs> ElectLeaders.java`; with -Dsaga.kafka.config=FILE it adds
// the client settings in FILE (scripts/infra passes admin's login in the secure mode).
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.ElectionNotNeededException;

public class ElectLeaders {
    public static void main(String[] args) throws Exception {
        Properties props = clientSettings();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        List<String> topics = Files.readAllLines(Path.of(args[1])).stream()
                .map(String::strip)
                .filter(line -> !line.isEmpty() && !line.startsWith("#"))
                .map(line -> line.split("\\s+")[0])
                .toList();
        long waitSeconds = args.length > 2 ? Long.parseLong(args[2]) : 120;
        try (Admin admin = Admin.create(props)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitSeconds);
            while (!allInSync(admin, topics)) {
                if (System.nanoTime() > deadline) {
                    System.err.println("some replicas are still out of sync; electing anyway");
                    break;
                }
                Thread.sleep(1000);
            }
            Set<TopicPartition> partitions = leaders(admin, topics).keySet();
            var results = admin.electLeaders(ElectionType.PREFERRED, new HashSet<>(partitions))
                    .partitions().get(60, TimeUnit.SECONDS);
            // The controller's answer, not a describe after it (a broker's metadata may
            // not show the new leaders yet): no error is a partition whose leadership
            // moved, ElectionNotNeeded one already led by its preferred replica.
            int failed = 0, moved = 0;
            for (var entry : results.entrySet()) {
                var error = entry.getValue();
                if (error.isEmpty()) {
                    moved++;
                } else if (!(error.get() instanceof ElectionNotNeededException)) {
                    System.err.printf("%s: %s%n", entry.getKey(), error.get().getMessage());
                    failed++;
                }
            }
            System.out.printf("leader_moves=%d partitions=%d failed=%d%n", moved, partitions.size(), failed);
        }
    }

    static Map<String, TopicDescription> describe(Admin admin, List<String> topics) throws Exception {
        return admin.describeTopics(topics).allTopicNames().get(60, TimeUnit.SECONDS);
    }

    static Map<TopicPartition, Integer> leaders(Admin admin, List<String> topics) throws Exception {
        Map<TopicPartition, Integer> leaders = new HashMap<>();
        for (TopicDescription topic : describe(admin, topics).values()) {
            for (TopicPartitionInfo p : topic.partitions()) {
                leaders.put(new TopicPartition(topic.name(), p.partition()), p.leader() == null ? -1 : p.leader().id());
            }
        }
        return leaders;
    }

    static boolean allInSync(Admin admin, List<String> topics) throws Exception {
        for (TopicDescription topic : describe(admin, topics).values()) {
            for (TopicPartitionInfo p : topic.partitions()) {
                Set<Integer> replicas = new HashSet<>();
                p.replicas().forEach(node -> replicas.add(node.id()));
                Set<Integer> isr = new HashSet<>();
                p.isr().forEach(node -> isr.add(node.id()));
                if (!isr.equals(replicas)) return false;
            }
        }
        return true;
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
