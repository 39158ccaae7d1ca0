// Deletes the topics whose whole name matches args[1] on the broker at args[0]: the
// leftovers of test runs, whose names carry a run's unique id. Every topic is three or
// more partition directories the broker opens at start, so thousands of leftovers make
// a restart take minutes. Run with `java -cp <kafka libs> DropTopics.java`; with
// -Dsaga.kafka.config=FILE it adds the client settings in FILE (scripts/infra passes
// admin's login in the secure mode).
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

public class DropTopics {
    public static void main(String[] args) throws Exception {
        Properties props = clientSettings();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "30000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "120000");
        Pattern pattern = Pattern.compile(args[1]);
        try (Admin admin = Admin.create(props)) {
            List<String> doomed = admin.listTopics().names().get(60, TimeUnit.SECONDS).stream()
                    .filter(name -> pattern.matcher(name).matches())
                    .sorted()
                    .toList();
            // In batches: one request for thousands of topics outlives the request timeout.
            for (int from = 0; from < doomed.size(); from += 200) {
                var batch = doomed.subList(from, Math.min(from + 200, doomed.size()));
                admin.deleteTopics(batch).all().get(120, TimeUnit.SECONDS);
            }
            System.out.printf("topics: %d left by tests, deleted%n", doomed.size());
        }
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
