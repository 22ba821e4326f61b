/**
 * What a model server holds *now*, predicted from its last report and what this gateway did since.
 *
 * A report is up to one scrape interval old, and a burst arrives within it: scoring on the report alone
 * sends the whole burst to the endpoint that looked idle at the last read (herding on stale data). So:
 *
 *     sequences = max(waiting + running + (inflight − inflightAtRead), inflight)
 *
 * `inflight` is this gateway's attempts to the endpoint that have not ended (an attempt ends with its
 * last response byte, when the server frees the sequence's slot); the difference counts the attempts
 * started since the read minus those finished since. The floor: this gateway's own unfinished attempts
 * are on the server even when the report predates them (they were still on the wire).
 *
 * The server runs up to `slots` of those sequences and queues the rest:
 *
 * - it reported a queue: it is full, `slots = running`;
 * - else, from KV use: `slots = max(running, ⌊1 / kvShare⌋)`, where `kvShare` is the KV share of one
 *   running sequence (`kv / running`), learned from the last report that had running sequences;
 * - else (no KV figure, nothing ever ran): unknown, every sequence counts as running.
 *
 * Then `running = min(sequences, slots)`, `waiting = sequences − running`, and `kv = kvShare × running`
 * (the reported `kv` when the share is unknown). A server with room takes new requests without a
 * predicted queue; a full one predicts a queue, and its KV reaches the saturation line at its capacity.
 * Other gateways' traffic since the read is not seen until the next report.
 */
import type { LoadSignals } from './engine-metrics.js';

/** The predicted state; the same shape as a report. */
export type LoadPrediction = LoadSignals;

/** KV share of one running sequence in `s`, or undefined when it cannot be told. */
export function kvShareOf(s: LoadSignals): number | undefined {
  return s.kv !== undefined && s.running > 0 && s.kv > 0 ? s.kv / s.running : undefined;
}

/**
 * Predict the server's state from its report `s`, this gateway's attempts in flight now and at the
 * read, and the learned `kvShare` (undefined: unknown). Fills `out` when given (the pick path
 * allocates nothing) and returns it.
 */
export function predictLoad(
  s: LoadSignals,
  inflight: number,
  inflightAtRead: number,
  kvShare: number | undefined,
  out: LoadPrediction = { waiting: 0, running: 0, kv: undefined },
): LoadPrediction {
  const sequences = Math.max(s.waiting + s.running + inflight - inflightAtRead, inflight, 0);
  const slots = s.waiting > 0 ? s.running : kvShare !== undefined ? Math.max(s.running, Math.floor(1 / kvShare + 1e-9)) : Infinity;
  const running = Math.min(sequences, slots);
  out.waiting = sequences - running;
  out.running = running;
  out.kv = kvShare === undefined ? s.kv : Math.min(1, kvShare * running);
  return out;
}
