// Kafka's own reading of sasl.jaas.config, for tests/unit/test_jaas_java.py: one base64
// (UTF-8) JAAS text per input line; one output line per text:
//   OK <module> <flag> <unnamed-count> [<name> <value>]...   (strings base64, names sorted)
//   ERR
// Run from source: java -cp 'KAFKA_LIB/*' JaasParse.java < cases
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.security.JaasContext;

public class JaasParse {
    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String text = new String(Base64.getDecoder().decode(line.trim()), StandardCharsets.UTF_8);
            StringBuilder out = new StringBuilder();
            try {
                Map<String, Object> configs = new HashMap<>();
                configs.put("sasl.jaas.config", new Password(text));
                List<AppConfigurationEntry> entries = JaasContext.loadClientContext(configs).configurationEntries();
                AppConfigurationEntry e = entries.get(0);
                String flag = e.getControlFlag().toString().replace("LoginModuleControlFlag: ", "");
                int unnamed = 0;
                List<String> names = new ArrayList<>();
                for (String k : e.getOptions().keySet()) {
                    if (k == null) unnamed++; else names.add(k);
                }
                names.sort(null);
                out.append("OK ").append(b64(e.getLoginModuleName())).append(' ').append(flag)
                   .append(' ').append(unnamed);
                for (String k : names) {
                    out.append(' ').append(b64(k)).append(' ').append(b64((String) e.getOptions().get(k)));
                }
            } catch (IllegalArgumentException ex) {
                out.setLength(0);
                out.append("ERR");
            }
            System.out.println(out);
        }
    }
}
