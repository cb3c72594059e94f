#!/usr/bin/env node
// The `fedmq` command. A committed shim so npm can link it before the TypeScript is built.
"use strict";
const path = require("node:path");
const fs = require("node:fs");

const main = path.join(__dirname, "..", "dist", "main.js");
if (!fs.existsSync(main)) {
  process.stderr.write("fedmq: the CLI is not built yet: run 'npm run build' in the repository first\n");
  process.exit(1);
}
require(main)
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
