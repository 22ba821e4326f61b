/**
 * What an admin action may carry besides its path: `?seconds=N` (a drill's length, default 30 s; a
 * drain's, default until undrained), and `force` and `reason`, as query parameters or fields of a small
 * JSON body (`{"force": true, "reason": "maintenance"}`). Bad input is a 400 naming the cause.
 */
import type { IncomingMessage } from 'node:http';
import { parseFaultSpec, type FaultSpec } from '../fault/fault-spec.js';

/** Longest body an action reads. */
const MAX_BODY_BYTES = 4096;
const MAX_REASON = 200;

export interface ActionOptions {
  /** Given `?seconds=` (1..86400), else undefined. */
  readonly seconds: number | undefined;
  /** Go ahead even when the action leaves a model with no routable endpoint. */
  readonly force: boolean;
  /** Shown with the intent in `/admin/state` (default `operator`). */
  readonly reason: string;
  /** The `fault` action's fault: `?fault=error|hang|slow&percent=P[&delay=500ms]`. */
  readonly fault?: FaultSpec;
}

export type ParsedOptions = { readonly options: ActionOptions } | { readonly status: 400 | 413; readonly message: string };

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.resume();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
  });
}

const flag = (v: unknown): boolean | undefined => (v === true || v === 'true' || v === '1' ? true : v === false || v === 'false' || v === '0' ? false : undefined);

/** The options of an action request (query first, then body fields); the `fault` action needs its fault. */
export async function readActionOptions(req: IncomingMessage, query: string, action?: string): Promise<ParsedOptions> {
  const q = new URLSearchParams(query);
  const body = await readBody(req);
  if (body === undefined) return { status: 413, message: `the body must be at most ${MAX_BODY_BYTES} bytes` };
  let fields: Record<string, unknown> = {};
  if (body.length > 0 && body.toString('utf8').trim() !== '') {
    try {
      const v: unknown = JSON.parse(body.toString('utf8'));
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return { status: 400, message: 'the body must be a JSON object' };
      fields = v as Record<string, unknown>;
    } catch {
      return { status: 400, message: 'the body is not valid JSON' };
    }
  }
  const rawSeconds = q.get('seconds') ?? fields.seconds;
  const seconds = rawSeconds === undefined || rawSeconds === null ? undefined : Number(rawSeconds);
  if (seconds !== undefined && !(seconds > 0 && seconds <= 86_400)) return { status: 400, message: 'seconds must be within 1..86400' };
  const force = flag(q.get('force') ?? fields.force ?? false);
  if (force === undefined) return { status: 400, message: 'force must be true or false' };
  const reason = q.get('reason') ?? fields.reason ?? 'operator';
  if (typeof reason !== 'string' || reason.length === 0 || reason.length > MAX_REASON)
    return { status: 400, message: `reason must be a string of 1..${MAX_REASON} characters` };
  if (action !== 'fault') return { options: { seconds, force, reason } };
  const fault = parseFaultSpec(q.get('fault') ?? fields.fault, q.get('percent') ?? fields.percent, q.get('delay') ?? fields.delay);
  if (typeof fault === 'string') return { status: 400, message: fault };
  return { options: { seconds, force, reason, fault } };
}
