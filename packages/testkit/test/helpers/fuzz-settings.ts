import type fc from "fast-check";

/**
 * The size of a property campaign. CI runs each property's own small slice; `scripts/fuzz.js`
 * runs the same properties long by setting:
 *
 * - `FEDMQ_FUZZ_RUNS`: cases per property (instead of the slice);
 * - `FEDMQ_FUZZ_SEED`: fast-check's seed, so a failure it reports can be replayed
 *   (with `FEDMQ_FUZZ_PATH`, the `path` of the counterexample in that report);
 * - `FEDMQ_FUZZ_PROGRESS=1`: a progress line on stderr every 10 s.
 */
export interface FuzzSettings {
  /** Cases per property; undefined: the property's CI slice. */
  readonly runs: number | undefined;
  readonly seed: number | undefined;
  readonly path: string | undefined;
  readonly progress: boolean;
}

function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} is '${text}': expected a whole number ≥ 1`);
  return n;
}

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} is '${text}': expected a whole number (the seed fast-check printed)`);
  return n;
}

export const FUZZ: FuzzSettings = Object.freeze({
  runs: positiveInteger("FEDMQ_FUZZ_RUNS", process.env["FEDMQ_FUZZ_RUNS"]),
  seed: integer("FEDMQ_FUZZ_SEED", process.env["FEDMQ_FUZZ_SEED"]),
  path: process.env["FEDMQ_FUZZ_PATH"] || undefined,
  progress: process.env["FEDMQ_FUZZ_PROGRESS"] === "1",
});

/** True while a long campaign runs (scripts/fuzz.js): suites may skip their CI-only timing checks. */
export const LONG_CAMPAIGN = FUZZ.runs !== undefined;

/** How `fuzzParameters` shares out a property's cases. */
export interface FuzzShare {
  /** The cases are split among this many concurrent runners (lanes). @default 1 */
  readonly lanes?: number;
  /** This runner's lane: it offsets the seed, so that lanes do not repeat each other. @default 0 */
  readonly lane?: number;
  /** At most this many cases whatever the campaign asks (a property with few distinct cases). */
  readonly max?: number;
}

/**
 * fast-check parameters for one property: `ciRuns` cases (or `FEDMQ_FUZZ_RUNS`), the campaign's
 * seed and path when given. fast-check reports a lane's own seed, so a replay (`FEDMQ_FUZZ_PATH`
 * set) runs one lane with the seed as given.
 */
export function fuzzParameters<T>(ciRuns: number, extra: fc.Parameters<T> = {}, share: FuzzShare = {}): fc.Parameters<T> {
  const { lanes = 1, lane = 0, max = Infinity } = share;
  const total = Math.min(FUZZ.runs ?? ciRuns, max);
  return {
    ...extra,
    numRuns: Math.max(1, Math.ceil(total / lanes)),
    ...(FUZZ.seed === undefined ? {} : { seed: FUZZ.path === undefined ? FUZZ.seed + lane : FUZZ.seed }),
    ...(FUZZ.path === undefined ? {} : { path: FUZZ.path }),
  };
}

/**
 * Counts the cases of one property, and with `FEDMQ_FUZZ_PROGRESS=1` prints
 * `[fuzz] <label>: <n>/<total> cases, <s> s` on stderr at most every 10 s.
 */
export function fuzzProgress(label: string, ciRuns: number, max = Infinity): () => void {
  const total = Math.min(FUZZ.runs ?? ciRuns, max);
  const started = Date.now();
  let n = 0;
  let printed = started;
  return () => {
    n++;
    if (!FUZZ.progress) return;
    const now = Date.now();
    if (now - printed < 10_000 && n !== total) return;
    printed = now;
    process.stderr.write(`[fuzz] ${label}: ${n}/${total} cases, ${Math.round((now - started) / 1000)} s\n`);
  };
}
