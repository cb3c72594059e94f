import path from "node:path";
import type { Topology } from "@fedmq/config";
import { parseLogLine } from "./log-line";
import { NodeChild, type ChildExit, type ChildStream } from "./node-child";
import type { UpOutput } from "./up-output";
import { dialable, tryHint } from "./try-hint";

export interface NetworkLauncherOptions {
  /** The topology file, as given on the command line (the nodes read it again). */
  topologyFile: string;
  /** The CLI's `main.js`, run as `node main.js node --topology FILE --name NAME`. */
  mainScript: string;
  /** Passed to every node as `--log-level`; the nodes' default when absent. */
  logLevel?: string;
  /**
   * How long the nodes get to stop after SIGTERM before they are SIGKILLed, ms.
   * @default 15_000
   */
  stopTimeoutMs?: number;
}

export const DEFAULT_NETWORK_LAUNCHER_OPTIONS = Object.freeze({ stopTimeoutMs: 15_000 });

/** How a run ended. `exitCode` 0: every node ready, then stopped cleanly on request. */
export interface NetworkOutcome {
  readonly exitCode: 0 | 1;
  /** One line for `fedmq: …` when exitCode is 1. */
  readonly reason?: string;
}

type Phase = "starting" | "up" | "stopping";

/**
 * Runs every node of a topology as its own child process: reports each when it logs
 * "node ready", stops them all on `stop()` (SIGTERM, then SIGKILL after `stopTimeoutMs`), and
 * stops the rest when one fails (exits before it was ready, or with an error at any time).
 */
export class NetworkLauncher {
  private readonly opts: Required<Omit<NetworkLauncherOptions, "logLevel">> & Pick<NetworkLauncherOptions, "logLevel">;
  private readonly children: NodeChild[] = [];
  private phase: Phase = "starting";
  private failure: string | undefined;
  private readonly killed: string[] = [];
  private killTimer: NodeJS.Timeout | undefined;
  private resolveDone!: (outcome: NetworkOutcome) => void;
  private readonly done = new Promise<NetworkOutcome>((resolve) => (this.resolveDone = resolve));

  constructor(private readonly topo: Topology, private readonly out: UpOutput, opts: NetworkLauncherOptions) {
    this.opts = Object.freeze({ ...DEFAULT_NETWORK_LAUNCHER_OPTIONS, ...opts });
  }

  /** Starts every node; resolves once all of them exited. */
  run(): Promise<NetworkOutcome> {
    for (const name of Object.keys(this.topo.nodes)) {
      this.children.push(
        new NodeChild({
          name,
          topologyFile: this.opts.topologyFile,
          mainScript: this.opts.mainScript,
          logLevel: this.opts.logLevel,
          onLine: (child, stream, line) => this.onLine(child, stream, line),
          onExit: (child, exit) => this.onExit(child, exit),
        }),
      );
    }
    this.settleIfAllExited();
    return this.done;
  }

  /** Ctrl-C / SIGTERM: stop every node. A second call SIGKILLs the ones still running. */
  stop(signal: NodeJS.Signals): void {
    if (this.phase === "stopping") {
      const left = this.running();
      if (left.length === 0) return;
      this.out.warning(`${signal} again: killing ${left.map((c) => c.name).join(", ")}`);
      this.killRemaining();
      return;
    }
    this.out.notice(`${signal}: stopping ${this.running().length} node(s) of '${this.topo.network}'…`);
    this.beginStop();
  }

  /** Process ids of the node processes started so far. */
  pids(): number[] {
    return this.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  private running(): NodeChild[] {
    return this.children.filter((c) => c.state !== "exited");
  }

  private onLine(child: NodeChild, stream: ChildStream, line: string): void {
    this.out.nodeLine(child.name, stream, line);
    if (stream !== "stdout" || child.state !== "starting") return;
    const rec = parseLogLine(line);
    // An HA member is up once it runs, as slave (it serves only after it takes the lease).
    const haSlave = rec?.msg === "ha member started as slave";
    if (rec?.msg !== "node ready" && !haSlave) return;
    child.markReady();
    const spec = this.topo.nodes[child.name];
    if (haSlave) {
      this.out.standby(child.name, String(rec["group"]), spec?.site ?? "?");
    } else {
      const listen = Array.isArray(rec["listen"]) ? rec["listen"].join(", ") : (spec?.listen ?? "?");
      this.out.ready(child.name, listen, spec?.site ?? "?");
    }
    if (this.phase === "starting" && this.children.every((c) => c.state === "ready")) {
      this.phase = "up";
      this.out.networkUp(this.topo.network, this.children.length, this.hints());
    }
  }

  private onExit(child: NodeChild, exit: ChildExit): void {
    if (this.phase !== "stopping") {
      if (child.wasReady && exit.code === 0) {
        // Stopped on its own request (someone sent it SIGTERM): the others carry on.
        this.out.notice(`${child.name} stopped (exit 0); ${this.running().length} of ${this.children.length} nodes still running`);
      } else {
        const reason = child.describeExit();
        this.out.failed(child.name, reason);
        this.failure ??= `node '${child.name}' failed`;
        this.beginStop();
      }
    }
    this.settleIfAllExited();
  }

  private beginStop(): void {
    this.phase = "stopping";
    for (const c of this.running()) c.signal("SIGTERM");
    if (this.killTimer === undefined && this.running().length > 0) {
      this.killTimer = setTimeout(() => {
        const left = this.running();
        if (left.length === 0) return;
        this.out.warning(`${left.map((c) => c.name).join(", ")} did not stop within ${this.opts.stopTimeoutMs} ms: killing`);
        this.killRemaining();
      }, this.opts.stopTimeoutMs);
    }
  }

  private killRemaining(): void {
    for (const c of this.running()) {
      this.killed.push(c.name);
      c.signal("SIGKILL");
    }
  }

  private settleIfAllExited(): void {
    if (this.running().length > 0) return;
    if (this.killTimer !== undefined) clearTimeout(this.killTimer);
    if (this.failure !== undefined) {
      this.resolveDone({ exitCode: 1, reason: `stopped network '${this.topo.network}': ${this.failure}` });
      return;
    }
    if (this.killed.length > 0) {
      this.resolveDone({ exitCode: 1, reason: `had to kill ${this.killed.join(", ")}` });
      return;
    }
    const unclean = this.children.filter((c) => !stoppedCleanly(c.exit));
    if (unclean.length > 0) {
      this.resolveDone({ exitCode: 1, reason: unclean.map((c) => `node '${c.name}' ${c.describeExit()}`).join("; ") });
      return;
    }
    this.out.notice(`network '${this.topo.network}' stopped`);
    this.resolveDone({ exitCode: 0 });
  }

  private hints(): string[] {
    const hint = tryHint(this.topo);
    const stop = "Ctrl-C (or SIGTERM) stops every node";
    if (hint === undefined) return [stop];
    const c = hint.consumeOn;
    const p = hint.produceOn;
    const width = Math.max(c.name.length, p.name.length);
    return [
      `consume on ${c.name.padEnd(width)}  ${this.clientPrefix()}npx fedmq consume --url ${dialable(c.listen)}${this.clientFlags(c.name)} --dest ${hint.dest} --count 5`,
      `produce on ${p.name.padEnd(width)}  ${this.clientPrefix()}npx fedmq produce --url ${dialable(p.listen)}${this.clientFlags(p.name)} --dest ${hint.dest} --count 5`,
      stop,
    ];
  }

  /** With users, a client logs in: its password goes in the environment, not on the command line. */
  private clientPrefix(): string {
    return this.topo.security?.usersFile === undefined ? "" : "FEDMQ_PASSWORD=… ";
  }

  /** What a client of node `name` must add on a secured network: the CA, a certificate, a user. */
  private clientFlags(name: string): string {
    const tls = this.topo.nodes[name]?.tls;
    let flags = "";
    if (tls?.ca !== undefined) flags += ` --ca ${path.relative(process.cwd(), tls.ca) || tls.ca}`;
    if (tls?.clientAuth === "require") flags += " --cert CERT --key KEY";
    if (this.topo.security?.usersFile !== undefined) flags += " --user USER";
    return flags;
  }
}

/** Exit 0, or ended by the SIGTERM/SIGINT it was sent before it had set up its own handlers. */
function stoppedCleanly(exit: ChildExit | undefined): boolean {
  if (exit === undefined) return false;
  return exit.code === 0 || exit.signal === "SIGTERM" || exit.signal === "SIGINT";
}
