/**
 * `npm run lint` checks the module graph of every package's src/ (type-only imports included):
 * no import cycle, inside a package or between packages, and imports only down the package order
 * of shared/DESIGN.md (a package may import only the packages listed for it here).
 */
"use strict";

/** What each package's src/ may import besides itself. */
const MAY_IMPORT = {
  protocol: [],
  client: ["protocol"],
  advisory: ["protocol"],
  bridge: ["protocol", "client", "advisory"],
  store: ["protocol"],
  broker: ["protocol", "client", "advisory", "bridge", "store"],
  config: ["protocol", "bridge"],
  cli: ["protocol", "client", "advisory", "bridge", "store", "broker", "config"],
  testkit: ["protocol", "client", "advisory", "bridge", "store", "broker", "config"],
};

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle: split the shared part out, or depend on an interface the lower module owns.",
      from: {},
      to: { circular: true },
    },
    ...Object.entries(MAY_IMPORT).map(([pkg, allowed]) => ({
      name: `package-order-${pkg}`,
      severity: "error",
      comment: `@fedmq/${pkg} may import only ${allowed.length ? allowed.map((p) => `@fedmq/${p}`).join(", ") : "no other @fedmq package"} (shared/DESIGN.md's package order).`,
      from: { path: `^packages/${pkg}/src/` },
      to: { path: `^packages/(?!(${[pkg, ...allowed].join("|")})/)[^/]+/` },
    })),
  ],
  options: {
    includeOnly: "^packages/[^/]+/src/",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.depcruise.json" },
    doNotFollow: { path: "node_modules" },
  },
};
