/**
 * Diagnostics channels (like undici's `diagnostics.js`): zero-cost hooks for benches, tracing and
 * debugging. Publishing is guarded by `hasSubscribers`, so with nobody listening the data path pays one
 * property read.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Endpoint } from '../registry/endpoint.js';

export const CHANNEL = {
  /** An upstream attempt starts: `{ endpoint, attempt, requestId, hedge }`. */
  attemptStart: 'regiongate:attempt:start',
} as const;

export interface AttemptStartMessage {
  readonly endpoint: Endpoint;
  /** 1 for a request's first attempt. */
  readonly attempt: number;
  readonly requestId: string;
  readonly hedge: boolean;
}

export const attemptStartChannel = diagnostics.channel(CHANNEL.attemptStart);
