/**
 * `v` as a small integer (a V8 "Smi") when it is one, as it is otherwise. A number kept in an
 * object field is stored in the object itself when it is a small integer; a double — what a read
 * from a Float64Array, a Date.now() or most arithmetic gives — is boxed in a heap object of its
 * own in every object that keeps it: 16 MB for a million entries, per field. Stores and queues that
 * hold millions of messages pass their integers through this.
 */
export function smallInt(v: number): number {
  return v >= 0 && v <= 0x3fffffff ? v | 0 : v;
}
