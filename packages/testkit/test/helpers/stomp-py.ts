/**
 * A real STOMP client for the end-to-end suites: python3-stomp (Debian's `python3-stomp`, run by
 * /usr/bin/python3), driven by a script the test gives as a string. The script runs after a
 * prelude (below) that opens connections, collects what arrives and waits for conditions with a
 * deadline (never a fixed sleep); it ends with `out(value)`, whose JSON the test gets back.
 */
import { existsSync } from "node:fs";
import { BinaryNotFoundError, ProcessExitedError, spawnManaged } from "../../src";

/** The interpreter that has `import stomp` (the `python3` first on PATH may be another one). */
export const STOMP_PYTHON = "/usr/bin/python3";

/** One MESSAGE as the prelude's `frame_json` reports it. */
export interface PyMessage {
  /** Headers as python-stomp parsed them (unescaped; for a repeated name, the first). */
  readonly headers: Record<string, string>;
  /** The body as UTF-8 text (invalid bytes as `\xNN`). */
  readonly body: string;
  /** The body's bytes, hex. */
  readonly bodyHex: string;
}

/** What the prelude's collector reports: messages in arrival order, receipt ids, ERROR frames. */
export interface PyCollected {
  readonly messages: PyMessage[];
  readonly receipts: string[];
  readonly errors: PyMessage[];
}

/**
 * Helpers every script can use:
 * - `ARGS`: the JSON object the test passed (`host`, `port` at least).
 * - `open_conn(version, addr=None, **connect_headers)` → `(conn, collector)`: STOMP 1.1 or 1.2 to `addr`
 *   (default `(ARGS["host"], ARGS["port"])`), connected (CONNECTED received), heart-beats off.
 * - `ack` / `nack(conn, version, frame, **kw)`: name the delivery as `version` asks (1.2: the MESSAGE's
 *   `ack` header; 1.1: its `message-id` and `subscription`).
 * - `close(conn, c)`: DISCONNECT with receipt `bye`, returning once the socket is closed.
 * - `Collector.wait(pred, what)`, `wait_messages(n)`, `wait_receipt(id)`, `wait_error()`, each with a 10 s deadline.
 * - `frame_json(frame)`, `collected(c)`: JSON-able forms of what arrived.
 * - `event(name)`: tell the test a step is done (see {@link StompPyRun.event}).
 * - `out(value)`: the result (one JSON line on stdout).
 */
const PRELUDE = String.raw`
import json, sys, threading, time
import stomp

ARGS = json.loads(sys.argv[1])
DEADLINE_S = 10.0

def frame_json(frame):
    body = frame.body if isinstance(frame.body, bytes) else frame.body.encode("utf-8")
    return {"headers": dict(frame.headers), "body": body.decode("utf-8", "backslashreplace"), "bodyHex": body.hex()}

class Collector(stomp.ConnectionListener):
    def __init__(self):
        self.cond = threading.Condition()
        self.messages = []
        self.receipts = []
        self.errors = []
        self.disconnected = False
    def _add(self, into, item):
        with self.cond:
            into.append(item)
            self.cond.notify_all()
    def on_message(self, frame):
        self._add(self.messages, frame)
    def on_receipt(self, frame):
        self._add(self.receipts, frame.headers["receipt-id"])
    def on_error(self, frame):
        self._add(self.errors, frame)
    def on_disconnected(self):
        with self.cond:
            self.disconnected = True
            self.cond.notify_all()
    def wait(self, pred, what):
        deadline = time.monotonic() + DEADLINE_S
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out after %ss waiting for %s; so far %s" % (DEADLINE_S, what, summary(self)))
                self.cond.wait(left)
    def wait_messages(self, n):
        self.wait(lambda: len(self.messages) >= n, "%d messages" % n)
        return self.messages[:n]
    def wait_receipt(self, rid):
        self.wait(lambda: rid in self.receipts, "receipt '%s'" % rid)
    def wait_error(self):
        self.wait(lambda: len(self.errors) > 0, "an ERROR frame")

def collected(c):
    return {"messages": [frame_json(m) for m in c.messages], "receipts": list(c.receipts), "errors": [frame_json(e) for e in c.errors]}

def summary(c):
    """What arrived, short enough for an error message: counts, the last 3 messages, receipts, errors."""
    last = [{"headers": m["headers"], "body": m["body"][:80]} for m in collected(c)["messages"][-3:]]
    return json.dumps({"messages": len(c.messages), "last": last, "receipts": c.receipts[-10:], "errors": [frame_json(e) for e in c.errors]})

CONNECTIONS = {"1.1": stomp.Connection11, "1.2": stomp.Connection12}

def open_conn(version="1.2", addr=None, **headers):
    conn = CONNECTIONS[version]([addr or (ARGS["host"], ARGS["port"])], auto_decode=False, heartbeats=(0, 0), reconnect_attempts_max=1)
    c = Collector()
    conn.set_listener("collector", c)
    conn.connect(wait=True, headers=headers)
    return conn, c

def ack(conn, version, frame, **kw):
    if version == "1.2":
        conn.ack(frame.headers["ack"], **kw)
    else:
        conn.ack(frame.headers["message-id"], frame.headers["subscription"], **kw)

def nack(conn, version, frame, **kw):
    if version == "1.2":
        conn.nack(frame.headers["ack"], **kw)
    else:
        conn.nack(frame.headers["message-id"], frame.headers["subscription"], **kw)

def close(conn, c, rid="bye"):
    """DISCONNECT with a receipt; returns once the receipt arrived and the socket is closed."""
    conn.disconnect(receipt=rid)
    c.wait_receipt(rid)

def out(value):
    sys.stdout.write(json.dumps({"result": value}) + "\n")
    sys.stdout.flush()

def event(name):
    sys.stdout.write(json.dumps({"event": name}) + "\n")
    sys.stdout.flush()
`;

/** `host` and `port` of the node's first `stomp://` listener, as scripts take them. */
export function stompAddress(listenUrls: readonly string[]): { host: string; port: number } {
  const url = listenUrls.find((u) => u.startsWith("stomp://"));
  if (url === undefined) throw new Error(`no stomp:// listener among ${JSON.stringify(listenUrls)}: add 'stomp://127.0.0.1:0' to the node's 'listen'`);
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/** A script running in the background: the test waits for its `event(name)` lines, then for its result. */
export interface StompPyRun<T> {
  /** Resolves once the script printed `event(name)`; rejects if it exits first. */
  event(name: string, timeoutMs?: number): Promise<void>;
  /** The value the script passed to `out`, once it exited; rejects as {@link runStompPy} does. */
  result(): Promise<T>;
}

/**
 * Start `script` (after the prelude) with `args` as `ARGS`. Its `event(name)` lines can be
 * awaited while it runs (the test acts on the node meanwhile); `result()` resolves with what it
 * passed to `out`, or rejects with its stderr (a python traceback, a prelude timeout) when it
 * exits with an error, or after `timeoutMs` (the process is then killed). Killed at the end of
 * the file by `cleanupProcessesAfterAll` if still running.
 */
export async function startStompPy<T>(script: string, args: { host: string; port: number } & Record<string, unknown>, timeoutMs = 20_000): Promise<StompPyRun<T>> {
  if (!existsSync(STOMP_PYTHON)) {
    throw new BinaryNotFoundError(STOMP_PYTHON, "apt-get install python3 python3-stomp");
  }
  const proc = await spawnManaged(STOMP_PYTHON, ["-c", `${PRELUDE}\n${dedent(script)}`, JSON.stringify(args)], { name: "stomp.py" });
  const parsed = (line: string): { event?: string; result?: T } | undefined => {
    try {
      return JSON.parse(line) as { event?: string; result?: T };
    } catch {
      return undefined;
    }
  };
  let result: Promise<T> | undefined;
  return {
    event: async (name, eventTimeoutMs = 10_000) => {
      await proc.waitForLine((l) => parsed(l)?.event === name, eventTimeoutMs, `event '${name}'`, { stream: "stdout" });
    },
    result: () => (result ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const first = await Promise.race([proc.exited, timedOut]);
      clearTimeout(timer);
      if (first === "timeout") {
        await proc.kill9();
        throw new ProcessExitedError(`stomp.py script still running after ${timeoutMs} ms: ${tail(proc.stderrLines)}`);
      }
      if (proc.stderrLines.some((l) => l.includes("No module named 'stomp'"))) {
        throw new BinaryNotFoundError(`the 'stomp' module of ${STOMP_PYTHON}`, "apt-get install python3-stomp");
      }
      if (first.code !== 0) throw new ProcessExitedError(`stomp.py script exited with code ${String(first.code)}: ${tail(proc.stderrLines)}`);
      const out = proc.stdoutLines.map(parsed).filter((x) => x !== undefined && "result" in x).pop();
      if (out === undefined) throw new ProcessExitedError(`stomp.py script printed no result (call out(value)): ${tail(proc.stderrLines)}`);
      return out.result as T;
    })()),
  };
}

/** {@link startStompPy}, then its result. */
export async function runStompPy<T>(script: string, args: { host: string; port: number } & Record<string, unknown>, timeoutMs = 20_000): Promise<T> {
  return (await startStompPy<T>(script, args, timeoutMs)).result();
}

function tail(lines: readonly string[]): string {
  return lines.slice(-15).join("\n");
}

/** The script with its common leading indentation removed (scripts are written indented in template literals). */
function dedent(text: string): string {
  const lines = text.replace(/^\n/, "").split("\n");
  const indents = lines.filter((l) => l.trim() !== "").map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length === 0 ? 0 : Math.min(...indents);
  return lines.map((l) => l.slice(cut)).join("\n");
}
