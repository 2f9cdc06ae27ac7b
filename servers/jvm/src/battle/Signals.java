package battle;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * SIGTERM (and Ctrl-C) as a clean stop with exit status 0, as the Python servers end: the
 * JVM's own handling runs shutdown hooks and then exits 143. sun.misc.Signal (module
 * jdk.unsupported, in every OpenJDK) is reached by reflection so the build stays free of
 * "internal proprietary API" warnings; where it is missing, Server falls back to a shutdown
 * hook.
 */
final class Signals {
    private Signals() {}

    static boolean exitCleanlyOn(Runnable stop, String... names) {
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
            Object handler = Proxy.newProxyInstance(Signals.class.getClassLoader(),
                    new Class<?>[] {handlerClass}, (proxy, method, args) -> {
                        if (method.getName().equals("handle")) {
                            Thread stopper = new Thread(() -> {
                                try {
                                    stop.run();
                                } finally {
                                    Runtime.getRuntime().halt(0);
                                }
                            }, "battle-stop");
                            stopper.start();
                            return null;
                        }
                        if (method.getName().equals("hashCode")) {
                            return System.identityHashCode(proxy);
                        }
                        if (method.getName().equals("equals")) {
                            return proxy == args[0];
                        }
                        return "battle.Signals";
                    });
            for (String name : names) {
                handle.invoke(null, signalClass.getConstructor(String.class).newInstance(name),
                        handler);
            }
            return true;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return false;
        }
    }
}
