/**
 * Who is calling, for calls the local runner makes on a service's behalf. On AWS each function runs in its own
 * sandbox with its execution role's credentials, and Step Functions calls the Data API as its own role; here the
 * handlers share one process (and the SDK clients the adapters keep as module singletons), so the credentials a call
 * is signed with cannot say which function made it. The runner runs each invocation inside `runAs(identity)`, and
 * every HTTP request made within it carries that identity in a header the local stand-ins read (identities.ts):
 * `function:<handler module>` is the function's role, `states` the state machine's. Production code is unchanged
 * (the header is added below the SDK, at `http.request`); without the header a call is whoever its key says.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";

/** The header naming the service identity a local call is made as. */
export const LOCAL_IDENTITY_HEADER = "x-mrsync-local-identity";
/** The state machine's own identity (invoking the functions, starting child executions). */
export const STATES_IDENTITY = "states";
export const functionIdentity = (handlerModule: string) => `function:${handlerModule}`;

const current = new AsyncLocalStorage<string>();

/** Runs `work` as a service identity: every request it makes (however deep in the SDK) names it. */
export function runAs<T>(identity: string, work: () => T): T {
  return current.run(identity, work);
}

/**
 * Runs `work` as no service: for a test's own administrator calls made from inside a replaced handler (fault
 * injection), which are the test's, not the function's.
 */
export function asNoService<T>(work: () => T): T {
  return current.exit(work);
}

type RequestOptions = Record<string, unknown> & { headers?: Record<string, unknown> };

let installed = false;

/**
 * Tags each outgoing HTTP request with the identity of the invocation it is made in. Installed before any SDK client
 * sends (the SDK's HTTP handler takes `http.request` at its first request), once per process.
 */
export function installIdentityTagging(): void {
  if (installed) return;
  installed = true;
  const original = http.request.bind(http) as (...args: unknown[]) => http.ClientRequest;
  const tagged = (...args: unknown[]): http.ClientRequest => {
    const identity = current.getStore();
    if (identity !== undefined) {
      const index = args.findIndex((arg) => arg !== null && typeof arg === "object" && !(arg instanceof URL));
      if (index >= 0) {
        const options = args[index] as RequestOptions;
        args[index] = { ...options, headers: { ...options.headers, [LOCAL_IDENTITY_HEADER]: identity } };
      } else {
        args.splice(typeof args[0] === "string" || args[0] instanceof URL ? 1 : 0, 0, { headers: { [LOCAL_IDENTITY_HEADER]: identity } });
      }
    }
    return original(...args);
  };
  (http as { request: unknown }).request = tagged;
}

installIdentityTagging();
