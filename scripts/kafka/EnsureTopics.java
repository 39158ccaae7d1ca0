// Creates the topics listed in a file (name partitions max.message.bytes per line) on
// the broker at args[0], waiting up to a minute for the broker to answer. Topics that
// exist are left alone. Run with `java -cp <kafka libs> EnsureTopics.java`.
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

public class EnsureTopics {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        List<NewTopic> wanted = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] f = line.split("\\s+");
            wanted.add(new NewTopic(f[0], Integer.parseInt(f[1]), (short) 1)
                    .configs(Map.of("max.message.bytes", f[2])));
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
            System.out.printf("topics: %d wanted, %d created, %d already there%n",
                    wanted.size(), created, wanted.size() - created);
        }
    }
}
