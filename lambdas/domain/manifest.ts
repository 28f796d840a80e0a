/**
 * Pure: a load's manifest (docs/design.md §4), the one place its format is written and read. SubmitLoad writes it — the
 * exact files of the load with their sizes (Redshift's COPY … MANIFEST reads meta.content_length for Parquet) — and
 * CompleteLoad reads the files back from it (the state machine carries the manifest's key, not the list).
 */
import { z } from "zod";

export const ManifestSchema = z.object({
  entries: z.array(z.object({ url: z.string().startsWith("s3://"), mandatory: z.boolean(), meta: z.object({ content_length: z.int().nonnegative() }) })),
});
export type Manifest = z.output<typeof ManifestSchema>;

export class ManifestError extends Error {
  override readonly name = "ManifestError";
}

/** The manifest of `files` (keys in `bucket`, with their sizes): every one mandatory, so a missing file fails COPY. */
export function manifestOf(bucket: string, files: readonly { key: string; size: number }[]): Manifest {
  return { entries: files.map((file) => ({ url: `s3://${bucket}/${file.key}`, mandatory: true, meta: { content_length: file.size } })) };
}

/** The keys a manifest lists, all in `bucket` (a manifest naming another bucket is not ours: refused). */
export function filesOf(bucket: string, manifest: unknown, where: string): string[] {
  const parsed = ManifestSchema.safeParse(manifest);
  if (!parsed.success) throw new ManifestError(`${where}: not a load manifest: ${z.prettifyError(parsed.error).replaceAll("\n", " ")}`);
  const prefix = `s3://${bucket}/`;
  return parsed.data.entries.map((entry) => {
    if (!entry.url.startsWith(prefix)) throw new ManifestError(`${where}: lists ${entry.url}, outside s3://${bucket}/`);
    return entry.url.slice(prefix.length);
  });
}
