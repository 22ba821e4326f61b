/**
 * The access log: one JSON line per proxied request (`log.access`, on by default), written where the
 * exchange ends. Fields are flat, so log pipelines index them without parsing nested objects; the query
 * string is left out (it may carry secrets). One object and one string per request, nothing more.
 */
import { LOG_EVENT } from './names.js';
import { servedStatus, type ServedRequest } from './served-request.js';

export class AccessLog {
  readonly #write: (line: string) => void;
  readonly #base: Readonly<Record<string, unknown>>;

  /** `base`: fields on every line (the gateway id and worker). */
  constructor(write: (line: string) => void, base: Readonly<Record<string, unknown>> = {}) {
    this.#write = write;
    this.#base = base;
  }

  /** Write the line of a finished request; `now` is `performance.now()` at its end. */
  served(r: ServedRequest, errorCode: string | undefined, now: number): void {
    const url = r.req.url ?? '/';
    const q = url.indexOf('?');
    const e = r.endpoint;
    const line = {
      time: new Date().toISOString(),
      level: 'info',
      event: LOG_EVENT.access,
      ...this.#base,
      requestId: r.requestId,
      method: r.req.method ?? 'GET',
      path: q === -1 ? url : url.slice(0, q),
      model: r.model ?? null,
      status: servedStatus(r),
      error: errorCode ?? null,
      clientGone: r.clientGone,
      region: e?.region ?? null,
      endpoint: e?.id ?? null,
      attempts: r.tried.length,
      retryReasons: r.retryReasons ?? NONE,
      faults: r.faults ?? NONE,
      durationMs: round(now - r.startedAt),
      firstByteMs: r.firstByteAt < 0 ? null : round(r.firstByteAt - r.startedAt),
      bytesIn: r.bytesIn,
      bytesOut: r.bytesOut,
    };
    this.#write(`${JSON.stringify(line)}\n`);
  }
}

/** Shared by every line with no retry and no fault: nothing allocated for the common case. */
const NONE: readonly string[] = Object.freeze([]);

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
