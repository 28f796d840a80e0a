/** How a request's headers become a stored object's metadata, and ETag comparison. */
import type { ObjectMeta } from "./folder-store.ts";
import { header, type Request } from "./http.ts";

const STORED_HEADERS = ["content-encoding", "content-disposition", "content-language", "cache-control", "expires"];

export const unquote = (etag: string) => etag.trim().replace(/^W\//, "").replace(/^"|"$/g, "");

export function metaFromRequest(r: Request, size: number, etag: string): ObjectMeta {
  const headers: Record<string, string> = {};
  const userMetadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.req.headers)) {
    if (typeof value !== "string") continue;
    if (name.startsWith("x-amz-meta-")) userMetadata[name.slice("x-amz-meta-".length)] = value;
    else if (STORED_HEADERS.includes(name)) {
      // aws-chunked is transfer framing, not a property of the stored object.
      const kept =
        name === "content-encoding"
          ? value
              .split(",")
              .map((v) => v.trim())
              .filter((v) => v !== "aws-chunked")
              .join(",")
          : value;
      if (kept !== "") headers[name] = kept;
    }
  }
  return {
    key: r.key,
    etag,
    size,
    lastModified: new Date().toISOString(),
    contentType: header(r.req, "content-type") ?? "binary/octet-stream",
    headers,
    userMetadata,
  };
}
