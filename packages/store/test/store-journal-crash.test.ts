/**
 * kill -9 of a process in the middle of a stream of sync appends: every append that had
 * resolved (and was therefore printed) is recovered, payload and meta intact.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { JournalStore } from "../src";
import { makeTempDir, removeDir, waitFor } from "./fixtures/store-helpers";

const CHILD = path.join(__dirname, "fixtures", "journal-crash-child.js");
const TSX_CJS = require.resolve("tsx/cjs");

function payloadFor(n: number): Buffer {
  const b = Buffer.alloc(1024, n & 0xff);
  b.write(`msg-${n}:`, 0, 16, "latin1");
  return b;
}

describe("JournalStore crash safety", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await makeTempDir("fedmq-crash-");
  });

  afterEach(async () => {
    await removeDir(dir);
  });

  test.each([1, 16])("kill -9 with %i concurrent writer(s): every acknowledged append is recovered", async (writers) => {
    const child = spawn(process.execPath, ["--require", TSX_CJS, CHILD, dir, String(writers)], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const acked = () => out.split("\n").filter((l) => /^\d+ \d+$/.test(l)).length;
    try {
      await waitFor(() => acked() >= 400 || child.exitCode !== null, 30_000, "400 acknowledged appends");
      expect(err).toBe("");
    } finally {
      child.kill("SIGKILL");
    }
    expect(await exited).toBe("SIGKILL");

    // Only complete lines count: the last one may have been cut by the kill.
    const printed = out
      .split("\n")
      .filter((l) => /^\d+ \d+$/.test(l))
      .map((l) => l.split(" ").map(Number) as [number, number]);
    expect(printed.length).toBeGreaterThanOrEqual(400);

    const store = new JournalStore({ dir, segmentSize: 64 * 1024 });
    const info = await store.open();
    try {
      expect(info.cleanShutdown).toBe(false);
      const bySeq = new Map([...info.messages].map((m) => [m.ref.seq, m]));
      const missing = printed.filter(([seq]) => !bySeq.has(seq));
      expect(missing).toEqual([]);
      for (const [seq, n] of printed) {
        const m = bySeq.get(seq)!;
        expect(m.meta.producerSeq).toBe(n);
        expect((await store.read(m.ref)).equals(payloadFor(n))).toBe(true);
      }
      expect(info.producerHighWater.get("crash-producer")).toBeGreaterThanOrEqual(Math.max(...printed.map(([, n]) => n)));
    } finally {
      await store.close();
    }
  });
});
