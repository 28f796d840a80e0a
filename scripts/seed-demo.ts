/**
 * `npm run demo:seed [-- --orders N --type-coverage N --merchants N --database NAME]`
 * Reaches MySQL through MYSQL_URL (default mysql://root@127.0.0.1:3306/test). Idempotent.
 */
import { parseArgs } from "node:util";
import { DEFAULT_MYSQL_URL, DEMO_DATABASE, seedDemo } from "#local/demo/seed.ts";

const { values } = parseArgs({
  options: {
    orders: { type: "string", default: process.env.DEMO_ORDERS ?? "200000" },
    "type-coverage": { type: "string", default: "2000" },
    merchants: { type: "string", default: "500" },
    database: { type: "string", default: DEMO_DATABASE },
  },
});

function count(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 5) throw new Error(`--${name} must be an integer of at least 5, got ${text}`);
  return n;
}

const mysqlUrl = process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL;
const started = performance.now();
const result = await seedDemo({
  mysqlUrl,
  database: values.database,
  orders: count("orders", values.orders),
  typeCoverage: count("type-coverage", values["type-coverage"]),
  merchants: count("merchants", values.merchants),
  onProgress: (message) => { console.log(message); },
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`seeded ${result.database} in ${seconds}s: ${JSON.stringify(result.rows)}`);
