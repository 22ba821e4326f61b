/**
 * The registry in force: a `Registry` is immutable, and a config reload swaps in the next one. Readers
 * that outlive a reload (fleet sync, admin actions, the admin state view) hold this object.
 */
import type { Endpoint } from './endpoint.js';
import type { Region, Registry } from './registry.js';

export class LiveRegistry {
  #current: Registry;

  constructor(initial: Registry) {
    this.#current = initial;
  }

  get current(): Registry {
    return this.#current;
  }

  swap(next: Registry): void {
    this.#current = next;
  }

  get regions(): readonly Region[] {
    return this.#current.regions;
  }

  get endpoints(): readonly Endpoint[] {
    return this.#current.endpoints;
  }

  endpoint(id: string): Endpoint | undefined {
    return this.#current.endpoint(id);
  }

  region(name: string): Region | undefined {
    return this.#current.region(name);
  }
}
