/**
 * The web view in a real browser: three in-process nodes in three sites (a duplex ring, the
 * ap-eu bridge through a link proxy), eu-1's admin page open in headless Chromium. Every node
 * and bridge is drawn with its state; cutting the proxied link turns that one bridge away from
 * `active` on the page while the others stay active, healing brings it back, and the page says
 * so when its own endpoint stops answering. With admin tokens, the page is reached through its
 * login and draws the same network (the nodes read each other with the token).
 */
import type { Page } from "playwright-core";
import type { BrokerNode } from "@fedmq/broker";
import type { AdminPeer } from "@fedmq/admin";
import { adminUrlOf } from "./helpers/served-nodes";
import { freePort, waitFor, type LinkProxy } from "../src";
import { FaultHarness } from "./helpers/fault-harness";
import { launchChromium } from "./helpers/browser";

const SITES = { "eu-1": "eu-west", "us-1": "us-east", "ap-1": "ap-south" } as const;
type Name = keyof typeof SITES;
const BRIDGES = ["ap-eu", "eu-us", "us-ap"];

const h = FaultHarness.perTest();

async function network(): Promise<{ nodes: Record<Name, BrokerNode>; proxy: LinkProxy }> {
  const names = Object.keys(SITES) as Name[];
  const listen = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()] as const))) as Record<Name, number>;
  const admin = Object.fromEntries(await Promise.all(names.map(async (n) => [n, `http://127.0.0.1:${await freePort()}`] as const))) as Record<Name, string>;
  const peers: AdminPeer[] = names.map((n) => ({ name: n, site: SITES[n], admin: admin[n] }));
  const url = (n: Name) => `tcp://127.0.0.1:${listen[n]}`;
  // ap-1 reaches eu-1 through the proxy; quick retries so the cut shows within a second.
  const proxy = await h.proxy(listen["eu-1"]);
  const connectors: Record<Name, { name: string; remote: string[]; duplex: true; initialReconnectDelay: number; maxReconnectDelay: number }[]> = {
    "eu-1": [{ name: "eu-us", remote: [url("us-1")], duplex: true, initialReconnectDelay: 50, maxReconnectDelay: 400 }],
    "us-1": [{ name: "us-ap", remote: [url("ap-1")], duplex: true, initialReconnectDelay: 50, maxReconnectDelay: 400 }],
    "ap-1": [{ name: "ap-eu", remote: [proxy.url], duplex: true, initialReconnectDelay: 50, maxReconnectDelay: 400 }],
  };
  const nodes = {} as Record<Name, BrokerNode>;
  for (const n of names) {
    nodes[n] = await h.node(n, connectors[n], { store: "memory", site: SITES[n], listen: [url(n)], admin: admin[n], peers });
  }
  await waitFor(() => names.every((n) => nodes[n].bridges[0]!.currentState === "active"), { timeoutMs: 15_000, what: "all three bridges active" });
  return { nodes, proxy };
}

const stateOf = (page: Page, attr: "data-node" | "data-bridge", name: string) => page.locator(`[${attr}="${name}"]`).getAttribute("data-state");

test("every node and bridge drawn with its state; a cut link changes that bridge on the page; the banner shows when the endpoint goes", async () => {
  const { nodes, proxy } = await network();
  // Demand for the labels: a consumer on us-1 makes eu-us forward orders.eu.
  const consumer = await h.client(nodes["us-1"].url);
  const sub = await consumer.subscribe("queue://orders.eu");
  void (async () => {
    for await (const d of sub) d.ack();
  })().catch(() => undefined);

  const browser = await launchChromium();
  // Closed at cleanup before anything the test started earlier.
  h.defer(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  await page.goto(adminUrlOf(nodes["eu-1"]) + "/");

  // Every node, in its site, up; every bridge, active.
  for (const [name, site] of Object.entries(SITES)) {
    await page.waitForSelector(`[data-node="${name}"][data-state="up"][data-node-site="${site}"]`, { timeout: 15_000 });
    await page.waitForSelector(`[data-site="${site}"]`, { timeout: 5_000 });
  }
  for (const b of BRIDGES) await page.waitForSelector(`[data-bridge="${b}"][data-state="active"]`, { timeout: 15_000 });
  expect(await page.locator("[data-node]").evaluateAll((els) => els.map((e) => `${e.getAttribute("data-node")}:${e.getAttribute("data-state")}`).sort())).toEqual(["ap-1:up", "eu-1:up", "us-1:up"]);
  expect(await page.locator("[data-bridge]").evaluateAll((els) => els.map((e) => `${e.getAttribute("data-bridge")}:${e.getAttribute("data-from")}->${e.getAttribute("data-to")}:${e.getAttribute("data-state")}`).sort())).toEqual([
    "ap-eu:ap-1->eu-1:active", "eu-us:eu-1->us-1:active", "us-ap:us-1->ap-1:active",
  ]);
  // The label of eu-us shows the demand it carries.
  // (An expression string: it runs in the page, where `document` is; the tests compile without DOM types.)
  await page.waitForFunction(`document.querySelector('[data-bridge-label="eu-us"]')?.textContent?.includes("demand orders.eu")`, undefined, { timeout: 15_000 });
  expect(await page.locator("#banner").isHidden()).toBe(true);
  // No discovery on these nodes (GET /api/v1/discovery answers 404): no Discovery panel, after a few refreshes.
  await page.waitForFunction(`Number(document.body.dataset.refreshes) >= 3`, undefined, { timeout: 15_000 });
  expect(await page.locator("#discovery").isHidden()).toBe(true);

  // Cut ap-1 -> eu-1: that bridge leaves `active` on the page; the other two stay.
  await proxy.cut();
  const cut = page.locator('[data-bridge="ap-eu"]:not([data-state="active"])');
  await cut.waitFor({ timeout: 15_000 });
  expect(["backoff", "connecting"]).toContain(await cut.getAttribute("data-state"));
  expect(await stateOf(page, "data-bridge", "eu-us")).toBe("active");
  expect(await stateOf(page, "data-bridge", "us-ap")).toBe("active");
  for (const name of Object.keys(SITES)) expect(await stateOf(page, "data-node", name)).toBe("up");

  // Healed: active again.
  await proxy.heal();
  await page.waitForSelector('[data-bridge="ap-eu"][data-state="active"]', { timeout: 15_000 });

  // A peer that stops: drawn unreachable; then the page's own endpoint stops: the banner says so.
  await nodes["ap-1"].close();
  await page.waitForSelector('[data-node="ap-1"][data-state="unreachable"]', { timeout: 15_000 });
  await nodes["eu-1"].close();
  await page.waitForSelector("#banner:not([hidden])", { timeout: 15_000 });
  expect(await page.locator("#banner").textContent()).toContain("is not answering");
  expect(pageErrors).toEqual([]);
}, 90_000);


test("with admin tokens: / goes to the login, the token opens the web view, which draws the network; log out ends it", async () => {
  const token = "webview-admin-token-0123456789";
  const [eu, us] = [await freePort(), await freePort()];
  const admin = { "eu-1": `http://127.0.0.1:${eu}`, "us-1": `http://127.0.0.1:${us}` };
  const peers: AdminPeer[] = [{ name: "eu-1", site: "eu-west", admin: admin["eu-1"] }, { name: "us-1", site: "us-east", admin: admin["us-1"] }];
  const auth = { store: "memory" as const, adminTokens: [token], peers };
  const us1 = await h.node("us-1", [], { ...auth, site: "us-east", admin: admin["us-1"] });
  const eu1 = await h.node("eu-1", [{ name: "eu-us", remote: [us1.url] }], { ...auth, site: "eu-west", admin: admin["eu-1"] });
  await waitFor(() => eu1.bridges[0]!.currentState === "active", { what: "bridge eu-us active" });

  const browser = await launchChromium();
  h.defer(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));

  // Not logged in: the page is the login form; a wrong token says so.
  await page.goto(admin["eu-1"] + "/");
  expect(page.url()).toBe(admin["eu-1"] + "/login");
  await page.fill('input[name="token"]', "not-the-token-000000000000");
  await Promise.all([page.waitForURL(admin["eu-1"] + "/login"), page.click('button[type="submit"]')]);
  await page.waitForSelector("#error:not([hidden])", { timeout: 5_000 });

  // The token: the web view, drawing both nodes up (eu-1 read us-1 with its token) and the bridge.
  await page.fill('input[name="token"]', token);
  await Promise.all([page.waitForURL(admin["eu-1"] + "/"), page.click('button[type="submit"]')]);
  await page.waitForSelector('[data-node="eu-1"][data-state="up"][data-node-site="eu-west"]', { timeout: 15_000 });
  await page.waitForSelector('[data-node="us-1"][data-state="up"][data-node-site="us-east"]', { timeout: 15_000 });
  await page.waitForSelector('[data-bridge="eu-us"][data-state="active"]', { timeout: 15_000 });
  expect(await page.locator("#banner").isHidden()).toBe(true);
  expect(await page.locator("#logout").isVisible()).toBe(true);

  // Log out: back to the login, and the page stays there.
  await Promise.all([page.waitForURL(admin["eu-1"] + "/login"), page.click("#logout button")]);
  await page.goto(admin["eu-1"] + "/");
  expect(page.url()).toBe(admin["eu-1"] + "/login");
  expect(pageErrors).toEqual([]);
}, 60_000);
