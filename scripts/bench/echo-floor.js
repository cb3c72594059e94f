#!/usr/bin/env node
/**
 * The CPU floor of a message round trip on this machine: a bare Node.js echo server, 8 client
 * connections (one child process), each sending 16 bytes and awaiting the echo before the next,
 * for 5 s. Prints round trips per second and the server's CPU per round trip (one read + one
 * write): what any broker that reads a request and writes a reply per message pays at least.
 *
 *   node scripts/bench/echo-floor.js
 */
"use strict";
const net = require("net"); const { fork } = require("child_process");
if (process.argv[2] === "client") {
  const port = Number(process.argv[3]); let n = 0; const t0 = Date.now();
  for (let i = 0; i < 8; i++) { const s = net.connect(port, "127.0.0.1", () => { s.setNoDelay(true); s.write(Buffer.alloc(16)); }); s.on("data", () => { n++; if (Date.now() - t0 < 5000) s.write(Buffer.alloc(16)); else s.destroy(); }); }
  setTimeout(() => { process.send({ n }); process.exit(0); }, 5200);
} else {
  const srv = net.createServer((s) => { s.setNoDelay(true); s.on("data", (d) => s.write(d)); });
  srv.listen(0, "127.0.0.1", () => {
    const c0 = process.cpuUsage(); const c = fork(__filename, ["client", String(srv.address().port)]);
    c.on("message", ({ n }) => { const u = process.cpuUsage(c0); console.log(`${n} round trips in 5 s = ${Math.round(n/5)}/s; server CPU ${((u.user+u.system)/n).toFixed(1)} µs per round trip (one read + one write)`); process.exit(0); });
  });
}
