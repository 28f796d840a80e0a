/**
 * Node options every sync Lambda runs with (the Lambda construct sets NODE_OPTIONS from this; the benchmark forks
 * its phases with it). The extractor allocates short-lived values at a high rate; with V8's default young
 * generation on a large machine the heap grew to ~350 MB peak RSS on 1M rows, with 16 MiB semi-spaces it stays
 * at ~240 MB at the same speed (measured in docs/benchmarks.md).
 */
export const LAMBDA_NODE_OPTIONS = ["--max-semi-space-size=16"] as const;
