import net from "node:net";
import tls from "node:tls";

/**
 * A STOMP 1.2 CONNECT with `login` and `passcode` on a new connection to `port` (over TLS with
 * `tlsOptions`): what the node answered, once it sent a whole frame or closed.
 */
export function stompConnectAnswer(port: number, login: string, passcode: string, host: string, tlsOptions?: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const hello = (): void => void s.write(`CONNECT\naccept-version:1.2\nhost:${host}\nlogin:${login}\npasscode:${passcode}\n\n\0`);
    const s = tlsOptions ? tls.connect({ ...tlsOptions, host: "127.0.0.1", port }, hello) : net.connect(port, "127.0.0.1", hello);
    let text = "";
    s.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("\0")) s.destroy();
    });
    s.on("close", () => resolve(text));
    s.on("error", reject);
  });
}
