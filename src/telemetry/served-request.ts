/**
 * What telemetry reads of a finished client request (an `Exchange` satisfies it), so the access log and
 * the latency metrics need not know the proxy's internals.
 */
import type { Endpoint } from '../registry/endpoint.js';

export interface ServedRequest {
  readonly requestId: string;
  readonly req: { readonly method?: string | undefined; readonly url?: string | undefined };
  readonly res: { readonly statusCode: number; readonly headersSent: boolean };
  readonly model: string | undefined;
  /** The endpoint that answered, else the last one tried; undefined when none was tried. */
  readonly endpoint: Endpoint | undefined;
  readonly tried: readonly Endpoint[];
  /** `performance.now()` at arrival, and when the response head went out (-1: it never did). */
  readonly startedAt: number;
  readonly firstByteAt: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly retryReasons: readonly string[] | undefined;
  /** Faults a drill injected into the request's attempts, so a drill is never read as an outage. */
  readonly faults?: readonly string[] | undefined;
  /** The client left before the answer ended. */
  readonly clientGone: boolean;
}

/** The status a request ended with: 499 (as nginx logs it) when the client left before any answer. */
export function servedStatus(r: ServedRequest): number {
  return r.res.headersSent ? r.res.statusCode : 499;
}
