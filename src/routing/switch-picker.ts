/**
 * A `Picker` whose policy a config reload replaces: the data path holds this one object, and each pick
 * goes to the picker current at that moment. A request in flight keeps the endpoint it was given; its
 * retries are picked from the new endpoint set.
 */
import type { Endpoint } from '../registry/endpoint.js';
import type { Picker, PickMiss, PickRequest } from './picker.js';

export class SwitchPicker<P extends Picker = Picker> implements Picker {
  #current: P;

  constructor(initial: P) {
    this.#current = initial;
  }

  get current(): P {
    return this.#current;
  }

  /** Route every later pick through `next`. */
  swap(next: P): void {
    this.#current = next;
  }

  pick(req: PickRequest): Endpoint | undefined {
    return this.#current.pick(req);
  }

  explainMiss(req: PickRequest): PickMiss {
    return this.#current.explainMiss?.(req) ?? { reason: 'no_candidate' };
  }

  routable(): boolean {
    return this.#current.routable();
  }
}
