#!/usr/bin/env node
// Installs what the test suite needs beyond npm packages, where it is missing: Debian's
// redis-server and nats-server (suites start their own on free ports), chromium (the web view
// suite drives it headless) and python3-stomp (the STOMP suites run a real Python client).
// Says what it installs; changes nothing when all are there.
"use strict";
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");

const NEEDED = [
  { bin: "redis-server", pkg: "redis-server", why: "the Redis store and Redis HA suites" },
  { bin: "nats-server", pkg: "nats-server", why: "the NATS launcher suite" },
  { bin: "chromium", pkg: "chromium", why: "the web view suite (headless)" },
  { bin: "python3-stomp", pkg: "python3-stomp", why: "the STOMP suites (a real Python client)", check: "/usr/bin/python3 -c 'import stomp'" },
];

function has(bin) {
  const need = NEEDED.find((n) => n.bin === bin);
  return spawnSync("sh", ["-c", need?.check ?? `command -v ${bin}`], { stdio: "ignore" }).status === 0;
}

const missing = NEEDED.filter((n) => !has(n.bin));
if (missing.length === 0) process.exit(0);
const pkgs = missing.map((n) => n.pkg);
for (const n of missing) process.stdout.write(`test setup: installing Debian package '${n.pkg}' (${n.bin} not found; needed by ${n.why})\n`);
const root = typeof process.getuid === "function" && process.getuid() === 0;
const aptGet = fs.existsSync("/usr/bin/apt-get");
if (!root || !aptGet) {
  process.stderr.write(`test setup: cannot install ${pkgs.join(", ")} here (${aptGet ? "not root" : "no apt-get"}): run 'sudo apt-get install -y ${pkgs.join(" ")}', then the tests again\n`);
  process.exit(1);
}
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
try {
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...pkgs], { stdio: "inherit", env });
} catch (err) {
  process.stderr.write(`test setup: apt-get could not install ${pkgs.join(", ")}: ${err.message}\n`);
  process.exit(1);
}
const still = missing.filter((n) => !has(n.bin));
if (still.length > 0) {
  process.stderr.write(`test setup: installed, yet still missing: ${still.map((n) => n.bin).join(", ")}\n`);
  process.exit(1);
}
process.stdout.write(`test setup: installed ${pkgs.join(", ")}\n`);
