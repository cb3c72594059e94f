/**
 * The limits a STOMP parser enforces on what a peer sends, so that a peer cannot make it buffer
 * without bound. Shared by the parser and whatever loads them from configuration.
 */

/** Limits on received frames, bytes unless said otherwise. */
export interface StompLimits {
  /**
   * Largest frame: command line, header section, body and NUL terminator.
   * @default 1048576 (1 MiB)
   */
  readonly maxFrameBytes: number;
  /**
   * Most header lines in one frame.
   * @default 1000
   */
  readonly maxHeaders: number;
  /**
   * Largest header section: every header line with its EOL, and the blank line that ends the
   * section. A section that never ends fails as soon as it passes this.
   * @default 65536 (64 KiB)
   */
  readonly maxHeaderBytes: number;
  /**
   * Largest body, whether `content-length` announces it or a NUL ends it.
   * @default 1048576 (1 MiB); `maxFrameBytes` when only that is given.
   */
  readonly maxBodyBytes: number;
  /**
   * Longest command line, without its EOL.
   * @default 1024
   */
  readonly maxCommandLineBytes: number;
}

/** Default limits of a STOMP parser. */
export const DEFAULT_STOMP_LIMITS: Readonly<StompLimits> = Object.freeze({
  maxFrameBytes: 1024 * 1024,
  maxHeaders: 1000,
  maxHeaderBytes: 64 * 1024,
  maxBodyBytes: 1024 * 1024,
  maxCommandLineBytes: 1024,
});

const KEYS = ["maxFrameBytes", "maxHeaders", "maxHeaderBytes", "maxBodyBytes", "maxCommandLineBytes"] as const;

/**
 * `limits` merged over {@link DEFAULT_STOMP_LIMITS} and frozen; `maxBodyBytes` follows
 * `maxFrameBytes` when only the latter is given. Not checked: see {@link stompLimitsProblem}.
 */
export function mergeStompLimits(limits: Partial<StompLimits> = {}): Readonly<StompLimits> {
  const maxBodyBytes = limits.maxBodyBytes ?? limits.maxFrameBytes ?? DEFAULT_STOMP_LIMITS.maxBodyBytes;
  return Object.freeze({ ...DEFAULT_STOMP_LIMITS, ...limits, maxBodyBytes });
}

/**
 * What is wrong with complete limits, or undefined: each must be an integer ≥ 1, and the body
 * cannot be allowed more than the whole frame.
 */
export function stompLimitsProblem(l: Readonly<StompLimits>): string | undefined {
  for (const key of KEYS) {
    if (!Number.isSafeInteger(l[key]) || l[key] < 1) return `stomp limit '${key}' is '${String(l[key])}': must be an integer ≥ 1`;
  }
  if (l.maxBodyBytes > l.maxFrameBytes) {
    return `stomp limit 'maxBodyBytes' (${l.maxBodyBytes}) must not exceed 'maxFrameBytes' (${l.maxFrameBytes})`;
  }
  return undefined;
}
