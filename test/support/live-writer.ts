/**
 * An application writing while syncs run: sessions doing autocommit inserts, updates and deletes, and sessions
 * holding transactions open — rows inserted with the statement's NOW(), committed seconds later (a batch job, a
 * settlement close). Bounded in time and in statements; every row it deletes is recorded (query-based CDC cannot see
 * deletes: those rows stay in the warehouse until a reconcile with delete_policy hard).
 */
import { setTimeout as sleep } from "node:timers/promises";
import mysql from "mysql2/promise";
import { random } from "#local/demo/rows.ts";
import { MYSQL_URL } from "./extraction.ts";

/** A table the writer writes: `updates` only where a change is visible to query-based CDC (a timestamp cursor). */
export type WrittenTable = { name: string; insert: string; update?: string };

export type LiveWriterOptions = {
  database: string;
  tables: readonly WrittenTable[];
  /** How long the writer writes. */
  durationMs: number;
  /** Sessions doing autocommit inserts, updates and deletes. */
  autocommitSessions: number;
  /** Sessions holding transactions open: 1–5 rows into each table, then a wait in this range, then COMMIT. */
  transactionSessions: number;
  openForMs: { min: number; max: number };
  /** Deletes pick among ids up to this (rows that existed before the writer started). */
  deleteBelowId: number;
  seed: number;
};

export type LiveWriterResult = { deleted: Map<string, Set<number>>; inserted: number; updated: number; transactions: number };

/** Runs the writer until `durationMs` has passed and every open transaction has committed. */
export async function runLiveWriter(options: LiveWriterOptions): Promise<LiveWriterResult> {
  const result: LiveWriterResult = { deleted: new Map(options.tables.map((t) => [t.name, new Set<number>()])), inserted: 0, updated: 0, transactions: 0 };
  const until = Date.now() + options.durationMs;
  const next = random(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const table = (name: string) => `\`${options.database}\`.\`${name}\``;

  const autocommit = async () => {
    const session = await mysql.createConnection({ uri: MYSQL_URL });
    try {
      while (Date.now() < until) {
        const target = pick(options.tables);
        const roll = next();
        if (roll < 0.6) {
          await session.query(`INSERT INTO ${table(target.name)} ${target.insert}`);
          result.inserted++;
        } else if (roll < 0.85 && target.update !== undefined) {
          await session.query(`UPDATE ${table(target.name)} SET ${target.update} WHERE id = ?`, [1 + Math.floor(next() * options.deleteBelowId)]);
          result.updated++;
        } else {
          const id = 1 + Math.floor(next() * options.deleteBelowId);
          const [deleted] = await session.query<mysql.ResultSetHeader>(`DELETE FROM ${table(target.name)} WHERE id = ?`, [id]);
          if (deleted.affectedRows > 0) result.deleted.get(target.name)?.add(id);
        }
        await sleep(20 + next() * 60);
      }
    } finally {
      await session.end();
    }
  };

  const transactions = async () => {
    const session = await mysql.createConnection({ uri: MYSQL_URL });
    try {
      while (Date.now() < until) {
        await session.query("BEGIN");
        for (const target of options.tables) {
          const rows = 1 + Math.floor(next() * 5);
          for (let i = 0; i < rows; i++) await session.query(`INSERT INTO ${table(target.name)} ${target.insert}`);
          result.inserted += rows;
        }
        await sleep(options.openForMs.min + next() * (options.openForMs.max - options.openForMs.min));
        await session.query("COMMIT");
        result.transactions++;
      }
    } finally {
      await session.end();
    }
  };

  await Promise.all([
    ...Array.from({ length: options.autocommitSessions }, () => autocommit()),
    ...Array.from({ length: options.transactionSessions }, () => transactions()),
  ]);
  return result;
}
