/**
 * Fuzzing the native protocol (security issue item 11): arbitrary bytes and arbitrary
 * well-formed fedwire frames, against a live node with users, in every authentication state —
 * before any connect, behind a connect whose login is still being checked, after a failed login,
 * after a login, and after claiming the bridge role without a node identity.
 *
 * Properties, for every case:
 * - the node only ever writes frames; never an internal error (no handler threw), nothing logged
 *   at error level, nothing unhandled in the process;
 * - at most one fatal error, and nothing after it;
 * - the connection ends: the node closes it, or it stays usable (a ping is answered) until the
 *   peer hangs up — then the node forgets it (no leaked connection);
 * - without a successful login (a `connected` frame), the peer gets nothing but an error, and
 *   nothing it sent is accepted or delivered to anyone;
 * - a witness client, logged in before, still sends with receipts and gets each of its messages
 *   once; after each state a client that logs in afresh does too.
 *
 * `scripts/fuzz.js` runs these properties long (FEDMQ_FUZZ_RUNS, FEDMQ_FUZZ_SEED).
 */
import fc from "fast-check";
import { encodeFrame, fedwire } from "@fedmq/protocol";
import { waitFor } from "@fedmq/testkit";
import { BrokerNode, hashPassword } from "../src";
import { FuzzPeer, LoopbackAddresses } from "./helpers/fuzz-peer";
import { connectArb, framePiece, pieceArb, wellFormed, type Piece } from "./helpers/fedwire-arbitraries";
import { FUZZ, fuzzParameters, fuzzProgress } from "../../testkit/test/helpers/fuzz-settings";

const USER = "u";
const PASSWORD = "password-123";
const MAX_FRAME_SIZE = 256 * 1024;
/** Every message a case sends carries this header, naming the case: who gets it can be checked. */
const MARK = "x-fuzz-case";
/** Cases of each state in CI (the failed-login one costs the node's 250 ms login penalty each). */
const CI_RUNS = 60;

type State = "before-connect" | "login-pending" | "login-failed" | "logged-in" | "bridge-claim";

let node: BrokerNode;
let passwordHash: string;
/** Logged in before every case, subscribed to every queue (1) and topic (2): sees what any case got accepted. */
let witness: FuzzPeer;
let addresses: LoopbackAddresses | undefined;
/** Fence messages the witness got: each must come once. */
const fencesSeen = new Set<string>();
let fences = 0;
let caseCount = 0;
/** Cases whose connection got `connected`: only their messages may reach anyone. */
const loggedIn = new Set<string>();
const errorLogs: unknown[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);

const logger = {
  debug: () => undefined, info: () => undefined, warn: () => undefined,
  error: (obj: unknown, msg?: string) => errorLogs.push({ obj, msg }),
  child: () => logger,
};

beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD);
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
});

afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
});

/** Keeps the witness from being dropped as idle (option 'idleTimeoutMs') while lanes run without fences. */
let keepAlive: NodeJS.Timeout | undefined;

beforeEach(async () => {
  errorLogs.length = 0;
  unhandled.length = 0;
  node = await BrokerNode.create({
    id: "n1", listen: ["tcp://127.0.0.1:0"], store: "memory", maxFrameSize: MAX_FRAME_SIZE, logger,
    users: [{ name: USER, password: passwordHash, groups: ["g"] }],
    authorization: [
      { destination: "queue://>", read: ["g"], write: ["g"], admin: ["g"] },
      { destination: "topic://>", read: ["g"], write: ["g"], admin: ["g"] },
    ],
  });
  addresses = (await LoopbackAddresses.available(node.port)) ? new LoopbackAddresses() : undefined;
  witness = await login();
  for (const [subscriptionId, destination] of [[1, "queue://>"], [2, "topic://>"]] as const) {
    const corr = 10 + subscriptionId;
    await witness.writeFrame({ corr, subscribe: { subscriptionId, destination, prefetch: 1_000_000 } });
    expect((await witness.waitFrame((f) => f.corr === corr, "the witness's receipt")).body).toBe("receipt");
  }
  await waitFor(() => node.info().connections === 1, { what: "the node to count only the witness" });
  keepAlive = setInterval(() => void witness.writeFrame({ ping: { nonce: 1 } }), 5_000);
});

afterEach(async () => {
  try {
    // A client logging in afresh sends with a receipt and consumes its message exactly once.
    const fresh = await login();
    await fresh.writeFrame({ corr: 2, subscribe: { subscriptionId: 7, destination: "queue://fresh", priority: 10 } });
    expect((await fresh.waitFrame((f) => f.corr === 2, "the subscription's receipt")).body).toBe("receipt");
    for (const [corr, body] of [[3, "hello"], [4, "last"]] as const) {
      await fresh.writeFrame({ corr, send: { message: { destination: "queue://fresh", body: Buffer.from(body), persistent: true } } });
      expect((await fresh.waitFrame((f) => f.corr === corr, `the receipt of '${body}'`)).body).toBe("receipt");
    }
    await fresh.waitUntil(() => fresh.deliveries().length >= 2, "both messages at the fresh client");
    expect(fresh.deliveries().map((d) => Buffer.from(d.message!.body!).toString())).toEqual(["hello", "last"]);
    await fresh.hangUp();
    await fence();
    await waitFor(() => node.info().connections === 1, { what: "the node to count only the witness" });
    expect(witness.closed).toBe(false);
    expect(errorLogs).toEqual([]);
    expect(unhandled).toEqual([]);
  } finally {
    clearInterval(keepAlive);
    witness.destroy();
    await node.close();
  }
});

/** A client that logged in (from a loopback address of its own). */
async function login(): Promise<FuzzPeer> {
  const c = await FuzzPeer.open(node.port, addresses?.next());
  await c.writeFrame(FuzzPeer.connect(1, USER, PASSWORD));
  const answer = await c.waitFrame((f) => f.corr === 1, "the login's answer");
  expect(answer.body).toBe("connected");
  return c;
}

/**
 * The witness sends a message to a queue of its own and gets it back exactly once (the node
 * still serves), acknowledges what it was given, and checks that every message it got (and
 * `seen`) was sent by a case that logged in. What it checked it forgets (a campaign is long).
 */
async function fence(seen: readonly fedwire.IDeliver[] = []): Promise<void> {
  const n = ++fences;
  const body = `fence-${n}`;
  const corr = 1000 + n;
  const bodyOf = (d: fedwire.IDeliver) => Buffer.from(d.message!.body!).toString();
  await witness.writeFrame({ corr, send: { message: { destination: `queue://fence.${n}`, body: Buffer.from(body), persistent: false } } });
  expect((await witness.waitFrame((f) => f.corr === corr, `the receipt of ${body}`)).body).toBe("receipt");
  await witness.waitUntil(() => witness.deliveries().some((d) => bodyOf(d) === body), `${body} at the witness`);
  const frames = witness.frames.splice(0);
  expect(frames.filter((f) => f.body === "error")).toEqual([]);
  const deliveries = frames.filter((f) => f.body === "deliver").map((f) => f.deliver!);
  for (const d of deliveries) {
    if (!/^fence-\d+$/.test(bodyOf(d))) continue;
    if (fencesSeen.has(bodyOf(d))) throw new Error(`${bodyOf(d)} was delivered to the witness twice`);
    fencesSeen.add(bodyOf(d));
  }
  if (deliveries.length > 0) await witness.writeFrame({ ack: { tags: deliveries.map((d) => Number(d.tag)) } });
  for (const d of [...deliveries, ...seen]) {
    const from = d.message?.headers?.[MARK];
    if (from !== undefined && !loggedIn.has(from)) throw new Error(`message of case ${from}, which never logged in, was delivered to subscription ${d.subscriptionId}`);
  }
}

/** The piece's bytes; a well-formed send carries the case's marker. */
function bytesOf(piece: Piece, caseId: string): Uint8Array {
  const message = piece.frame?.send?.message;
  if (!message) return piece.bytes;
  return encodeFrame({ ...piece.frame, send: { message: { ...message, headers: { ...message.headers, [MARK]: caseId } } } });
}

/** Writes `bytes` in the pieces `cuts` make, the first right behind `prefix` (one write). */
async function writeCut(peer: FuzzPeer, prefix: Uint8Array, bytes: Uint8Array, cuts: readonly number[]): Promise<void> {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  let first = true;
  for (const to of [...at, bytes.length]) {
    const chunk = bytes.subarray(from, to);
    await peer.write(first ? Buffer.concat([prefix, chunk]) : chunk);
    first = false;
    from = to;
  }
}

interface Case {
  readonly pieces: readonly Piece[];
  readonly cuts: readonly number[];
  /** The connect of the state (login-failed: wrong credentials; bridge-claim: role bridge). */
  readonly connect?: fedwire.IConnect;
  /** login-failed: what the peer sends once it was told the login failed. */
  readonly after?: readonly Piece[];
}

const piecesArb = fc.array(pieceArb(MAX_FRAME_SIZE), { minLength: 1, maxLength: 8 });
const cutsArb = fc.array(fc.nat(), { maxLength: 3 });
const wrongCredentials = fc.oneof(
  fc.record({ username: fc.constant(USER), password: fc.string({ maxLength: 40 }).filter((p) => p !== PASSWORD) }),
  fc.record({ username: fc.constantFrom("nobody", "U", "node", ""), password: fc.constantFrom(PASSWORD, "", "x") }),
);

const caseArb: Record<State, fc.Arbitrary<Case>> = {
  "before-connect": fc.record({ pieces: piecesArb, cuts: cutsArb }),
  "login-pending": fc.record({ pieces: piecesArb, cuts: cutsArb }),
  "logged-in": fc.record({ pieces: piecesArb, cuts: cutsArb }),
  "login-failed": fc.record({
    pieces: piecesArb, cuts: cutsArb, after: fc.array(pieceArb(MAX_FRAME_SIZE), { maxLength: 3 }),
    connect: fc.tuple(connectArb, wrongCredentials).map(([c, cred]): fedwire.IConnect => ({ ...c, versions: [1], role: "client", ...cred })).filter((connect) => wellFormed({ connect })),
  }),
  "bridge-claim": fc.record({
    pieces: piecesArb, cuts: cutsArb,
    connect: fc.tuple(connectArb, fc.boolean())
      .map(([c, rightPassword]): fedwire.IConnect => ({ ...c, versions: [1], role: "bridge", ...(rightPassword ? { username: USER, password: PASSWORD } : {}) }))
      .filter((connect) => wellFormed({ connect })),
  }),
};

/**
 * Counterexamples the campaign found, run first in every run: a pong for a ping that waited
 * behind the login came before `connected`; a fatal error jumped ahead of a reply queued before
 * it (the connection sent frames after its fatal error).
 */
const FOUND: Partial<Record<State, Case[]>> = {
  "login-pending": [{ pieces: [framePiece({ corr: 0, error: { code: "", message: "", fatal: false } })], cuts: [] }],
  "logged-in": [{ pieces: [framePiece({ corr: 0, send: { message: {} } }), { bytes: Buffer.from([0, 0, 0, 0]), aligned: true }, framePiece({ corr: 0, disconnect: {} })], cuts: [] }],
};

/** The error a state's connect must end in, when the state itself refuses. */
const REFUSAL: Partial<Record<State, string>> = { "login-failed": "FEDMQ_ERR_UNAUTHENTICATED", "bridge-claim": "FEDMQ_ERR_FORBIDDEN" };
/** Bytes that are no frame end the connection at once, even while its login is being checked. */
const STREAM_ERRORS = ["FEDMQ_ERR_FRAME_TOO_LARGE", "FEDMQ_ERR_MALFORMED_FRAME", "FEDMQ_ERR_UNKNOWN_FRAME"];

/**
 * One case. `lanes`: cases of other lanes run at the same time (only in states where nobody logs
 * in), so the connection count is checked by address, and no fence runs.
 */
async function runCase(state: State, c: Case, lanes: boolean): Promise<void> {
  const caseId = `case-${++caseCount}`;
  const received = node.info().received;
  const peer = await FuzzPeer.open(node.port, addresses?.next());
  const remote = peer.remote;
  try {
    const fuzz = Buffer.concat(c.pieces.map((p) => bytesOf(p, caseId)));
    const aligned = c.pieces.every((p) => p.aligned);
    if (state === "logged-in") {
      await peer.writeFrame(FuzzPeer.connect(1, USER, PASSWORD));
      expect((await peer.waitFrame((f) => f.corr === 1, "the login's answer")).body).toBe("connected");
    }
    const prefix = state === "login-pending" ? encodeFrame(FuzzPeer.connect(1, USER, PASSWORD)) : c.connect ? encodeFrame({ corr: 1, connect: c.connect }) : Buffer.alloc(0);
    await writeCut(peer, prefix, fuzz, c.cuts);
    if (c.after) {
      await peer.waitUntil(() => peer.errors().length > 0 || peer.closed, "the refusal");
      for (const p of c.after) await peer.write(bytesOf(p, caseId));
    }
    // A stream still on a frame boundary: a ping is answered (the connection is usable), or the
    // connection was (or now is) closed. Off a boundary the node waits for the rest: hang up.
    if (aligned && !peer.closed) {
      const nonce = 7_000_000 + caseCount;
      await peer.writeFrame({ ping: { nonce } });
      await peer.waitUntil(() => peer.closed || peer.frames.some((f) => f.body === "pong" && Number(f.pong!.nonce) === nonce), "a pong or the close");
    }
    await peer.hangUp();
    await waitFor(() => !node.connectionInfo().some((x) => x.remoteAddress === remote), { what: `the node to forget connection ${remote}` });

    expect(peer.decodeError).toBeUndefined();
    // Nothing a peer sends is the node's own failure.
    expect(errorLogs).toEqual([]);
    const errors = peer.errors();
    for (const e of errors) {
      expect(e.code).toMatch(/^FEDMQ_ERR_[A-Z_]+$/);
      expect(e.code).not.toBe("FEDMQ_ERR_INTERNAL");
      expect(e.message).toMatch(/\S/);
    }
    const fatal = peer.frames.findIndex((f) => f.body === "error" && f.error!.fatal);
    if (fatal >= 0) expect(fatal).toBe(peer.frames.length - 1);
    const refusal = REFUSAL[state];
    if (refusal !== undefined) {
      expect(errors.map((e) => e.fatal)).toEqual([true]);
      expect(state === "login-failed" ? [refusal, ...STREAM_ERRORS] : [refusal]).toContain(errors[0]!.code);
    }
    if (peer.connected) {
      expect(refusal).toBeUndefined();
      expect(peer.frames[0]!.body).toBe("connected");
      loggedIn.add(caseId);
    } else {
      // Without a login: an error at most, nothing accepted.
      expect(peer.frames.filter((f) => f.body !== "error")).toEqual([]);
      expect(node.info().received).toBe(received);
    }
    if (state === "logged-in") expect(peer.connected).toBe(true);
    if (!lanes) {
      await fence(peer.deliveries());
      expect(node.info().connections).toBe(1);
    }
  } finally {
    peer.destroy();
  }
  // Where every connection comes from 127.0.0.1, a failed login slows the next ones down (250 ms,
  // doubling): a login that succeeds resets that.
  if (addresses === undefined && peer.errors().some((e) => e.code === "FEDMQ_ERR_UNAUTHENTICATED")) (await login()).destroy();
}

/**
 * Runs the state's property; states where nobody logs in run in parallel lanes (each login
 * failure costs 250 ms), but for a replay.
 */
async function campaign(state: State): Promise<void> {
  const lanes = addresses !== undefined && REFUSAL[state] !== undefined && FUZZ.path === undefined ? 5 : 1;
  const tick = fuzzProgress(`native ${state}`, CI_RUNS);
  const receivedBefore = node.info().received;
  await Promise.all(Array.from({ length: lanes }, (_, lane) => fc.assert(
    fc.asyncProperty(caseArb[state], async (c) => {
      tick();
      await runCase(state, c, lanes > 1);
    }),
    fuzzParameters(CI_RUNS, { timeout: 30_000, examples: lane === 0 ? (FOUND[state] ?? []).map((c) => [c] as [Case]) : [] }, { lanes, lane }),
  )));
  if (lanes > 1) expect(node.info().received).toBe(receivedBefore);
  await fence();
}

describe("native protocol fuzzing: any bytes, any frames, in every authentication state", () => {
  it("before any connect", () => campaign("before-connect"));
  it("right behind a connect whose login is still being checked", () => campaign("login-pending"));
  it("after a failed login", () => campaign("login-failed"));
  it("after a login as a client", () => campaign("logged-in"));
  it("after claiming the bridge role without a node identity", () => campaign("bridge-claim"));
});
