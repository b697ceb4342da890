// Waits until a Kafka broker answers a metadata request (not just an open port).
// Run as a single-file source program: java -cp '<libs>/*' Probe.java HOST:PORT TIMEOUT_SECONDS [client.properties]
// Exit 0 when the cluster describes itself with at least one node, 1 on timeout.
import java.io.FileInputStream;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

public class Probe {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
        Properties props = new Properties();
        if (args.length > 2) {
            try (FileInputStream in = new FileInputStream(args[2])) { props.load(in); }
        }
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        String last = "no answer";
        try (Admin admin = Admin.create(props)) {
            while (System.nanoTime() < deadline) {
                try {
                    int nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(3000))
                        .nodes().get(4, TimeUnit.SECONDS).size();
                    if (nodes > 0) {
                        System.out.println("metadata ok: " + nodes + " node(s) at " + bootstrap);
                        return;
                    }
                } catch (Exception e) {
                    last = e.getClass().getSimpleName() + ": " + e.getMessage();
                }
                Thread.sleep(200);
            }
        }
        System.err.println("no metadata answer from " + bootstrap + " (" + last + ")");
        System.exit(1);
    }
}
