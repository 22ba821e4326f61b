/**
 * The picker's `HealthView` with load signals: health, weights and drains are the tracker's; the score
 * is its latency estimate scaled by the endpoint's predicted load (`LoadBook.score`), and `saturated`
 * takes an endpoint whose server is full (as reported, or predicted from this gateway's attempts since
 * the report) out of first picks. Endpoints without fresh signals keep the tracker's latency-only score.
 */
import type { Endpoint } from '../registry/endpoint.js';
import type { HealthView } from '../routing/health-view.js';
import type { LoadBook } from './load-book.js';

export class LoadAwareView implements HealthView {
  readonly #base: HealthView;
  readonly #book: LoadBook;

  constructor(base: HealthView, book: LoadBook) {
    this.#base = base;
    this.#book = book;
  }

  isRoutable(endpoint: Endpoint): boolean {
    return this.#base.isRoutable(endpoint);
  }

  weightFactor(endpoint: Endpoint): number {
    return this.#base.weightFactor(endpoint);
  }

  score(endpoint: Endpoint, model?: string): number {
    const latency = this.#base.score(endpoint, model);
    return endpoint.loadSignals === undefined ? latency : this.#book.score(endpoint, model, latency);
  }

  saturated(endpoint: Endpoint, model: string | undefined): boolean {
    return endpoint.loadSignals !== undefined && this.#book.saturated(endpoint, model);
  }

  drained(endpoint: Endpoint): boolean {
    return this.#base.drained(endpoint);
  }
}
