/**
 * `npm run demo:seed [-- --orders N --type-coverage N --merchants N --database NAME]`
 * Reaches MySQL through MYSQL_URL (default mysql://root@127.0.0.1:3306/test). Idempotent.
 */
import { parseArgs } from "node:util";
import { DEFAULT_MYSQL_URL, DEMO_DATABASE, parseRowCount, seedDemo } from "#local/demo/seed.ts";

const { values } = parseArgs({
  options: {
    orders: { type: "string", default: process.env.DEMO_ORDERS ?? "200000" },
    "type-coverage": { type: "string", default: "2000" },
    merchants: { type: "string", default: "500" },
    database: { type: "string", default: DEMO_DATABASE },
  },
});

const mysqlUrl = process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL;
const started = performance.now();
const result = await seedDemo({
  mysqlUrl,
  database: values.database,
  orders: parseRowCount("orders", values.orders),
  typeCoverage: parseRowCount("type-coverage", values["type-coverage"]),
  merchants: parseRowCount("merchants", values.merchants),
  onProgress: (message) => {
    console.log(message);
  },
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`seeded ${result.database} in ${seconds}s: ${JSON.stringify(result.rows)}`);
