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
};

export default config;
