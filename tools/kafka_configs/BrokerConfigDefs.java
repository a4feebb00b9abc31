/*
 * Writes, as JSON on stdout, the broker configuration Apache Kafka defines for itself: every
 * key of the broker's ConfigDef with its type and, for enumerations, its legal values; the
 * Kafka packages of the jars (a CLASS value must name one); and the Kafka version.
 *
 * Run by tools/kafka_configs/generate.py (`make kafka-configs`), compiled against the very
 * jars it reads. Only the public ConfigDef API plus reflection is used, so one source serves
 * Kafka 3.9 and 4.x: the validators keep their legal values in package-private fields.
 *
 *   java -cp 'classes:lib/*' BrokerConfigDefs lib
 */

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

import org.apache.kafka.common.config.ConfigDef;

public final class BrokerConfigDefs {

    /** Legal values of one key, and whether Kafka compares them ignoring case. */
    private static final class LegalValues {
        final Set<String> values = new LinkedHashSet<>();
        boolean caseInsensitive;
    }

    private BrokerConfigDefs() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: BrokerConfigDefs LIB_DIR");
            System.exit(2);
        }
        String[] source = new String[1];
        ConfigDef def = brokerConfigDef(source);
        StringBuilder out = new StringBuilder();
        Properties version = kafkaVersion();
        out.append("{\"kafkaVersion\":").append(quote(version.getProperty("version", "unknown")));
        out.append(",\"kafkaCommit\":").append(quote(version.getProperty("commitId", "unknown")));
        out.append(",\"source\":").append(quote(source[0]));
        out.append(",\"configs\":{");
        boolean first = true;
        for (ConfigDef.ConfigKey key : new TreeMap<>(def.configKeys()).values()) {
            out.append(first ? "" : ",").append(quote(key.name)).append(":{\"type\":")
                .append(quote(key.type.name()));
            LegalValues legal = enumeration(key.validator);
            if (legal != null && !legal.values.isEmpty()) {
                out.append(",\"values\":[");
                boolean firstValue = true;
                for (String value : legal.values) {
                    out.append(firstValue ? "" : ",").append(quote(value));
                    firstValue = false;
                }
                out.append("]");
                if (legal.caseInsensitive) {
                    out.append(",\"caseInsensitive\":true");
                }
            }
            out.append("}");
            first = false;
        }
        out.append("},\"kafkaPackages\":[");
        first = true;
        for (String pkg : kafkaPackages(new File(args[0]))) {
            out.append(first ? "" : ",").append(quote(pkg));
            first = false;
        }
        out.append("]}");
        System.out.println(out);
    }

    /** kafka-clients' own record of its version (AppInfoParser moved between 3.9 and 4.x). */
    private static Properties kafkaVersion() throws IOException {
        Properties props = new Properties();
        try (InputStream in = ConfigDef.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            if (in == null) {
                throw new IOException("kafka/kafka-version.properties is not in kafka-clients");
            }
            props.load(in);
        }
        return props;
    }

    /**
     * The broker's ConfigDef: `KafkaConfig.configDef()` on 3.9 and 4.x (both return
     * AbstractKafkaConfig.CONFIG_DEF, which merges the log, replication, coordinator, quota,
     * KRaft and remote-storage definitions); that field itself if KafkaConfig cannot load.
     */
    private static ConfigDef brokerConfigDef(String[] source) throws Exception {
        try {
            Method method = Class.forName("kafka.server.KafkaConfig").getMethod("configDef");
            source[0] = "kafka.server.KafkaConfig.configDef()";
            return (ConfigDef) method.invoke(null);
        } catch (ReflectiveOperationException | LinkageError e) {
            Field field = Class.forName("org.apache.kafka.server.config.AbstractKafkaConfig")
                .getField("CONFIG_DEF");
            source[0] = "org.apache.kafka.server.config.AbstractKafkaConfig.CONFIG_DEF";
            return (ConfigDef) field.get(null);
        }
    }

    /** The legal values a validator enforces, or null when it enforces no closed set. */
    private static LegalValues enumeration(ConfigDef.Validator validator) throws Exception {
        if (validator == null) {
            return null;
        }
        String name = validator.getClass().getName();
        if (validator instanceof ConfigDef.ValidString) {
            LegalValues legal = new LegalValues();
            legal.values.addAll(strings(field(validator, "validStrings")));
            return legal;
        }
        if (validator instanceof ConfigDef.CaseInsensitiveValidString) {
            LegalValues legal = new LegalValues();
            legal.values.addAll(new TreeSet<>(strings(field(validator, "validStrings"))));
            legal.caseInsensitive = true;
            return legal;
        }
        if (validator instanceof ConfigDef.ValidList) {
            // Each element must be one of these; an empty list means "any value" (4.x).
            return enumeration((ConfigDef.Validator) field(validator, "validString"));
        }
        if (name.endsWith("$CompositeValidator")) {
            // All validators must pass: a closed set among them bounds the whole.
            for (Object inner : (Collection<?>) field(validator, "validators")) {
                LegalValues legal = enumeration((ConfigDef.Validator) inner);
                if (legal != null && !legal.values.isEmpty()) {
                    return legal;
                }
            }
            return null;
        }
        if (name.equals("org.apache.kafka.server.common.MetadataVersionValidator")) {
            return metadataVersions();
        }
        return null;
    }

    /**
     * 3.9's protocol versions (`inter.broker.protocol.version`, `log.message.format.version`):
     * each release's full and short spelling ("3.9-IV0", "3.9"). Kafka accepts more (it reads
     * only the first two dotted parts), but only these spellings are taken as legal values.
     */
    private static LegalValues metadataVersions() throws Exception {
        Class<?> versions = Class.forName("org.apache.kafka.server.common.MetadataVersion");
        Object all = versions.getField("VERSIONS").get(null);
        Method version = versions.getMethod("version");
        Method shortVersion = versions.getMethod("shortVersion");
        LegalValues legal = new LegalValues();
        for (int i = 0; i < Array.getLength(all); i++) {
            Object v = Array.get(all, i);
            legal.values.add((String) version.invoke(v));
            legal.values.add((String) shortVersion.invoke(v));
        }
        return legal;
    }

    private static Object field(Object owner, String name) throws Exception {
        for (Class<?> c = owner.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(owner);
            } catch (NoSuchFieldException e) {
                // look in the superclass
            }
        }
        throw new NoSuchFieldException(owner.getClass().getName() + "." + name);
    }

    private static List<String> strings(Object collection) {
        List<String> out = new ArrayList<>();
        for (Object item : (Collection<?>) collection) {
            out.add(String.valueOf(item));
        }
        return out;
    }

    /** Packages of Kafka's own jars (kafka*.jar), under org.apache.kafka and kafka, unshaded. */
    private static Set<String> kafkaPackages(File lib) throws IOException {
        Set<String> packages = new TreeSet<>();
        File[] jars = lib.listFiles((dir, n) -> n.startsWith("kafka") && n.endsWith(".jar"));
        if (jars == null || jars.length == 0) {
            throw new IOException("no Kafka jar in " + lib);
        }
        for (File jar : jars) {
            try (JarFile file = new JarFile(jar)) {
                Enumeration<JarEntry> entries = file.entries();
                while (entries.hasMoreElements()) {
                    String entry = entries.nextElement().getName();
                    int slash = entry.lastIndexOf('/');
                    if (!entry.endsWith(".class") || slash < 0) {
                        continue;
                    }
                    String pkg = entry.substring(0, slash).replace('/', '.');
                    if ((pkg.startsWith("org.apache.kafka.") || pkg.equals("kafka")
                            || pkg.startsWith("kafka.")) && !pkg.startsWith("org.apache.kafka.shaded.")) {
                        packages.add(pkg);
                    }
                }
            }
        }
        return packages;
    }

    private static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                default:
                    if (c < 0x20 || c > 0x7e) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.append('"').toString();
    }
}
