/**
 * Test files that hold MySQL write transactions open for seconds. Begin's transaction horizon reads INNODB_TRX, which
 * is server-wide: while one of these runs, another file's ceiling would be held below its open transaction. They run
 * alone, one after another, once the other files are done (vitest.config.ts); test/unit/toolchain.test.ts checks that
 * every file opening such a transaction is listed.
 */
export const HOLDS_MYSQL_TRANSACTIONS = [
  "test/e2e/late-commits.test.ts",
  "test/e2e/live-source.test.ts",
  "test/e2e/reconcile-ranges.test.ts",
  "test/integration/lambdas/services/begin.test.ts",
  "test/integration/lambdas/services/begin.time-zone.test.ts",
  "test/integration/lambdas/services/key-ranges.test.ts",
];

/**
 * What holds a MySQL write transaction open in a test: the helpers of test/support/extraction.ts and live-writer.ts (a
 * test holding one otherwise should use them). A PostgreSQL transaction (the warehouse's) is per database: not listed.
 */
export const HOLDS_TRANSACTION = /\bwhileUncommitted\(|\brunLiveWriter\(/;

/**
 * Test files that load the machine's two cores for a minute or more (a 2M-row table read by four readers in one
 * process): beside them, the timing-sensitive tests of other files (a load seen ended within 3 s, a run killed
 * mid-way) miss their marks. They run alone too.
 */
export const LOADS_THE_MACHINE = ["test/e2e/ranges.test.ts"];

/** Every file the "alone" project runs, one after another, once the others are done. */
export const RUNS_ALONE = [...HOLDS_MYSQL_TRANSACTIONS, ...LOADS_THE_MACHINE];
