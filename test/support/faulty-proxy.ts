/**
 * A loopback proxy in front of a local server for fault injection that leaves the SDK's own retry middleware in the
 * path (a mocked client would bypass it): it can answer 500/503 to the next requests, or forward a request and then
 * drop its reply (the write lands, the caller never hears of it).
 */
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type FaultyProxy = {
  endpoint: string;
  /** The next `n` requests get `status` (500 InternalError by default) without reaching the server. */
  fail(n: number, status?: number, body?: string): void;
  /** The next `n` requests matching `which` reach the server, and their replies are dropped (socket destroyed). */
  dropReplies(n: number, which: (req: IncomingMessage) => boolean): void;
  seen(): number;
  close(): Promise<void>;
};

const INTERNAL_ERROR = "<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>";

export async function startFaultyProxy(target: string): Promise<FaultyProxy> {
  let failures = 0;
  let failure = { status: 500, body: INTERNAL_ERROR };
  let drops = 0;
  let dropWhich: (req: IncomingMessage) => boolean = () => false;
  let requests = 0;
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    requests++;
    if (failures > 0) {
      failures--;
      req.resume();
      res.writeHead(failure.status, { "content-type": failure.body.startsWith("{") ? "application/json" : "application/xml" });
      res.end(failure.body);
      return;
    }
    const drop = drops > 0 && dropWhich(req);
    if (drop) drops--;
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (drop) {
        answer.resume();
        answer.on("end", () => req.socket.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    fail: (n, status = 500, body = INTERNAL_ERROR) => {
      failures = n;
      failure = { status, body };
    },
    dropReplies: (n, which) => {
      drops = n;
      dropWhich = which;
    },
    seen: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
