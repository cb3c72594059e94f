/**
 * `npm run lint` checks the module graph of every package's src/ (type-only imports included):
 * no import cycle, inside a package or between packages, and imports only down the package order
 * of shared/DESIGN.md (a package may import only the packages listed for it here).
 */
"use strict";

/**
 * What each package's src/ may import besides itself: `runtime` at run time, `types` in type
 * positions only (`import type`). `admin` and `ha` see the node only through interfaces; the
 * broker implements the admin's read-only view (a type import); `cli` wires them together.
 */
const MAY_IMPORT = {
  protocol: { runtime: [], types: [] },
  client: { runtime: ["protocol"], types: [] },
  advisory: { runtime: ["protocol"], types: [] },
  discovery: { runtime: ["protocol"], types: [] },
  bridge: { runtime: ["protocol", "client", "advisory"], types: [] },
  store: { runtime: ["protocol"], types: [] },
  stomp: { runtime: ["protocol"], types: [] },
  admin: { runtime: ["protocol"], types: ["advisory", "bridge", "store"] },
  broker: { runtime: ["protocol", "client", "advisory", "bridge", "store", "stomp"], types: ["admin"] },
  ha: { runtime: ["protocol", "advisory", "store"], types: ["admin", "bridge"] },
  config: { runtime: ["protocol", "bridge", "discovery"], types: [] },
  cli: { runtime: ["protocol", "client", "advisory", "discovery", "bridge", "store", "stomp", "admin", "broker", "ha", "config"], types: [] },
  testkit: { runtime: ["protocol", "client", "advisory", "discovery", "bridge", "store", "stomp", "admin", "broker", "ha", "config", "cli"], types: [] },
};

const list = (pkgs) => (pkgs.length ? pkgs.map((p) => `@fedmq/${p}`).join(", ") : "no other @fedmq package");

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle: split the shared part out, or depend on an interface the lower module owns.",
      from: {},
      to: { circular: true },
    },
    ...Object.entries(MAY_IMPORT).flatMap(([pkg, { runtime, types }]) => [
      {
        name: `package-order-${pkg}`,
        severity: "error",
        comment: `@fedmq/${pkg} may import only ${list(runtime)}${types.length ? `, and the types of ${list(types)}` : ""} (shared/DESIGN.md's package order).`,
        from: { path: `^packages/${pkg}/src/` },
        to: { path: `^packages/(?!(${[pkg, ...runtime, ...types].join("|")})/)[^/]+/` },
      },
      ...(types.length === 0 ? [] : [{
        name: `package-order-${pkg}-types-only`,
        severity: "error",
        comment: `@fedmq/${pkg} may import ${list(types)} in type positions only (import type): it sees them through interfaces.`,
        from: { path: `^packages/${pkg}/src/` },
        to: { path: `^packages/(${types.join("|")})/`, dependencyTypesNot: ["type-only"] },
      }]),
    ]),
  ],
  options: {
    includeOnly: "^packages/[^/]+/src/",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.depcruise.json" },
    doNotFollow: { path: "node_modules" },
  },
};
