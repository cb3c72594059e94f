import type tls from "node:tls";
import { InvalidArgumentError } from "@fedmq/protocol";

/**
 * The node's TLS settings (PEM), as its listeners take them: an `https://` admin endpoint serves
 * `key` and `cert` and, with `clientAuth` `request` or `require`, asks callers for a certificate
 * chaining to `ca`; the network view presents `cert` and `key` to `https://` peers and checks
 * theirs against `ca`.
 */
export interface AdminTlsOptions {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  /** The CA bundle peers' and callers' certificates must chain to. @default the system's CAs */
  readonly ca?: string | Buffer;
  /**
   * `none`: no client certificate asked; `request`: asked, accepted when verified; `require`: a
   * connection without a verified one is refused in the handshake. @default "none"
   */
  readonly clientAuth?: "none" | "request" | "require";
}

/** Checks the `tls` option (`option` names it in errors) and returns a frozen copy. */
export function checkAdminTls(t: unknown, option: string): Readonly<AdminTlsOptions> {
  if (typeof t !== "object" || t === null) throw new InvalidArgumentError(`option '${option}' is not an object { key, cert, ca?, clientAuth? }`);
  const { key, cert, ca, clientAuth = "none" } = t as Record<string, unknown>;
  const pem = (v: unknown) => typeof v === "string" || Buffer.isBuffer(v);
  if (!pem(key) || !pem(cert)) throw new InvalidArgumentError(`option '${option}' needs 'key' and 'cert' (PEM): an https:// admin endpoint serves them`);
  if (ca !== undefined && !pem(ca)) throw new InvalidArgumentError(`option '${option}.ca' is not PEM text or a Buffer`);
  if (clientAuth !== "none" && clientAuth !== "request" && clientAuth !== "require") {
    throw new InvalidArgumentError(`option '${option}.clientAuth' is ${JSON.stringify(clientAuth)}: expected 'none', 'request' or 'require'`);
  }
  return Object.freeze({ key: key as string | Buffer, cert: cert as string | Buffer, ...(ca === undefined ? {} : { ca: ca as string | Buffer }), clientAuth });
}

/** `https.createServer` options: the certificate, and client certificates asked for (`request`) or required (`require`). */
export function serverTlsOptions(t: AdminTlsOptions): tls.TlsOptions {
  const auth = t.clientAuth ?? "none";
  return {
    key: t.key, cert: t.cert, ...(t.ca === undefined ? {} : { ca: t.ca }),
    requestCert: auth !== "none", rejectUnauthorized: auth === "require",
  };
}

/** What a client of an `https://` admin endpoint presents and checks (the CLI's `--ca --cert --key --servername`). */
export interface AdminClientTls {
  /** The CA the endpoint's certificate must chain to. @default the system's CAs */
  readonly ca?: tls.SecureContextOptions["ca"];
  /** A client certificate and its key, for an endpoint that asks for one. */
  readonly cert?: tls.SecureContextOptions["cert"];
  readonly key?: tls.SecureContextOptions["key"];
  /** The name the endpoint's certificate must carry. @default the URL's host */
  readonly servername?: string;
}

/** The client side of the node's TLS settings: its own certificate, and its CA to check the peer's. */
export function clientTlsOf(t: AdminTlsOptions): AdminClientTls {
  return { key: t.key, cert: t.cert, ...(t.ca === undefined ? {} : { ca: t.ca }) };
}

/**
 * The common name of the caller's certificate, when it presented one the endpoint's CA verified
 * (as the broker's `verifiedCertificateName` reads a client connection's); undefined otherwise,
 * or on a plain socket.
 */
export function verifiedPeerName(socket: Partial<tls.TLSSocket>): string | undefined {
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== "function") return undefined;
  const cn = socket.getPeerCertificate().subject?.CN as string | string[] | undefined;
  return Array.isArray(cn) ? cn[0] : cn;
}
