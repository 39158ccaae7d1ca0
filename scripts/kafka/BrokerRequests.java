// Prints, as one JSON object, how many requests of each type the Kafka broker running as
// process args[0] has served since it started (its RequestMetrics, summed over API
// versions): {"Produce": n, "FetchConsumer": n, "OffsetCommit": n, ...}. It attaches to
// the broker's JVM and starts its local management agent, so the broker needs no JMX
// port. Run with `java BrokerRequests.java PID`; scripts/bench counts requests per saga
// from two such snapshots.
import com.sun.tools.attach.VirtualMachine;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class BrokerRequests {
    public static void main(String[] args) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        String address;
        try {
            address = vm.startLocalManagementAgent();
        } finally {
            vm.detach();
        }
        Map<String, Long> counts = new TreeMap<>();
        try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
            MBeanServerConnection server = connector.getMBeanServerConnection();
            ObjectName pattern = new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*");
            for (ObjectName name : server.queryNames(pattern, null)) {
                long count = ((Number) server.getAttribute(name, "Count")).longValue();
                counts.merge(name.getKeyProperty("request"), count, Long::sum);
            }
        }
        StringBuilder json = new StringBuilder("{");
        counts.forEach((request, count) -> {
            if (json.length() > 1) json.append(", ");
            json.append('"').append(request).append("\": ").append(count);
        });
        System.out.println(json.append('}'));
    }
}
