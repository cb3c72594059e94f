import type { Argv } from "yargs";
import { DEFAULT_DISCOVERY_OPTIONS, checkNatsUrl, checkNodeFlag, checkSelectorPattern, loadTopology, type HaSpec } from "@fedmq/config";
import { createRootLogger } from "../logger";
import { CliError } from "../cli-error";
import { adminTokens, nodeOptionsFromTopology, readTlsMaterial, securityOptions, type TopologyNodeOptions } from "../topology-node";
import { serveHaMember, serveNode, type NodeDiscovery } from "../serve";
import { NODE_TLS_FLAGS, checkNodeTls, nodeTlsFromFlags, nodeTlsSetting, type NodeTlsArgs } from "../node-tls";

interface NodeArgs extends NodeTlsArgs {
  name: string;
  listen?: string[];
  data?: string;
  store?: "journal" | "memory";
  topology?: string;
  site?: string;
  "max-frame-size"?: number;
  "paced-sync-ms"?: number;
  "start-timeout-ms"?: number;
  "max-connections"?: number;
  "max-connections-per-user"?: number;
  "idle-timeout-ms"?: number;
  "max-headers-per-message"?: number;
  "max-header-bytes"?: number;
  "max-acked-ids-per-subscribe"?: number;
  admin?: string;
  "admin-allow-remote"?: boolean;
  "admin-hosts"?: string[];
  "admin-token-file"?: string;
  "log-level"?: string;
  discovery?: string[];
  "bridge-to-sites"?: string[];
  "bridge-identity"?: string[];
}

/** The node's limits as flags, each the topology key of the same name, over the file's value. */
const LIMIT_FLAGS = [
  ["max-connections", "maxConnections"],
  ["max-connections-per-user", "maxConnectionsPerUser"],
  ["idle-timeout-ms", "idleTimeoutMs"],
  ["max-headers-per-message", "maxHeadersPerMessage"],
  ["max-header-bytes", "maxHeaderBytes"],
  ["max-acked-ids-per-subscribe", "maxAckedIdsPerSubscribe"],
] as const;

/** The limits and `--admin-hosts` given as flags, checked as the topology checks its keys, over `opts`. */
function applyLimitFlags(argv: NodeArgs, opts: TopologyNodeOptions): void {
  for (const [flag, key] of LIMIT_FLAGS) {
    const value = argv[flag];
    if (value === undefined) continue;
    const bad = checkNodeFlag(key, value, `--${flag}`);
    if (bad !== null) throw new CliError(bad, 2);
    opts[key] = value;
  }
  const hosts = argv["admin-hosts"];
  if (hosts === undefined) return;
  const bad = checkNodeFlag("adminHosts", hosts, "--admin-hosts");
  if (bad !== null) throw new CliError(bad, 2);
  opts.adminHosts = hosts;
}

/**
 * `--discovery URL…`: the topology's discovery section with these servers, or (no topology) the
 * defaults and one connector `discovered` to the sites of `--bridge-to-sites`.
 */
function cliDiscovery(argv: NodeArgs, fromTopology: NodeDiscovery | undefined): NodeDiscovery {
  for (const url of argv.discovery!) {
    const bad = checkNatsUrl(url);
    if (bad !== null) throw new CliError(`--discovery ${bad}`, 2);
  }
  if (fromTopology !== undefined) {
    if (argv["bridge-to-sites"]) throw new CliError("--bridge-to-sites applies without a topology: the topology's connectors say where its nodes bridge", 2);
    return { ...fromTopology, spec: { ...fromTopology.spec, servers: argv.discovery! } };
  }
  const sites = argv["bridge-to-sites"] ?? ["*"];
  for (const site of sites) {
    const bad = checkSelectorPattern(site);
    if (bad !== null) throw new CliError(`--bridge-to-sites ${bad}`, 2);
  }
  return {
    spec: { servers: argv.discovery!, ...DEFAULT_DISCOVERY_OPTIONS },
    connectors: [{ name: "discovered", target: { sites }, options: {} }],
  };
}

export const nodeCommand = {
  command: "node",
  describe: "run one broker node until SIGINT/SIGTERM",
  builder: (y: Argv) =>
    y
      .option("name", { type: "string", demandOption: true, describe: "node id, unique in the network" })
      .option("listen", { type: "string", array: true, describe: "listen URI, repeatable: tcp:// or tls:// (native), stomp://, stomp+tls://, ws://host:port/stomp, wss:// (STOMP); default from the topology, else tcp://127.0.0.1:61616" })
      .option("data", { type: "string", describe: "data directory for the journal store" })
      .option("store", { choices: ["journal", "memory"] as const, describe: "store engine (default journal)" })
      .option("site", { type: "string", describe: "site label (region / data centre)" })
      .option("topology", { type: "string", describe: "topology YAML: run the node --name declared in it" })
      .option("max-frame-size", { type: "number", describe: "largest frame accepted, bytes (default 16 MiB)" })
      .option("paced-sync-ms", { type: "number", describe: "journal: messages arriving over a bridge share fsyncs, at most one per N ms while nothing else waits; 0 = off (default 5)" })
      .option("start-timeout-ms", { type: "number", describe: "give up when the store has not opened and recovered within this, ms (default 120000)" })
      .option("max-connections", { type: "number", describe: "connections served at once, clients and bridges; one more is refused (topology key maxConnections; default 1000)" })
      .option("max-connections-per-user", { type: "number", describe: "open connections one user of the users file may have (maxConnectionsPerUser; default 100)" })
      .option("idle-timeout-ms", { type: "number", describe: "close a connection from which nothing arrived for this long after its handshake, ms, 100 to 2147483647 (idleTimeoutMs; default 60000)" })
      .option("max-headers-per-message", { type: "number", describe: "headers one sent message may carry (maxHeadersPerMessage; default 1000)" })
      .option("max-header-bytes", { type: "number", describe: "bytes of header keys plus values one sent message may carry (maxHeaderBytes; default 65536)" })
      .option("max-acked-ids-per-subscribe", { type: "number", describe: "acknowledged message ids one subscribe may carry (maxAckedIdsPerSubscribe; default 10000)" })
      .option("admin", { type: "string", describe: "admin HTTP endpoint, e.g. http://127.0.0.1:8161, or https://127.0.0.1:8161 with the node's certificate (the topology's security.tls, or --cert and --key) (client certificates of its nodes and of users of group 'admins' then authenticate with clientAuth request|require) (default from the topology, else none)" })
      .option("admin-allow-remote", { type: "boolean", describe: "serve the admin endpoint on a non-loopback host (give it --admin-token-file too)" })
      .option("admin-hosts", { type: "string", array: true, describe: "further Host names the admin endpoint answers to, repeatable: name (any port) or name:port, e.g. a reverse proxy's (adminHosts; default from the topology, else none)" })
      .option("admin-token-file", { type: "string", describe: "the admin endpoint's bearer token(s), one per line: every route but /healthz and /readyz then needs one (default: env FEDMQ_ADMIN_TOKEN, else the topology's)" })
      .option("cert", { type: "string", describe: "without a topology: the node's certificate (PEM), served on tls://, stomp+tls:// and wss:// listeners and an https:// admin endpoint, presented by its bridges; the topology's security.tls.cert otherwise [env FEDMQ_CERT]" })
      .option("key", { type: "string", describe: "without a topology: the certificate's private key (PEM) [env FEDMQ_KEY]" })
      .option("ca", { type: "string", describe: "without a topology: CA bundle (PEM) that client certificates and the certificates of the nodes its bridges dial must chain to [env FEDMQ_CA, taken with a certificate only]" })
      .option("client-auth", { choices: ["none", "request", "require"] as const, describe: "without a topology: client certificates not asked (none), verified when given (request), required (require); request and require need --ca (default none)" })
      .option("bridge-identity", { type: "string", array: true, describe: "without a topology: a node that may bridge to this one, repeatable; only a connection whose verified client certificate names it (CN or DNS subjectAltName) may then take the bridge role, as with a topology's nodes (needs --client-auth request|require; nodes found by --discovery may too) (default: none named, so any connection may, unless the node has users)" })
      .option("discovery", { type: "string", array: true, describe: "NATS server URL (nats:// or tls://), repeatable: register in the federation's membership and bridge to the nodes it finds (default from the topology's discovery:, else none)" })
      .option("bridge-to-sites", { type: "string", array: true, describe: "with --discovery and no topology: bridge to the discovered nodes of these sites ('*' wildcards), repeatable (default '*': every node)" })
      .option("log-level", { choices: ["trace", "debug", "info", "warn", "error"], default: "info" }),
  handler: async (argv: NodeArgs): Promise<void> => {
    const log = createRootLogger({ level: argv["log-level"], name: argv.name });
    let opts: TopologyNodeOptions = { id: argv.name };
    let ha: HaSpec | undefined;
    if (argv.topology) {
      const topo = await loadTopology(argv.topology);
      opts = { ...nodeOptionsFromTopology(topo, argv.name), ...(await securityOptions(topo)) };
      ha = topo.nodes[argv.name]?.ha;
    }
    if (argv.listen) opts.listen = argv.listen;
    if (argv.data) opts.dataDir = argv.data;
    if (argv.store) opts.store = argv.store;
    if (argv.site) opts.site = argv.site;
    if (argv["max-frame-size"]) opts.maxFrameSize = argv["max-frame-size"];
    if (argv["paced-sync-ms"] !== undefined) opts.pacedSyncMs = argv["paced-sync-ms"];
    if (argv["start-timeout-ms"] !== undefined) opts.startTimeoutMs = argv["start-timeout-ms"];
    applyLimitFlags(argv, opts);
    if (argv.admin) opts.admin = argv.admin;
    if (argv["admin-allow-remote"]) opts.adminAllowRemote = true;
    if (argv["admin-hosts"] && opts.admin === undefined) throw new CliError("--admin-hosts names further Host names of the admin endpoint: give it one with --admin (or the topology's 'admin')", 2);
    const tokens = adminTokens(argv["admin-token-file"] ?? opts.adminTokenFile, process.env, (msg) => log.warn(msg));
    if (tokens) opts.adminTokens = tokens;
    // The node's own TLS: the topology's security.tls, else the flags (or their variables).
    const tlsFlag = NODE_TLS_FLAGS.find((f) => argv[f] !== undefined);
    if (argv.topology && tlsFlag) throw new CliError(`--${tlsFlag} applies without a topology: node '${argv.name}' takes its TLS from 'security.tls' (or its 'tls') in ${argv.topology}`, 2);
    const flagTls = argv.topology ? undefined : nodeTlsFromFlags(argv, process.env);
    if (flagTls) {
      opts.tls = readTlsMaterial(flagTls, nodeTlsSetting);
      log.info({ cert: flagTls.cert, ca: flagTls.ca, clientAuth: flagTls.clientAuth }, "TLS from --cert and --key (or FEDMQ_CERT, FEDMQ_KEY)");
    }
    checkNodeTls(opts, argv.topology);
    const identities = argv["bridge-identity"];
    if (identities !== undefined) {
      if (argv.topology) throw new CliError(`--bridge-identity applies without a topology: the nodes of ${argv.topology} are the ones that may bridge to '${argv.name}'`, 2);
      if (flagTls === undefined || flagTls.clientAuth === "none") throw new CliError("--bridge-identity needs client certificates to tell nodes apart: give --cert, --key, --ca and --client-auth request|require", 2);
      const names = identities.map((id) => id.trim());
      if (names.includes("")) throw new CliError("--bridge-identity needs a node name (the name its certificate carries)", 2);
      opts.bridgeIdentities = [argv.name, ...names];
    }
    if (argv.discovery) opts.discovery = cliDiscovery(argv, opts.discovery);
    else if (argv["bridge-to-sites"]) throw new CliError("--bridge-to-sites needs --discovery (the NATS server to find the nodes in)", 2);
    // tls:// NATS servers: the node's certificate and CA, as a topology's security.tls gives them.
    if (flagTls && opts.discovery) opts.discovery = { ...opts.discovery, tls: { ...(flagTls.ca === undefined ? {} : { ca: flagTls.ca }), cert: flagTls.cert, key: flagTls.key } };
    if (!opts.store) opts.store = "journal";
    if (opts.store === "journal" && !opts.dataDir) throw new CliError("the journal store needs --data DIR (or --store memory)", 2);
    let node: { close(): Promise<void>; reloadTls(t: NonNullable<TopologyNodeOptions["tls"]>): void };
    if (ha) {
      // An HA member: slave until it holds the group's lease, then master (see `fedmq status`).
      const { admin, adminAllowRemote, peers, adminTokens: adminTokenList, adminMetricsPublic, adminHosts, adminTokenFile: _file, store: _store, discovery, ...nodeOpts } = opts;
      if (argv.store === "memory") throw new CliError(`node '${argv.name}' is a member of ha group '${ha.group}': its store is the group's (--store memory does not apply)`, 2);
      node = await serveHaMember({ node: { ...nodeOpts, logger: log }, ha, timing: ha.lease, admin, adminAllowRemote, peers, adminTokens: adminTokenList, adminMetricsPublic, adminHosts, logger: log, ...(discovery === undefined ? {} : { discovery }) });
    } else {
      const { adminTokenFile: _file, ...served } = opts;
      node = await serveNode({ ...served, logger: log });
    }
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, "stopping");
        node.close().then(resolve, (err) => {
          log.error({ err }, "error while stopping");
          resolve();
        });
      };
      // Rotated certificates: re-read the TLS files (the topology's, or the flags'); no connection drops.
      process.on("SIGHUP", () => {
        const topology = argv.topology;
        if (!topology && !flagTls) {
          log.warn("SIGHUP: no TLS files to re-read (no topology, no --cert)");
          return;
        }
        const reread = topology
          ? loadTopology(topology).then((topo) => {
            const tls = topo.nodes[argv.name]?.tls;
            if (!tls) throw new CliError(`node '${argv.name}' has no TLS settings in ${topology}`, 2);
            return readTlsMaterial(tls);
          })
          : Promise.resolve().then(() => readTlsMaterial(flagTls!, nodeTlsSetting));
        void reread.then((tls) => node.reloadTls(tls)).catch((err: unknown) => log.error({ err }, "SIGHUP: TLS certificates not reloaded; the node keeps the ones it has"));
      });
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
  },
};
