import type { Config } from "jest";

const config: Config = {
  testEnvironment: "node",
  roots: ["<rootDir>/packages"],
  testMatch: ["**/test/**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" } }] },
  moduleNameMapper: { "^@fedmq/([a-z]+)$": "<rootDir>/packages/$1/src" },
  testTimeout: 60_000,
  // Suites start real servers and child processes; two workers match the 2-core CI machine.
  maxWorkers: 2,
  // Safety net: a failing test must not leave CI waiting on a handle (e.g. a reconnecting
  // client) it did not get to close. Suites still clean up after themselves.
  forceExit: true,
};

export default config;
