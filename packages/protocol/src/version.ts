/** Wire protocol versions this build speaks, highest preferred. */
export const PROTOCOL_VERSIONS: readonly number[] = Object.freeze([1]);
export const FEDMQ_VERSION = "0.1.0";

/** The highest version both sides speak, or undefined. */
export function negotiateVersion(offered: readonly number[], supported: readonly number[] = PROTOCOL_VERSIONS): number | undefined {
  let best: number | undefined;
  for (const v of offered) if (supported.includes(v) && (best === undefined || v > best)) best = v;
  return best;
}

/** The stable id of a message: producer id and sequence. */
export function messageId(producerId: string, seq: number): string {
  return `${producerId}:${seq}`;
}
