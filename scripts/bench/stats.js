"use strict";
/** Sample buffers, percentiles and the min / median / max of runs. */

/** A growable Float64Array of samples (ms). */
class Samples {
  constructor(initial = 1024) {
    this.buf = new Float64Array(initial);
    this.length = 0;
  }

  push(v) {
    if (this.length === this.buf.length) {
      const grown = new Float64Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.length++] = v;
  }

  clear() {
    this.length = 0;
  }

  /** A copy of the recorded samples (for IPC). */
  values() {
    return this.buf.slice(0, this.length);
  }
}

/** Nearest-rank percentile of an ascending array, q in [0, 1]. */
function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

/** Percentile summary of latency samples (any array-like of numbers). */
function summarize(values) {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return { n: 0 };
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i];
  return {
    n: s.length, min: s[0], p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99),
    p999: quantile(s, 0.999), max: s[s.length - 1], mean: sum / s.length,
  };
}

/** Concatenate typed arrays / arrays of samples. */
function concatSamples(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** min / median / max of run values. */
function spread(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { min: NaN, median: NaN, max: NaN, n: 0 };
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { min: v[0], median, max: v[v.length - 1], n: v.length };
}

function fmtNum(v, digits = 0) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "-";
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

module.exports = { Samples, quantile, summarize, concatSamples, spread, fmtNum };
