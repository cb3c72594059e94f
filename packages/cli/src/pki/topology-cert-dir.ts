/**
 * How a topology's TLS settings (`security.tls`, `nodes.<name>.tls`, `{node}` replaced) relate to
 * a certificate directory laid out by `fedmq pki`: which directory they name, and where they
 * name other files.
 */
import path from "node:path";
import type { NodeSpec, Topology } from "@fedmq/config";
import { caFiles, nodeFiles } from "./pki-files";

/** The files a node's TLS settings name, and what the layout of `dir` would give instead, where they differ. */
function differences(node: NodeSpec, dir: string): Array<{ readonly key: "cert" | "key" | "ca"; readonly has: string; readonly wants: string }> {
  if (node.tls === undefined) return [];
  const files = nodeFiles(dir, node.name);
  const out: Array<{ key: "cert" | "key" | "ca"; has: string; wants: string }> = [];
  if (node.tls.cert !== files.cert) out.push({ key: "cert", has: node.tls.cert, wants: files.cert });
  if (node.tls.key !== files.key) out.push({ key: "key", has: node.tls.key, wants: files.key });
  if (node.tls.ca !== undefined && node.tls.ca !== caFiles(dir).cert) out.push({ key: "ca", has: node.tls.ca, wants: caFiles(dir).cert });
  return out;
}

/**
 * The certificate directory the topology's TLS settings name: the one directory whose
 * `node.<name>.crt`, `node.<name>.key` (and `ca.crt`) every node with TLS reads. `undefined`
 * when no node has TLS, or they read files elsewhere or from several directories.
 */
export function topologyCertDir(topology: Topology): string | undefined {
  const tlsNodes = Object.values(topology.nodes).filter((n) => n.tls !== undefined);
  const dirs = new Set(tlsNodes.map((n) => path.dirname(n.tls!.cert)));
  if (dirs.size !== 1) return undefined;
  const dir = [...dirs][0]!;
  return tlsNodes.every((n) => differences(n, dir).length === 0) ? dir : undefined;
}

/**
 * What to tell the user when the certificates go to `dir`: each of `nodes` whose TLS settings
 * read other files, or, when no node of the topology has TLS, the `security.tls` entry that
 * would use them (paths relative to the topology file, as the topology takes them).
 */
export function certDirNotes(topology: Topology, nodes: readonly NodeSpec[], dir: string): string[] {
  const abs = path.resolve(dir);
  if (Object.values(topology.nodes).every((n) => n.tls === undefined)) {
    // Relative to the topology file when near it (as a checked-in topology would say), else absolute.
    let rel = path.relative(path.dirname(path.resolve(topology.file)), abs) || ".";
    if (rel.startsWith(`..${path.sep}..`) || path.isAbsolute(rel)) rel = abs;
    else if (!rel.startsWith(".")) rel = `./${rel}`;
    return [
      `${topology.file} has no TLS settings: to use these certificates, add ` +
        `'security: { tls: { ca: ${rel}/ca.crt, cert: "${rel}/node.{node}.crt", key: "${rel}/node.{node}.key", clientAuth: require } }' ` +
        "and make its listeners tls://",
    ];
  }
  return nodes.flatMap((n) =>
    differences(n, abs).map((d) => `node '${n.name}' reads its TLS ${d.key} from '${d.has}', not '${d.wants}' (its 'tls' in ${topology.file})`),
  );
}
