/**
 * Signed records of the fleet's record books (`StateStore.exchangeRecords`): a gateway's traffic summary,
 * a drill's report, and the load signals a gateway scraped for the fleet (`src/load/fleet-scrape.ts`).
 * On the wire: JSON `{"kind", "body", "sig"}`, `sig` the fleet HMAC (`fleet-signer.ts`) over
 * `["<kind>-v1", body]` as sent, so a record of one kind can never pass for another or a fleet event.
 * A record larger than `maxBytes`, unreadable, unsigned or of the wrong shape is refused; `decodeRecord`
 * never throws and returns only what the zod schema allows.
 */
import type { z } from 'zod';
import type { FleetSigner } from '../state/fleet-signer.js';

export type RecordKind = 'fleet-summary' | 'drill' | 'load-share';

export function encodeRecord(signer: FleetSigner, kind: RecordKind, body: unknown): string {
  const text = JSON.stringify(body);
  const sig = signer.sign(JSON.stringify([`${kind}-v1`, text]));
  return JSON.stringify(sig === undefined ? { kind, body: text } : { kind, body: text, sig });
}

/** The body of a record of `kind`, or undefined when it is not one that this fleet wrote. */
export function decodeRecord<T>(signer: FleetSigner, kind: RecordKind, raw: string, maxBytes: number, schema: z.ZodType<T>): T | undefined {
  if (raw.length > maxBytes) return undefined;
  try {
    const o = JSON.parse(raw) as { kind?: unknown; body?: unknown; sig?: unknown };
    if (typeof o !== 'object' || o === null || o.kind !== kind || typeof o.body !== 'string') return undefined;
    if (!signer.verify(JSON.stringify([`${kind}-v1`, o.body]), o.sig)) return undefined;
    const parsed = schema.safeParse(JSON.parse(o.body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
