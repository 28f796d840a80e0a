import { defineConfig } from "vitest/config";
import { RUNS_ALONE } from "./test/support/alone.ts";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Before anything in a test process sends a request: the SDK takes http.request once per process, and the local
    // runner's identity tags (local/iam/runtime.ts) must be in it.
    setupFiles: ["local/iam/runtime.ts"],
    // The handlers' Powertools logger and metrics write to stdout; tests assert on results, not on log lines.
    // X-Ray's automatic mode (an async hook on every promise) is for traced Lambdas: local/powertools-env.ts.
    env: { POWERTOOLS_LOG_LEVEL: "SILENT", POWERTOOLS_METRICS_DISABLED: "true", AWS_XRAY_MANUAL_MODE: "1" },
    // CI also writes a JSON report, from which .ci/run prints one plain "N passed, N failed" line.
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".local/vitest-results.json" }]] : ["default"],
    projects: [
      {
        extends: true,
        // Three files at once on this 2-core machine kind (vitest's default is cores − 1 = 1): the tests mostly wait on
        // MariaDB, PostgreSQL and the stand-ins, and no two files share a database, bucket folder or port.
        test: { name: "together", include: ["test/**/*.test.ts"], exclude: RUNS_ALONE, maxWorkers: 3, sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: "alone", include: RUNS_ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
