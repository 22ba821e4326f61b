/**
 * The picker contract: given what a request needs, choose the endpoint for its next attempt. The data
 * path calls `pick` once per attempt, passing the endpoints already tried so a retry prefers another
 * endpoint (and another region). Implementations read local, in-memory state only: never I/O.
 */
import type { Endpoint } from '../registry/endpoint.js';

export interface PickRequest {
  /** The requested model (from the buffered JSON body); undefined = any endpoint. */
  readonly model: string | undefined;
  /** Regions the request may go to (header or route rule); undefined = all. */
  readonly regions: ReadonlySet<string> | undefined;
  /** Endpoints already attempted for this request, in order. */
  readonly tried: readonly Endpoint[];
}

/** Why `pick` found no endpoint (see `Picker.explainMiss`). */
export type PickMiss =
  | { readonly reason: 'no_candidate' }
  /** Every endpoint that could serve the request is drained or in a drill, by an operator; in these regions. */
  | { readonly reason: 'drained'; readonly regions: readonly string[] };

export interface Picker {
  /** The endpoint for the next attempt, or undefined when none can take it. */
  pick(req: PickRequest): Endpoint | undefined;
  /** Why `pick(req)` returned undefined, for the error the client gets. Not on the hot path. */
  explainMiss?(req: PickRequest): PickMiss;
  /** Whether at least one endpoint is routable now (drives `/readyz`). */
  routable(): boolean;
}
