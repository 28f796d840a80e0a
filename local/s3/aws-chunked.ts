/**
 * Decodes the `aws-chunked` content encoding (SigV4 streaming and the SDK's flexible-checksum trailers) so stored
 * objects hold the payload, never the framing. Frames: `<hex size>[;chunk-signature=…]\r\n<data>\r\n`, ended by a
 * zero-size frame, optional trailer lines (`x-amz-checksum-crc32:…`) and a blank line.
 */
import { Transform, type TransformCallback } from "node:stream";

export function isAwsChunked(headers: Record<string, string | string[] | undefined>): boolean {
  const sha = headers["x-amz-content-sha256"];
  const encoding = headers["content-encoding"];
  return (
    (typeof sha === "string" && sha.startsWith("STREAMING-")) || (typeof encoding === "string" && encoding.split(",").some((e) => e.trim() === "aws-chunked"))
  );
}

type State = "header" | "data" | "data-end" | "trailer" | "done";

export class AwsChunkedDecoder extends Transform {
  /** Trailer headers (lower-case names) seen after the last chunk, e.g. x-amz-checksum-crc32. */
  readonly trailers: Record<string, string> = {};
  private buffer: Buffer = Buffer.alloc(0);
  private state: State = "header";
  private remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      this.drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(this.state === "done" ? null : new Error(`aws-chunked body ended early (in ${this.state})`));
  }

  private drain(): void {
    for (;;) {
      if (this.state === "data") {
        if (this.buffer.length === 0) return;
        const take = Math.min(this.remaining, this.buffer.length);
        this.push(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.remaining -= take;
        if (this.remaining > 0) return;
        this.state = "data-end";
        continue;
      }
      if (this.state === "done") {
        this.buffer = Buffer.alloc(0);
        return;
      }
      const eol = this.buffer.indexOf("\r\n");
      if (eol < 0) {
        if (this.buffer.length > 64 * 1024) throw new Error("aws-chunked frame header too long");
        return;
      }
      const line = this.buffer.subarray(0, eol).toString("latin1");
      this.buffer = this.buffer.subarray(eol + 2);
      if (this.state === "data-end") {
        if (line !== "") throw new Error("aws-chunked frame not terminated by CRLF");
        this.state = "header";
      } else if (this.state === "header") {
        const size = Number.parseInt(line.split(";")[0] ?? "", 16);
        if (!Number.isFinite(size) || size < 0) throw new Error(`bad aws-chunked frame header ${JSON.stringify(line)}`);
        this.remaining = size;
        this.state = size === 0 ? "trailer" : "data";
      } else if (line === "") {
        this.state = "done";
      } else {
        const colon = line.indexOf(":");
        if (colon > 0) this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    }
  }
}
