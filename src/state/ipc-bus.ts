/**
 * A `MemoryBus` that spans the workers of one `--workers N` gateway: every event a worker publishes is
 * relayed through the cluster primary to the other workers, which deliver it to their own stores and
 * record it in their snapshot copy. The primary keeps a copy too, so a restarted worker starts from it
 * (intents included: a drain made through one worker holds for the workers started after it).
 */
import { MemoryBus } from './memory-store.js';
import { messageOf } from './snapshot.js';

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

export function isIpcBusMessage(m: unknown): m is IpcBusMessage {
  return typeof m === 'object' && m !== null && (m as IpcBusMessage).rg === 'fleet-event' && typeof (m as IpcBusMessage).raw === 'string';
}

export function isIpcSnapshotMessage(m: unknown): m is IpcSnapshotMessage {
  return typeof m === 'object' && m !== null && (m as IpcSnapshotMessage).rg === 'fleet-snapshot' && Array.isArray((m as IpcSnapshotMessage).fields);
}

export class IpcBus extends MemoryBus {
  readonly #send: (msg: IpcBusMessage) => void;
  #pending: { field: string; value: string } | undefined;

  /** `send` forwards to the primary (in a worker: `process.send`). */
  constructor(send: (msg: IpcBusMessage) => void) {
    super();
    this.#send = send;
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

  /** An event another worker published, relayed by the primary. */
  receive(msg: IpcBusMessage | IpcSnapshotMessage): void {
    if (msg.rg === 'fleet-snapshot') {
      for (const [field, value] of msg.fields) if (typeof field === 'string' && typeof value === 'string') super.write(field, value);
      return;
    }
    if (typeof msg.field !== 'string') return;
    super.write(msg.field, msg.raw);
    super.publish(messageOf(msg.raw));
  }
}
