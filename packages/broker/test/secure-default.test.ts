/**
 * Secure by default: a listener on a non-loopback address needs TLS and users, unless the node
 * is told `insecure: true`. (No test binds beyond loopback: 192.0.2.1 is TEST-NET-1, never this
 * machine's, so a node allowed to try gets the kernel's EADDRNOTAVAIL instead of a listener.)
 */
import { BrokerNode, hashPassword } from "../src";

const base = { id: "sec", store: "memory" as const };

test("a plain listener beyond loopback: refused, naming what it lacks and the option that allows it", async () => {
  await expect(BrokerNode.create({ ...base, listen: ["tcp://127.0.0.1:0", "tcp://192.0.2.1:0"] })).rejects.toMatchObject({
    code: "FEDMQ_ERR_INVALID_ARGUMENT",
    message: "listener 'tcp://192.0.2.1:0' is not on a loopback address and has no TLS (a tls://, stomp+tls:// or wss:// listener) and no users (who may log in): secure it, or set 'insecure: true' to serve it as it is (option 'insecure')",
  });
  await expect(BrokerNode.create({ ...base, listen: ["stomp://0.0.0.0:0"] })).rejects.toThrow("listener 'stomp://0.0.0.0:0' is not on a loopback address");
});

test("TLS without users, or users without TLS, is still refused beyond loopback", async () => {
  const tls = { key: "k", cert: "c" };
  await expect(BrokerNode.create({ ...base, listen: ["tls://192.0.2.1:0"], tls })).rejects.toThrow("has no users (who may log in)");
  const users = [{ name: "u", password: await hashPassword("password-1234"), groups: [] }];
  await expect(BrokerNode.create({ ...base, listen: ["tcp://192.0.2.1:0"], users })).rejects.toThrow("has no TLS (a tls://, stomp+tls:// or wss:// listener): secure it");
});

test("insecure: true lets the node try (and warn); loopback listeners never need it", async () => {
  const warned: unknown[] = [];
  const logger = { trace() {}, debug() {}, info() {}, warn: (o: unknown) => warned.push(o), error() {}, fatal() {}, child() { return logger; } };
  await expect(BrokerNode.create({ ...base, listen: ["tcp://192.0.2.1:0"], insecure: true, logger })).rejects.toMatchObject({ code: "FEDMQ_ERR_LISTEN" });
  expect(warned).toContainEqual({ listen: "tcp://192.0.2.1:0", missing: ["TLS (a tls://, stomp+tls:// or wss:// listener)", "users (who may log in)"] });
  const local = await BrokerNode.create({ ...base, listen: ["tcp://127.0.0.1:0", "stomp://localhost:0"] });
  await local.close();
});
