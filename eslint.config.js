// @ts-check
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

export default tseslint.config(
  { ignores: ["node_modules/", "cdk.out/", ".local/", "coverage/"] },
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
    files: ["lambdas/**/*.ts", "local/**/*.ts", "cli/**/*.ts"],
    rules: { "no-restricted-imports": ["error", noCdkInRuntime] },
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
  { files: ["eslint.config.js"], ...tseslint.configs.disableTypeChecked },
);
