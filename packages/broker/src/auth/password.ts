import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { InvalidArgumentError } from "@fedmq/protocol";

/**
 * Password hashes of a users file: `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>` (scrypt,
 * RFC 7914). `fedmq passwd` prints one; the node never stores or logs a password.
 */
export const SCRYPT_DEFAULTS = Object.freeze({ N: 16_384, r: 8, p: 1, keyLength: 32, saltLength: 16 });

function derive(password: string, salt: Buffer, N: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new hash of `password` with a random salt. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new InvalidArgumentError("the password is empty");
  const { N, r, p, keyLength, saltLength } = SCRYPT_DEFAULTS;
  const salt = randomBytes(saltLength);
  const key = await derive(password, salt, N, r, p, keyLength);
  return `scrypt$${N}$${r}$${p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Why `hash` is not a password hash this node reads (undefined: it is one). */
export function passwordHashProblem(hash: string): string | undefined {
  const parts = hash.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return "expected 'scrypt$N$r$p$salt$hash', as 'fedmq passwd' prints";
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (!Number.isInteger(N) || N < 2 || (N & (N - 1)) !== 0 || N > 2 ** 20) return `its N '${parts[1]}' is not a power of two up to 2^20`;
  if (!Number.isInteger(r) || r < 1 || r > 64 || !Number.isInteger(p) || p < 1 || p > 16) return "its r or p is out of range";
  if (Buffer.from(parts[4]!, "base64").length < 8 || Buffer.from(parts[5]!, "base64").length < 16) return "its salt or hash is too short";
  return undefined;
}

/** Whether `password` matches `hash` (constant-time comparison). */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (passwordHashProblem(hash) !== undefined) return false;
  const [, N, r, p, salt, expected] = hash.split("$") as [string, string, string, string, string, string];
  const want = Buffer.from(expected, "base64");
  const got = await derive(password, Buffer.from(salt, "base64"), Number(N), Number(r), Number(p), want.length);
  return got.length === want.length && timingSafeEqual(got, want);
}
