/**
 * Pure, deterministic demo rows: the same sizes always give the same data, so seeding twice leaves the same
 * database. Exact values (DECIMAL, BIGINT, DATETIME(6)) are strings, never JS numbers.
 */

/** mulberry32: a small seeded PRNG — deterministic across runs and machines. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** "YYYY-MM-DD HH:MM:SS.ffffff" from epoch microseconds, in UTC. */
export function datetime6(epochMicros: bigint): string {
  const millis = Number(epochMicros / 1000n);
  const micros = Number(epochMicros % 1_000_000n);
  const d = new Date(millis);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(micros, 6)}`;
}

/** A DECIMAL literal with the given digits, from integer units of 10^-scale. */
export function decimal(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** The tie-heavy timestamp: many orders share it to the microsecond (the classic lost-rows trap). */
export const SHARED_UPDATED_AT = "2025-11-27 15:30:00.123456";
/** First id past 2^53: JavaScript numbers cannot hold it, so it proves ids stay exact. */
export const ID_BEYOND_2_53 = 9_007_199_254_740_993n;

const NOTES = [
  "Café crème — paid in €",
  "退款已处理",
  "🚀 express settlement 🇺🇸",
  'quote " and backslash \\ and tab \t',
  "multi\nline\nnote",
  "Ünïcödé ñ ß ø",
  "Привет, мир",
  "emoji 👩‍💻 ZWJ sequence",
  "",
  "   leading and trailing spaces   ",
];

export type OrderRow = [string, number, string, string, string | null, string, string, string | null, string, string, string | null];

/**
 * Orders with gaps in ids (1..1000, then from 50,000 with jumps, then past 2^53), 5% of rows sharing one
 * updated_at to the microsecond and clusters of rows sharing others, NULLs and utf8mb4 notes.
 */
export function* orderRows(count: number, seed = 42): Generator<OrderRow> {
  const rand = random(seed);
  const base = 1_735_689_600_000_000n; // 2025-01-01T00:00:00Z in µs
  let id = 0n;
  let clusterTimestamp = "";
  for (let i = 0; i < count; i++) {
    if (i < 1000) id = BigInt(i + 1);
    else if (i === 1000) id = 50_000n;
    else if (i === Math.floor(count * 0.9)) id = ID_BEYOND_2_53;
    else id += rand() < 0.01 ? BigInt(1_000_000 + Math.floor(rand() * 1_000_000)) : BigInt(1 + Math.floor(rand() * 3));
    const created = base + BigInt(i) * 15_000_000n + BigInt(Math.floor(rand() * 1_000_000));
    let updatedAt: string;
    const roll = rand();
    if (roll < 0.05) updatedAt = SHARED_UPDATED_AT;
    else if (roll < 0.15 && clusterTimestamp !== "") updatedAt = clusterTimestamp;
    else {
      updatedAt = datetime6(created + BigInt(Math.floor(rand() * 86_400_000_000)));
      if (rand() < 0.02) clusterTimestamp = updatedAt;
    }
    const status = pick(rand, ["pending", "settled", "settled", "settled", "refunded", "failed"] as const);
    const amountUnits = BigInt(Math.floor(rand() * 100_000_000)) * 100n + BigInt(Math.floor(rand() * 100));
    yield [
      id.toString(),
      1 + Math.floor(rand() * 500),
      `ORD-${id.toString(36).toUpperCase()}`,
      decimal(status === "refunded" ? -amountUnits : amountUnits, 4),
      rand() < 0.2 ? null : decimal(BigInt(Math.floor(rand() * 1_000_000_000)), 6),
      pick(rand, ["USD", "EUR", "GBP", "JPY", "CNY"] as const),
      status,
      rand() < 0.3 ? null : pick(rand, NOTES),
      datetime6(created),
      updatedAt,
      status === "settled" ? datetime6(created + 86_400_000_000n).slice(0, 10) : null,
    ];
  }
}

export type MerchantRow = [number, string, string, string, string, number, string, string];

export function* merchantRows(count: number, seed = 7): Generator<MerchantRow> {
  const rand = random(seed);
  const names = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Ōkami 株式会社", "Søren & Co"];
  for (let id = 1; id <= count; id++) {
    yield [
      id,
      `${pick(rand, names)} #${id}`,
      pick(rand, ["US", "GB", "DE", "JP", "CN", "FR"] as const),
      pick(rand, ["bronze", "silver", "gold"] as const),
      decimal(BigInt(Math.floor(rand() * 5000)), 4),
      rand() < 0.9 ? 1 : 0,
      datetime6(1_577_836_800_000_000n + BigInt(id) * 86_400_000_000n).slice(0, 10),
      datetime6(1_735_689_600_000_000n + BigInt(id) * 1_000_001n),
    ];
  }
}

/** Column order of the type-coverage table; every row below follows it. */
export const TYPE_COVERAGE_COLUMNS = [
  "id",
  "c_tinyint",
  "c_tinyint_u",
  "c_bool",
  "c_smallint",
  "c_smallint_u",
  "c_mediumint",
  "c_mediumint_u",
  "c_int",
  "c_int_u",
  "c_bigint",
  "c_bigint_u",
  "c_dec_10_2",
  "c_dec_18_6",
  "c_dec_38_10",
  "c_dec_65_30",
  "c_float",
  "c_double",
  "c_bit1",
  "c_bit12",
  "c_date",
  "c_datetime",
  "c_datetime6",
  "c_timestamp3",
  "c_timestamp6",
  "c_time",
  "c_time6",
  "c_year",
  "c_char",
  "c_varchar",
  "c_tinytext",
  "c_text",
  "c_mediumtext",
  "c_longtext",
  "c_enum",
  "c_set",
  "c_json",
  "c_binary",
  "c_varbinary",
  "c_tinyblob",
  "c_blob",
  "c_mediumblob",
  "c_longblob",
] as const;

type Value = string | number | Buffer | null;

/** Hand-written edge rows: extremes, zero dates, TIME beyond 24 h, NULL everywhere. */
export function typeCoverageEdgeRows(): Value[][] {
  const nines = (integer: number, scale: number) => `${"9".repeat(integer)}.${"9".repeat(scale)}`;
  return [
    // maxima
    [
      1,
      127,
      255,
      1,
      32767,
      65535,
      8388607,
      16777215,
      2147483647,
      4294967295,
      "9223372036854775807",
      "18446744073709551615",
      nines(8, 2),
      nines(12, 6),
      nines(28, 10),
      nines(35, 30),
      3.4028234e38,
      1.7976931348623157e308,
      1,
      4095,
      "9999-12-31",
      "9999-12-31 23:59:59",
      "9999-12-31 23:59:59.999999",
      "2038-01-19 03:14:07.999",
      "2038-01-19 03:14:07.999999",
      "838:59:59",
      "838:59:59.000000",
      2155,
      "ZZZZZZZZZZ",
      "max ✓ 𝄞",
      "t",
      "text",
      "medium",
      "long",
      "refunded",
      "a,b,c",
      '{"max": 18446744073709551615}',
      Buffer.alloc(16, 0xff),
      Buffer.alloc(255, 0xff),
      Buffer.from([0xff]),
      Buffer.from([0, 1, 2]),
      Buffer.from("medium"),
      Buffer.from("long"),
    ],
    // minima and negatives
    [
      2,
      -128,
      0,
      0,
      -32768,
      0,
      -8388608,
      0,
      -2147483648,
      0,
      "-9223372036854775808",
      "0",
      `-${nines(8, 2)}`,
      `-${nines(12, 6)}`,
      `-${nines(28, 10)}`,
      `-${nines(35, 30)}`,
      -3.4028234e38,
      -1.7976931348623157e308,
      0,
      0,
      "1000-01-01",
      "1000-01-01 00:00:00",
      "1000-01-01 00:00:00.000001",
      "1970-01-01 00:00:01.000",
      "1970-01-01 00:00:01.000001",
      "-838:59:59",
      "-838:59:59.000000",
      1901,
      "",
      "",
      "",
      "",
      "",
      "",
      "pending",
      "",
      "[]",
      Buffer.alloc(16, 0),
      Buffer.alloc(0),
      Buffer.alloc(0),
      Buffer.alloc(0),
      Buffer.alloc(0),
      Buffer.alloc(0),
    ],
    // zero dates (become NULL in the warehouse by default) and precise fractions
    [
      3,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      "0",
      "9007199254740993",
      "0.01",
      "0.000001",
      "0.0000000001",
      "0.000000000000000000000000000001",
      1.5,
      0.1,
      0,
      1,
      "0000-00-00",
      "0000-00-00 00:00:00",
      "2022-11-00 12:00:00.000000",
      null,
      null,
      "00:00:00",
      "24:00:00.000001",
      2000,
      "a",
      "zero dates",
      null,
      null,
      null,
      null,
      "settled",
      "b",
      '{"nested": {"a": [1, 2.5, "x", null, true]}}',
      null,
      null,
      null,
      null,
      null,
      null,
    ],
    // all NULL but the key
    [4, ...Array.from({ length: TYPE_COVERAGE_COLUMNS.length - 1 }, () => null)],
  ];
}

/** Deterministic filler rows: ids 5..1000, then from 10^12 (an id gap the sync must cross). */
export function* typeCoverageRows(count: number, seed = 99): Generator<Value[]> {
  const rand = random(seed);
  const edges = typeCoverageEdgeRows();
  yield* edges;
  for (let i = edges.length; i < count; i++) {
    const id = i < 1000 ? String(i + 1) : String(1_000_000_000_000n + BigInt(i));
    const n = Math.floor(rand() * 1_000_000);
    const nullable = <T>(value: T): T | null => (rand() < 0.1 ? null : value);
    yield [
      id,
      (n % 256) - 128,
      n % 256,
      n % 2,
      (n % 65536) - 32768,
      n % 65536,
      n - 500_000,
      n,
      n * 2000 - 1_000_000_000,
      n * 4000,
      `${n}${n}`,
      `${n}${n}${n}`,
      nullable(decimal(BigInt(n) * 37n, 2)),
      nullable(decimal(BigInt(n) * 1_234_567n, 6)),
      nullable(decimal(BigInt(n) * 10n ** 20n + BigInt(n), 10)),
      nullable(decimal(BigInt(n) * 10n ** 40n + 7n, 30)),
      nullable(n / 1024),
      nullable(n / 3),
      n % 2,
      n % 4096,
      nullable(datetime6(1_600_000_000_000_000n + (BigInt(n) * 86_400_000_000n) / 1000n).slice(0, 10)),
      nullable(datetime6(1_600_000_000_000_000n + BigInt(n) * 1_000_000n).slice(0, 19)),
      nullable(datetime6(1_600_000_000_000_000n + BigInt(n) * 1_000_003n)),
      nullable(datetime6(1_600_000_000_000_000n + BigInt(n) * 1_000_000n).slice(0, 23)),
      nullable(datetime6(1_600_000_000_000_000n + BigInt(n) * 999_999n)),
      `${(n % 800) - 400}:${pad(n % 60)}:${pad((n >> 3) % 60)}`,
      `${n % 100}:00:00.${pad(n % 1_000_000, 6)}`,
      1901 + (n % 255),
      `c${n % 1000}`,
      nullable(pick(rand, NOTES)),
      `tiny ${n}`,
      `text ${n} ${pick(rand, NOTES)}`,
      `medium ${n}`,
      `long ${n}`,
      pick(rand, ["pending", "settled", "refunded", "failed"]),
      pick(rand, ["", "a", "a,b", "b,c", "a,b,c"]),
      nullable(JSON.stringify({ n, tags: ["x", n % 7], ok: n % 2 === 0 })),
      nullable(Buffer.from(n.toString(16).padStart(32, "0").slice(0, 32), "hex")),
      nullable(Buffer.from(`vb-${n}`)),
      nullable(Buffer.from([n % 256])),
      nullable(Buffer.from(`blob ${n}`)),
      nullable(Buffer.from(`mediumblob ${n}`)),
      nullable(Buffer.from(`longblob ${n}`)),
    ];
  }
}
