/**
 * The admin endpoint's gate over real HTTP against in-process nodes: bearer tokens and the web
 * view's login on every route but the probes, `Host` checked against the endpoint's names,
 * state-changing requests JSON-only and same-origin only — and attack D3 (a cross-origin POST
 * that stops a bridge: curl with a foreign Origin, a page in Chromium with a no-cors fetch and an
 * auto-submitted form, a rebinding Host) refused while the bridge stays active.
 */
import http from "node:http";
import { connect as netConnect, type AddressInfo } from "node:net";
import pino from "pino";
import type { BrokerNode } from "@fedmq/broker";
import { waitFor } from "@fedmq/testkit";
import { ADMIN_ROUTES, AdminServer } from "../src";
import { AdminAuth } from "../src/admin-auth";
import { adminUrlOf, startServedNode, type ServedNodeOptions } from "../../testkit/test/helpers/served-nodes";
import { launchChromium } from "../../testkit/test/helpers/browser";

const TOKEN = "s3cret-admin-token-0123456789";
const ROTATED = "next-admin-token-abcdefghijkl";
const WRONG = "not-the-admin-token-000000000";
const JSON_TYPE = { "content-type": "application/json" };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function node(id: string, extra: Partial<ServedNodeOptions> = {}): Promise<BrokerNode> {
  const n = await startServedNode({ id, listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0", ...extra });
  cleanups.push(() => n.close());
  return n;
}

/** A (with connector a-b to B, bridge active); both with the tokens unless `auth: false`; ids prefixed with `prefix`. */
async function pair(o: { auth?: boolean; a?: Partial<ServedNodeOptions>; prefix?: string } = {}): Promise<{ a: BrokerNode; b: BrokerNode; base: string }> {
  const tokens = o.auth === false ? {} : { adminTokens: [TOKEN, ROTATED] };
  const b = await node(`${o.prefix ?? ""}B`, tokens);
  const a = await node(`${o.prefix ?? ""}A`, { ...tokens, connectors: [{ name: "a-b", remote: [b.url] }], ...o.a });
  await waitFor(() => a.bridges[0]!.currentState === "active", { what: "bridge a-b active" });
  return { a, b, base: adminUrlOf(a) };
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  /** The parsed JSON body, or undefined. */
  readonly body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/** One request with exactly these headers (node:http: `Host` too can be set). */
function request(base: string, path: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base), { method: o.method ?? "GET", headers: o.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: Answer["body"] = {};
        if (res.headers["content-type"]?.startsWith("application/json")) body = JSON.parse(text) as Answer["body"];
        resolve({ status: res.statusCode!, headers: res.headers, text, body });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(o.body);
  });
}
const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

/** The route's path with its parameters filled in (a-b, a message id). */
const concrete = (url: string) => url.replace(":name", "a-b").replace(":id", "p-1:1");

/** What a route answers with valid credentials on node A (a standalone node without discovery: no HA view, no discovery view). */
const withTokenStatus = (url: string) => (url === "/api/v1/ha" || url === "/api/v1/discovery" ? 404 : 200);

/** Log in through the form; returns the cookie pair (`fedmq_admin=…`). */
async function login(base: string, token = TOKEN): Promise<string> {
  const r = await request(base, "/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: base }, body: `token=${encodeURIComponent(token)}` });
  expect(r.status).toBe(303);
  return String(r.headers["set-cookie"]![0]).split(";")[0]!;
}

describe("authentication", () => {
  test("every route: without credentials 401 (probes public, the pages send the browser to /login), with either token 200, with a wrong one 401", async () => {
    const { a, base } = await pair();
    for (const route of ADMIN_ROUTES) {
      const path = concrete(route.url);
      const init = (h: Record<string, string>) => ({ method: route.method, headers: { ...h, ...(route.method === "POST" ? JSON_TYPE : {}) } });
      const none = await request(base, path, init({}));
      if (path === "/healthz" || path === "/readyz") {
        expect([path, none.status]).toEqual([path, 200]);
      } else if (path === "/" || path === "/ui") {
        expect([path, none.status, none.headers.location]).toEqual([path, 303, "/login"]);
      } else {
        expect([path, none.status, none.body.error?.code]).toEqual([path, 401, "FEDMQ_ERR_UNAUTHORIZED"]);
        expect(none.headers["www-authenticate"]).toBe('Bearer realm="fedmq-admin"');
        const wrong = await request(base, path, init(bearer(WRONG)));
        expect([path, wrong.status, wrong.body.error?.message]).toEqual([path, 401, "the bearer token is not accepted"]);
        const basic = await request(base, path, init({ authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` }));
        expect([path, basic.status]).toEqual([path, 401]);
      }
      for (const token of [TOKEN, ROTATED]) {
        const ok = await request(base, path, init(bearer(token)));
        expect([path, ok.status]).toEqual([path, withTokenStatus(route.url)]);
      }
    }
    // The stop/start above ran with a token: the bridge comes back.
    await waitFor(() => a.bridges[0]!.currentState === "active", { what: "bridge active again" });
    // An unknown path says nothing without credentials.
    expect((await request(base, "/nope")).status).toBe(401);
    expect((await request(base, "/nope", { headers: bearer() })).status).toBe(404);
  });

  test("/metrics is public with adminMetricsPublic, the rest is not", async () => {
    const m = await node("M", { adminTokens: [TOKEN], adminMetricsPublic: true });
    const base = adminUrlOf(m);
    const metrics = await request(base, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain("fedmq_");
    expect((await request(base, "/api/v1/broker")).status).toBe(401);
    const closed = await node("N", { adminTokens: [TOKEN] });
    expect((await request(adminUrlOf(closed), "/metrics")).status).toBe(401);
  });

  test("the network view presents its token to the peers", async () => {
    const { a, b } = await pair({ a: {} });
    // A second A-like node whose peer is B (same token): B answers it.
    const viewer = await node("V", { adminTokens: [TOKEN], peers: [{ name: "B", site: "", admin: adminUrlOf(b) }] });
    const view = await request(adminUrlOf(viewer), "/api/v1/network", { headers: bearer() });
    expect((view.body.nodes as Array<{ name: string; state: string; error: string | null }>).map((n) => [n.name, n.state, n.error])).toEqual([["B", "up", null], ["V", "up", null]]);
    // A peer with another token: unreachable, with the 401 named.
    const other = await node("W", { adminTokens: [WRONG], peers: [{ name: "B", site: "", admin: adminUrlOf(b) }] });
    const refused = await request(adminUrlOf(other), "/api/v1/network", { headers: bearer(WRONG) });
    expect((refused.body.nodes as Array<{ name: string; state: string; error: string | null }>)[0]).toMatchObject({ name: "B", state: "unreachable", error: expect.stringContaining("answered 401") });
    expect(a.bridges[0]!.currentState).toBe("active");
  });

  test("refused callers are logged once a minute per address, with the address and never the token", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(s) });
    const n = await node("L", { adminTokens: [TOKEN], logger });
    const base = adminUrlOf(n);
    expect((await request(base, "/api/v1/broker", { headers: bearer(WRONG) })).status).toBe(401);
    expect((await request(base, "/api/v1/broker")).status).toBe(401);
    expect((await request(base, "/api/v1/broker", { headers: { cookie: `fedmq_admin=${WRONG}` } })).status).toBe(401);
    expect((await request(base, "/login", { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ token: WRONG }) })).status).toBe(401);
    const refused = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.msg).startsWith("admin request refused"));
    expect(refused).toEqual([expect.objectContaining({ level: 40, node: "L", remote: "127.0.0.1", method: "GET", path: "/api/v1/broker", reason: "a bearer token not accepted", suppressed: 0 })]);
    expect(lines.join("\n")).not.toContain(WRONG);
    expect(lines.join("\n")).not.toContain(TOKEN);

    // The minute: one line per address per span, then the next with the count it left out.
    const logged: Array<Record<string, unknown>> = [];
    const log = (obj: unknown) => void logged.push(obj as Record<string, unknown>);
    const auth = AdminAuth.create({ tokens: [TOKEN] }, { debug: log, info: log, warn: log, error: log });
    auth.refused("10.0.0.1", "GET", "/a", "no credentials", 1_000);
    auth.refused("10.0.0.1", "GET", "/a", "no credentials", 30_000);
    auth.refused("10.0.0.2", "GET", "/a", "no credentials", 30_000);
    auth.refused("10.0.0.1", "GET", "/a", "no credentials", 60_999);
    auth.refused("10.0.0.1", "GET", "/a", "no credentials", 61_000);
    expect(logged.map((l) => [l.remote, l.suppressed])).toEqual([["10.0.0.1", 0], ["10.0.0.2", 0], ["10.0.0.1", 2]]);
  });

  test("tokens are checked when the endpoint starts", async () => {
    await expect(node("T", { adminTokens: ["short"] })).rejects.toThrow("option 'adminTokens': the token has 5 characters: at least 16 are needed (e.g. 'openssl rand -hex 32')");
    await expect(node("T", { adminTokens: [TOKEN, "with a space 0123456"] })).rejects.toThrow("option 'adminTokens': token #2 has a space or a character that is not printable ASCII");
    await expect(node("T", { adminTokens: [] })).rejects.toThrow("option 'adminTokens' is empty: give at least one token, or leave it unset for an endpoint without authentication");
    await expect(node("T", { admin: undefined, adminTokens: [TOKEN] })).rejects.toThrow("'adminTokens' is set but 'admin' is not: the tokens guard the admin endpoint (option 'admin')");
    await expect(node("T", { adminHosts: ["a/b"] })).rejects.toThrow(`option 'adminHosts' has "a/b": expected a host name or host:port`);
    const n = await node("T");
    const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    await expect(AdminServer.start(n, { url: "http://127.0.0.1:0", logger: silent, auth: { tokens: ["0123456789abcde"] } })).rejects.toThrow("option 'auth.tokens': the token has 15 characters");
  });
});

describe("Host", () => {
  test("a foreign Host is 403 on every route, even with the token; the endpoint's own names pass", async () => {
    const { a, base } = await pair();
    const port = new URL(base).port;
    for (const path of ["/healthz", "/api/v1/broker", "/", "/login"]) {
      const r = await request(base, path, { headers: { host: `evil.example:${port}`, ...bearer() } });
      expect([path, r.status, r.body.error?.code]).toEqual([path, 403, "FEDMQ_ERR_HOST_NOT_ALLOWED"]);
    }
    const stop = await request(base, "/api/v1/bridges/a-b/stop", { method: "POST", headers: { host: `evil.example:${port}`, ...bearer(), ...JSON_TYPE } });
    expect(stop.body.error).toEqual({ code: "FEDMQ_ERR_HOST_NOT_ALLOWED", message: `host 'evil.example:${port}' is not allowed: the admin endpoint answers to '127.0.0.1:${port}', 'localhost:${port}', '[::1]:${port}' (option 'adminHosts')` });
    expect(a.bridges[0]!.currentState).toBe("active");
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      expect([host, (await request(base, "/api/v1/broker", { headers: { host, ...bearer() } })).status]).toEqual([host, 200]);
    }
    for (const host of ["localhost", `127.0.0.1:${Number(port) + 1}`, `127.0.0.1.nip.io:${port}`, `localhost.evil.example:${port}`, `a b:${port}`]) {
      expect([host, (await request(base, "/healthz", { headers: { host } })).status]).toEqual([host, 403]);
    }
    // HTTP/1.0 without a Host header.
    const raw = await new Promise<string>((resolve, reject) => {
      const s = netConnect(Number(port), "127.0.0.1", () => s.end("GET /healthz HTTP/1.0\r\n\r\n"));
      let text = "";
      s.on("data", (c: Buffer) => (text += c.toString("utf8")));
      s.on("end", () => resolve(text));
      s.on("error", reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 403 /);
    expect(raw).toContain("a request without a Host header is not allowed");
  });

  test("checked without tokens too; adminHosts adds names (any port, or the one given)", async () => {
    const n = await node("H", { adminHosts: ["admin.example.com", "proxy.example:8443"] });
    const base = adminUrlOf(n);
    const port = new URL(base).port;
    const status = async (host: string) => (await request(base, "/api/v1/broker", { headers: { host } })).status;
    expect(await status(`evil.example:${port}`)).toBe(403);
    expect(await status(`127.0.0.1:${port}`)).toBe(200);
    expect(await status("admin.example.com")).toBe(200);
    expect(await status("admin.example.com:9000")).toBe(200);
    expect(await status("proxy.example:8443")).toBe(200);
    expect(await status("proxy.example")).toBe(403);
    expect(await status("admin.example.com.evil.example")).toBe(403);
  });

  test("a wildcard bind answers to the address a connection arrives on and the loopback names", async () => {
    const w = await node("W", { admin: "http://0.0.0.0:0", adminAllowRemote: true, adminTokens: [TOKEN] });
    const port = new URL(adminUrlOf(w)).port;
    const base = `http://127.0.0.1:${port}`;
    expect((await request(base, "/healthz")).status).toBe(200);
    expect((await request(base, "/healthz", { headers: { host: `localhost:${port}` } })).status).toBe(200);
    expect((await request(base, "/healthz", { headers: { host: `evil.example:${port}` } })).status).toBe(403);
  });
});

describe("state-changing requests (D3)", () => {
  const stopPath = "/api/v1/bridges/a-b/stop";

  test("curl with a foreign Origin: 403 with the token, with the cookie, and without any authentication configured; the bridge stays active", async () => {
    const { a, base } = await pair();
    const cookie = await login(base);
    const evil = { origin: "http://evil.example" };
    for (const creds of [bearer(), { cookie }, {}] as Array<Record<string, string>>) {
      const r = await request(base, stopPath, { method: "POST", headers: { ...evil, ...creds, ...JSON_TYPE } });
      expect(r.status).toBe(403);
      expect(r.body.error).toEqual({ code: "FEDMQ_ERR_CROSS_ORIGIN", message: `origin 'http://evil.example' may not change this endpoint: only its own origin '${base}' may` });
    }
    // Another port of the same host is another origin; so is `null` (a sandboxed frame).
    const port = Number(new URL(base).port);
    for (const origin of [`http://127.0.0.1:${port + 1}`, "null", `https://127.0.0.1:${port}`]) {
      expect([origin, (await request(base, stopPath, { method: "POST", headers: { origin, ...bearer(), ...JSON_TYPE } })).status]).toEqual([origin, 403]);
    }
    expect(a.bridges[0]!.currentState).toBe("active");

    const open = await pair({ auth: false, prefix: "open-" });
    expect((await request(open.base, stopPath, { method: "POST", headers: evil })).body.error?.code).toBe("FEDMQ_ERR_CROSS_ORIGIN");
    expect(open.a.bridges[0]!.currentState).toBe("active");
  });

  test("the cookie alone needs the page's own Origin (CSRF); with it, the POST works", async () => {
    const { a, base } = await pair();
    const cookie = await login(base);
    const csrf = await request(base, stopPath, { method: "POST", headers: { cookie, ...JSON_TYPE } });
    expect(csrf.status).toBe(403);
    expect(csrf.body.error).toEqual({ code: "FEDMQ_ERR_CSRF", message: "POST /api/v1/bridges/a-b/stop with the session cookie needs an Origin header naming this endpoint: send 'Authorization: Bearer <token>' instead" });
    expect(a.bridges[0]!.currentState).toBe("active");
    const ok = await request(base, stopPath, { method: "POST", headers: { cookie, origin: base, ...JSON_TYPE } });
    expect(ok.status).toBe(200);
    expect(a.bridges[0]!.currentState).toBe("stopped");
    expect((await request(base, "/api/v1/bridges/a-b/start", { method: "POST", headers: { ...bearer(), ...JSON_TYPE } })).status).toBe(200);
    await waitFor(() => a.bridges[0]!.currentState === "active", { what: "bridge active again" });
  });

  test("only JSON: a form, text/plain, multipart or no body type is 415", async () => {
    const { a, base } = await pair();
    for (const type of ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", undefined]) {
      const r = await request(base, stopPath, { method: "POST", headers: { ...bearer(), ...(type ? { "content-type": type } : {}) }, body: type ? "a=b" : undefined });
      expect([type, r.status, r.body.error?.code]).toEqual([type, 415, "FEDMQ_ERR_UNSUPPORTED_MEDIA_TYPE"]);
    }
    expect((await request(base, stopPath, { method: "POST", headers: { ...bearer(), "content-type": "text/plain" } })).body.error?.message)
      .toBe("POST /api/v1/bridges/a-b/stop takes content-type 'application/json', not 'text/plain'");
    expect(a.bridges[0]!.currentState).toBe("active");
    // Parameters of the type are fine.
    expect((await request(base, stopPath, { method: "POST", headers: { ...bearer(), "content-type": "application/json; charset=utf-8" } })).status).toBe(200);
  });
});

describe("web view login", () => {
  test("GET / goes to /login; the form sets an HttpOnly SameSite=Strict cookie that authorizes GETs; logout clears it", async () => {
    const { base } = await pair();
    const page = await request(base, "/login");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["x-frame-options"]).toBe("DENY");
    expect(page.text).toContain('<form id="login" method="post" action="/login">');
    expect(page.text).toContain('<p id="error" role="alert" data-login-error hidden>');
    // Self-contained: nothing loaded from elsewhere.
    expect(page.text).not.toMatch(/\b(src|href)=/);

    const r = await request(base, "/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: base }, body: `token=${TOKEN}` });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe("/");
    expect(r.headers["set-cookie"]).toEqual([expect.stringMatching(/^fedmq_admin=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/)]);
    const cookie = String(r.headers["set-cookie"]![0]).split(";")[0]!;
    expect((await request(base, "/api/v1/broker", { headers: { cookie } })).status).toBe(200);
    const view = await request(base, "/", { headers: { cookie } });
    expect(view.status).toBe(200);
    expect(view.text).toContain('<form id="logout" method="post" action="/logout" data-auth-only>');

    // JSON logins too; each its own session.
    const j = await request(base, "/login", { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ token: ROTATED }) });
    expect(j.status).toBe(303);
    const cookie2 = String(j.headers["set-cookie"]![0]).split(";")[0]!;
    expect(cookie2).not.toBe(cookie);

    const out = await request(base, "/logout", { method: "POST", headers: { cookie, origin: base, "content-type": "application/x-www-form-urlencoded" } });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe("/login");
    expect(out.headers["set-cookie"]).toEqual(["fedmq_admin=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"]);
    expect((await request(base, "/api/v1/broker", { headers: { cookie } })).status).toBe(401);
    expect((await request(base, "/", { headers: { cookie } })).headers.location).toBe("/login");
    // The other session is untouched.
    expect((await request(base, "/api/v1/broker", { headers: { cookie: cookie2 } })).status).toBe(200);
  });

  test("a wrong token: 401 and the page with its message; a login from another origin: 403; no cookie either way", async () => {
    const { base } = await pair();
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const wrong = await request(base, "/login", { method: "POST", headers: form, body: `token=${WRONG}` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers["set-cookie"]).toBeUndefined();
    expect(wrong.text).toContain('<p id="error" role="alert" data-login-error>');
    const json = await request(base, "/login", { method: "POST", headers: JSON_TYPE, body: "{}" });
    expect(json.body.error).toEqual({ code: "FEDMQ_ERR_UNAUTHORIZED", message: "the login names no token: send token=… (or { \"token\": \"…\" })" });
    const cross = await request(base, "/login", { method: "POST", headers: { ...form, origin: "http://evil.example" }, body: `token=${TOKEN}` });
    expect(cross.status).toBe(403);
    expect(cross.headers["set-cookie"]).toBeUndefined();
    const big = await request(base, "/login", { method: "POST", headers: form, body: `token=${"x".repeat(5000)}` });
    expect(big.body.error?.code).toBe("FEDMQ_ERR_BODY_TOO_LARGE");
    // Without tokens there is no login.
    const open = await node("O");
    expect((await request(adminUrlOf(open), "/login")).status).toBe(404);
  });

  test("a session expires (option auth.sessionTtlMs)", async () => {
    const n = await node("S");
    const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const admin = await AdminServer.start(n, { url: "http://127.0.0.1:0", logger: silent, auth: { tokens: [TOKEN], sessionTtlMs: 300 } });
    cleanups.push(() => admin.close());
    const cookie = await login(admin.url);
    expect((await request(admin.url, "/api/v1/broker", { headers: { cookie } })).status).toBe(200);
    const expired = await waitFor(async () => {
      const r = await request(admin.url, "/api/v1/broker", { headers: { cookie } });
      return r.status === 401 ? r : undefined;
    }, { what: "the session expired" });
    expect(expired.body.error?.message).toBe("the session has expired or is unknown: log in again at /login, or send 'Authorization: Bearer <token>'");
  });
});

describe("in Chromium (D3)", () => {
  test("after the user logged in, a page of another origin cannot stop a bridge: no-cors fetch and auto-submitted form refused, bridge active", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "debug" }, { write: (s: string) => void lines.push(s) });
    const { a, base } = await pair({ a: { logger } });
    const target = `${base}/api/v1/bridges/a-b/stop`;
    const refusedAt = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "admin request refused" && l.url === "/api/v1/bridges/a-b/stop" && l.code === "FEDMQ_ERR_CROSS_ORIGIN").length;

    // The attacker's site: another port of the same host, so the browser does send the
    // SameSite=Strict cookie (a site is scheme and host, not port): only the Origin check stops it.
    const evilPages: Record<string, string> = {
      "/fetch": `<!doctype html><title>x</title><script>
        fetch(${JSON.stringify(target)}, { method: "POST", mode: "no-cors", credentials: "include" })
          .then(() => { document.title = "sent"; }, (e) => { document.title = "failed " + e; });
      </script>`,
      "/form": `<!doctype html><body onload="document.forms[0].submit()">
        <form method="post" action=${JSON.stringify(target)}><input name="x" value="1"></form></body>`,
      "/form-json": `<!doctype html><body onload="document.forms[0].submit()">
        <form method="post" enctype="text/plain" action=${JSON.stringify(target)}><input name='{"a":"' value='b"}'></form></body>`,
    };
    const evil = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html" }).end(evilPages[req.url ?? ""] ?? "");
    });
    await new Promise<void>((r) => evil.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => evil.close(r)));
    const evilBase = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;

    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const context = await browser.newContext();
    const page = await context.newPage();

    // The user logs in to the web view.
    await page.goto(base + "/");
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.fill('input[name="token"]', TOKEN);
    await Promise.all([page.waitForURL(base + "/"), page.click('button[type="submit"]')]);
    await page.waitForFunction("Number(document.body.dataset.refreshes) >= 1", undefined, { timeout: 15_000 });
    const cookies = await context.cookies(base);
    expect(cookies).toEqual([expect.objectContaining({ name: "fedmq_admin", httpOnly: true, sameSite: "Strict", path: "/" })]);

    // The no-cors fetch: sent with the cookie, refused by Origin.
    const attacker = await context.newPage();
    // What Chromium put on the wire (playwright's own view of a no-cors request leaves the cookie out).
    const cdp = await context.newCDPSession(attacker);
    await cdp.send("Network.enable");
    const wire: Array<Record<string, string>> = [];
    cdp.on("Network.requestWillBeSentExtraInfo", (e) => {
      wire.push(Object.fromEntries(Object.entries(e.headers).map(([k, v]) => [k.toLowerCase(), String(v)])));
    });
    await attacker.goto(evilBase + "/fetch");
    await attacker.waitForFunction(`document.title !== "x"`, undefined, { timeout: 15_000 });
    expect(await attacker.title()).toBe("sent");
    const sent = await waitFor(() => wire.find((h) => h.host === new URL(base).host && h.origin === evilBase), { what: "the POST's headers" });
    expect(sent).toMatchObject({ origin: evilBase, cookie: `fedmq_admin=${cookies[0]!.value}`, "sec-fetch-site": "same-site", "sec-fetch-mode": "no-cors" });
    await waitFor(() => refusedAt() === 1, { what: "the no-cors POST refused" });
    expect(a.bridges[0]!.currentState).toBe("active");

    // The auto-submitted forms (urlencoded, and text/plain shaped like JSON): refused.
    for (const [form, n] of [["/form", 2], ["/form-json", 3]] as const) {
      const tab = await context.newPage();
      const answered = tab.waitForResponse((r) => r.url() === target);
      // The page submits its form as it loads, which interrupts goto's own wait.
      tab.goto(evilBase + form).catch(() => undefined);
      expect((await answered).status()).toBe(403);
      await waitFor(() => refusedAt() === n, { what: `${form} refused` });
    }
    expect(a.bridges[0]!.currentState).toBe("active");
    const api = await request(base, "/api/v1/bridges/a-b", { headers: bearer() });
    expect((api.body.bridge as { state: string }).state).toBe("active");

    // The page itself may (its own origin, the cookie): the refusals above are about the origin.
    const status = await page.evaluate(`fetch("/api/v1/bridges/a-b/stop", { method: "POST", headers: { "content-type": "application/json" } }).then((r) => r.status)`);
    expect(status).toBe(200);
    expect(a.bridges[0]!.currentState).toBe("stopped");
  }, 60_000);
});
