// Makes the broker's ACLs those of a table (scripts/kafka/acls.txt): one ACL a line,
// `principal resource-type name pattern-type operation`, `#` starting a comment. Every
// line allows the operation to User:<principal> from any host; ACLs the broker has that
// the table lacks are removed, so the table is the whole truth. Prints what it changed.
// Run with `java -cp <kafka libs> -Dsaga.kafka.config=<admin's client settings>
// EnsureAcls.java <bootstrap> <table>` (scripts/infra does, in the secure mode).
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class EnsureAcls {
    public static void main(String[] args) throws Exception {
        Set<AclBinding> wanted = read(Path.of(args[1]));
        Properties props = clientSettings();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        try (Admin admin = Admin.create(props)) {
            Collection<AclBinding> present = admin.describeAcls(AclBindingFilter.ANY).values().get(60, TimeUnit.SECONDS);
            List<AclBinding> missing = wanted.stream().filter(acl -> !present.contains(acl)).toList();
            List<AclBindingFilter> extra = new ArrayList<>();
            for (AclBinding acl : present) {
                if (!wanted.contains(acl)) {
                    extra.add(acl.toFilter());
                    System.out.println("removing " + show(acl));
                }
            }
            if (!missing.isEmpty()) admin.createAcls(missing).all().get(60, TimeUnit.SECONDS);
            if (!extra.isEmpty()) admin.deleteAcls(extra).all().get(60, TimeUnit.SECONDS);
            System.out.printf("acls: %d in the table, %d created, %d removed%n", wanted.size(), missing.size(), extra.size());
        }
    }

    static Set<AclBinding> read(Path table) throws Exception {
        Set<AclBinding> acls = new LinkedHashSet<>();
        int number = 0;
        for (String line : Files.readAllLines(table)) {
            number++;
            int hash = line.indexOf('#');
            String[] f = (hash < 0 ? line : line.substring(0, hash)).strip().split("\\s+");
            if (f.length == 1 && f[0].isEmpty()) continue;
            if (f.length != 5) throw new IllegalArgumentException(table + ":" + number + ": want 5 fields, got " + f.length);
            String principal = f[0].contains(":") ? f[0] : "User:" + f[0];
            ResourceType type = parse(ResourceType.class, f[1], table, number);
            PatternType pattern = parse(PatternType.class, f[3], table, number);
            AclOperation operation = parse(AclOperation.class, f[4], table, number);
            if (type == ResourceType.ANY || type == ResourceType.UNKNOWN
                    || (pattern != PatternType.LITERAL && pattern != PatternType.PREFIXED)
                    || operation == AclOperation.ANY || operation == AclOperation.ALL || operation == AclOperation.UNKNOWN) {
                throw new IllegalArgumentException(table + ":" + number + ": name one resource type, literal or prefixed, and one operation");
            }
            if (!acls.add(new AclBinding(new ResourcePattern(type, f[2], pattern),
                    new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW)))) {
                throw new IllegalArgumentException(table + ":" + number + ": a second time");
            }
        }
        return acls;
    }

    static <E extends Enum<E>> E parse(Class<E> kind, String word, Path table, int number) {
        try {
            return Enum.valueOf(kind, word.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(table + ":" + number + ": no " + kind.getSimpleName() + " " + word);
        }
    }

    static String show(AclBinding acl) {
        return String.format("%s %s %s %s %s %s", acl.entry().principal(), acl.entry().permissionType(),
                acl.entry().operation(), acl.pattern().resourceType(), acl.pattern().name(), acl.pattern().patternType());
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
