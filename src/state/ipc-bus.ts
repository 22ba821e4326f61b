/**
 * A `MemoryBus` that spans the workers of one `--workers N` gateway: every event a worker publishes is
 * relayed through the cluster primary to the other workers, which deliver it to their own stores and
 * record it in their snapshot copy. The primary keeps a copy too, so a restarted worker starts from it
 * (intents included: a drain made through one worker holds for the workers started after it).
 * Record books (fleet summaries, drill records, shared load signals) and claims (scheduled drills) live
 * in the primary alone (`LocalRecords`), reached by a call and its reply: the workers see each other in
 * the fleet view, one of them scrapes each endpoint, and one runs each scheduled drill, as gateways on
 * Redis do.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { LocalRecords, MemoryBus } from './memory-store.js';
import { MAX_SNAPSHOT_ENTRIES, messageOf, type SnapshotEntry } from './snapshot.js';
import type { RecordBook, RecordWrite } from './state-store.js';

/**
 * The IPC message between workers and the primary: `raw` is the snapshot value as stored
 * (`"<deadline> <message>"`, see `snapshot.ts`), so the primary's copy can seed a new worker as is.
 */
export interface IpcBusMessage {
  readonly rg: 'fleet-event';
  readonly raw: string;
  readonly field: string;
}

/** Snapshot copy sent by the primary to a new worker. */
export interface IpcSnapshotMessage {
  readonly rg: 'fleet-snapshot';
  readonly fields: readonly (readonly [string, string])[];
}

/** A worker's call on the primary's record books or claims. */
export type IpcStoreCall =
  | { readonly rg: 'store-call'; readonly id: number; readonly op: 'records'; readonly book: RecordBook; readonly own?: RecordWrite; readonly gatewayId: string }
  | { readonly rg: 'store-call'; readonly id: number; readonly op: 'claim'; readonly key: string; readonly ttl: number };

/** The primary's answer to the call `id`. */
export interface IpcStoreReply {
  readonly rg: 'store-reply';
  readonly id: number;
  readonly entries?: readonly SnapshotEntry[];
  readonly won?: boolean;
}

/** A call the primary has not answered in this long is given up (the store is then "unreachable"). */
export const STORE_CALL_TIMEOUT_MS = 2000;
/** Calls awaiting an answer at once; beyond, a call is given up at once. */
const MAX_PENDING_CALLS = 256;

const BOOKS: ReadonlySet<string> = new Set<RecordBook>(['fleet', 'drills', 'load']);
const isObject = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null;

export function isIpcBusMessage(m: unknown): m is IpcBusMessage {
  return typeof m === 'object' && m !== null && (m as IpcBusMessage).rg === 'fleet-event' && typeof (m as IpcBusMessage).raw === 'string';
}

export function isIpcSnapshotMessage(m: unknown): m is IpcSnapshotMessage {
  return typeof m === 'object' && m !== null && (m as IpcSnapshotMessage).rg === 'fleet-snapshot' && Array.isArray((m as IpcSnapshotMessage).fields);
}

export function isIpcStoreCall(m: unknown): m is IpcStoreCall {
  if (!isObject(m) || m.rg !== 'store-call' || !Number.isSafeInteger(m.id)) return false;
  if (m.op === 'claim') return typeof m.key === 'string' && typeof m.ttl === 'number' && m.ttl > 0;
  if (m.op !== 'records' || typeof m.book !== 'string' || !BOOKS.has(m.book) || typeof m.gatewayId !== 'string') return false;
  const own = m.own as Record<string, unknown> | undefined;
  return own === undefined || (isObject(own) && typeof own.field === 'string' && typeof own.raw === 'string' && typeof own.ttl === 'number' && own.ttl > 0);
}

export function isIpcStoreReply(m: unknown): m is IpcStoreReply {
  return isObject(m) && m.rg === 'store-reply' && Number.isSafeInteger(m.id);
}

/** The primary's side: answer a worker's call from the records it holds for every worker, at `now`. */
export function answerStoreCall(records: LocalRecords, call: IpcStoreCall, now: number): IpcStoreReply {
  if (call.op === 'claim') return { rg: 'store-reply', id: call.id, won: records.claim(call.key, call.ttl, now) };
  return { rg: 'store-reply', id: call.id, entries: records.exchange(call.book, call.own, now, call.gatewayId).slice(0, MAX_SNAPSHOT_ENTRIES) };
}

export class IpcBus extends MemoryBus {
  readonly #send: (msg: IpcBusMessage | IpcStoreCall) => void;
  readonly #clock: Clock;
  #pending: { field: string; value: string } | undefined;
  readonly #calls = new Map<number, (reply: IpcStoreReply | undefined) => void>();
  #nextId = 0;

  /** `send` forwards to the primary (in a worker: `process.send`). */
  constructor(send: (msg: IpcBusMessage | IpcStoreCall) => void, clock: Clock = systemClock) {
    super();
    this.#send = send;
    this.#clock = clock;
  }

  override write(field: string, value: string): void {
    super.write(field, value);
    this.#pending = { field, value };
  }

  override publish(raw: string): void {
    super.publish(raw);
    // `MemoryStore.publish` writes the snapshot field, then publishes: relay both as one message.
    if (this.#pending !== undefined) this.#send({ rg: 'fleet-event', raw: this.#pending.value, field: this.#pending.field });
    this.#pending = undefined;
  }

  /** Record books are the primary's: shared by every worker. The primary's clock prunes them. */
  override async exchangeRecords(book: RecordBook, own: RecordWrite | undefined, _now: number, gatewayId: string): Promise<SnapshotEntry[] | undefined> {
    const reply = await this.#call((id) => ({ rg: 'store-call', id, op: 'records', book, ...(own !== undefined && { own }), gatewayId }));
    return reply?.entries === undefined ? undefined : [...reply.entries];
  }

  /** Claims are the primary's: exactly one worker wins a key. */
  override async claim(key: string, ttl: number): Promise<boolean | undefined> {
    return (await this.#call((id) => ({ rg: 'store-call', id, op: 'claim', key, ttl })))?.won;
  }

  /** An event another worker published, relayed by the primary; or the primary's answer to a call. */
  receive(msg: IpcBusMessage | IpcSnapshotMessage | IpcStoreReply): void {
    if (msg.rg === 'store-reply') return void this.#calls.get(msg.id)?.(msg);
    if (msg.rg === 'fleet-snapshot') {
      for (const [field, value] of msg.fields) if (typeof field === 'string' && typeof value === 'string') super.write(field, value);
      return;
    }
    if (typeof msg.field !== 'string') return;
    super.write(msg.field, msg.raw);
    super.publish(messageOf(msg.raw));
  }

  /** Send a call; its answer, or undefined when the primary is gone, slow or too many calls wait. */
  #call(make: (id: number) => IpcStoreCall): Promise<IpcStoreReply | undefined> {
    if (this.#calls.size >= MAX_PENDING_CALLS) return Promise.resolve(undefined);
    const id = ++this.#nextId;
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => done(undefined), STORE_CALL_TIMEOUT_MS);
      timer.unref();
      const done = (reply: IpcStoreReply | undefined): void => {
        this.#clock.clearTimeout(timer);
        this.#calls.delete(id);
        resolve(reply);
      };
      this.#calls.set(id, done);
      try {
        this.#send(make(id));
      } catch {
        done(undefined); // the channel to the primary is closed
      }
    });
  }
}
