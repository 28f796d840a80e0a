// @ts-check
import { readFileSync } from "node:fs";
import js from "@eslint/js";
import vitest from "@vitest/eslint-plugin";
import tseslint from "typescript-eslint";

/** Runtime code runs inside Lambda (or the local stand-ins): it must never pull in the CDK. */
const noCdkInRuntime = {
  patterns: [
    {
      group: ["aws-cdk-lib", "aws-cdk-lib/*", "constructs", "cdk-nag"],
      message: "Runtime code (lambdas/, local/) must not import CDK: share types/schemas from lambdas/ instead.",
    },
  ],
};

/** @type {{ devDependencies: Record<string, string> }} */
const manifest = JSON.parse(readFileSync(`${import.meta.dirname}/package.json`, "utf8"));
/**
 * Production code (the Lambda bundles, the installed CLI) runs where only `dependencies` are installed
 * (npm install --omit=dev): it imports no devDependency, except as types. aws-cdk-lib/constructs are dev (and
 * optional peer) dependencies: only lib/ and bin/app.ts, which run in a checkout, import them.
 */
const noDevDependencies = {
  paths: [],
  patterns: [
    {
      group: Object.keys(manifest.devDependencies)
        .filter((name) => !name.startsWith("@types/") && name !== "node")
        .flatMap((name) => [name, `${name}/*`]),
      allowTypeImports: true,
      message: "a devDependency: production code (lambdas/, cli/, bin/mrsync.ts) runs without them (npm install --omit=dev).",
    },
    {
      // The stand-ins and the local runner load only under --local, by a dynamic import (cli/local-state-machine.ts).
      // gitignore syntax: a leading # starts a comment, hence the backslash.
      group: ["\\#local/**/*.ts", "!\\#local/endpoints.ts", "!\\#local/demo/*.ts"],
      allowTypeImports: true,
      message: "local/ loads only under --local (dynamic import): the installed CLI has no local/.",
    },
  ],
};

export default tseslint.config(
  { ignores: ["node_modules/", "cdk.out/", ".local/", "coverage/", "dist/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-non-null-assertion": "error",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: "error",
      "no-console": "off",
    },
  },
  {
    files: ["local/**/*.ts"],
    rules: { "no-restricted-imports": ["error", noCdkInRuntime] },
  },
  {
    files: ["lambdas/**/*.ts", "cli/**/*.ts", "bin/mrsync.ts"],
    rules: { "no-restricted-imports": ["error", { paths: [], patterns: [...noCdkInRuntime.patterns, ...noDevDependencies.patterns] }] },
  },
  {
    files: ["test/**/*.ts"],
    plugins: { vitest },
    rules: {
      ...vitest.configs.recommended.rules,
      "vitest/no-focused-tests": "error",
      "vitest/no-disabled-tests": "error",
      // helpers named expect… (e.g. expectExactlyOnce) assert too
      "vitest/expect-expect": ["error", { assertFunctionNames: ["expect", "expect*", "template.*"] }],
      // vitest's expect(value, message) names the failing case
      "vitest/valid-expect": ["error", { maxArgs: 2 }],
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  { files: ["eslint.config.js", "bin/mrsync.js"], ...tseslint.configs.disableTypeChecked },
);
