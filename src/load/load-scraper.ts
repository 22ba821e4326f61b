/**
 * Reads each endpoint's load metrics off the request path: for every endpoint with `loadSignals`, one
 * scrape at a time (the next is scheduled `interval` after the last ended, on the injected clock), each
 * bounded by `timeout` (aborted) and the fetcher's size cap. A good page is parsed strictly and its
 * signals recorded in the `LoadBook`; a failed one is recorded as the endpoint's last error, and its old
 * values age into staleness (then the endpoint is scored on latency only). In a fleet, `shouldScrape`
 * (`FleetScrape`) skips the endpoints another gateway reads and shares; the loop keeps its rhythm, so a
 * skipped endpoint is read again within one interval of its turn coming back.
 */
import type { Endpoint } from '../registry/endpoint.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { extractSignals, type LoadSignals } from './engine-metrics.js';
import type { LoadBook } from './load-book.js';
import type { MetricsFetch } from './metrics-fetch.js';
import { parsePrometheusText } from './prometheus-text.js';

export interface LoadScraperInit {
  readonly endpoints: readonly Endpoint[];
  readonly clock: Clock;
  readonly fetch: MetricsFetch;
  readonly book: LoadBook;
  /** Longest wait for one page. */
  readonly timeout: number;
  /** Whether to read the endpoint at this turn (default: always). */
  readonly shouldScrape?: (endpoint: Endpoint) => boolean;
  /** A good read, after it is recorded in the book. */
  readonly onRead?: (endpoint: Endpoint, byModel: ReadonlyMap<string, LoadSignals>) => void;
}

export class LoadScraper {
  #targets: Endpoint[];
  readonly #clock: Clock;
  readonly #fetch: MetricsFetch;
  readonly #book: LoadBook;
  readonly #timeout: number;
  readonly #shouldScrape: (endpoint: Endpoint) => boolean;
  readonly #onRead: ((endpoint: Endpoint, byModel: ReadonlyMap<string, LoadSignals>) => void) | undefined;
  /** Keyed by the endpoint object: a reload's replacement (same id) has a loop of its own. */
  readonly #timers = new Map<Endpoint, TimerHandle>();
  readonly #inflight = new Set<AbortController>();
  #scrapes = 0;
  #skipped = 0;
  #started = false;
  #closed = false;

  constructor(init: LoadScraperInit) {
    this.#targets = init.endpoints.filter((e) => e.loadSignals !== undefined);
    this.#clock = init.clock;
    this.#fetch = init.fetch;
    this.#book = init.book;
    this.#timeout = init.timeout;
    this.#shouldScrape = init.shouldScrape ?? (() => true);
    this.#onRead = init.onRead;
  }

  /** Scrapes made so far (good or failed). */
  get scrapes(): number {
    return this.#scrapes;
  }

  /** Turns skipped because another gateway of the fleet reads the endpoint. */
  get skipped(): number {
    return this.#skipped;
  }

  /** Scrape every endpoint now, then each on its own interval. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    for (const e of this.#targets) void this.#loop(e);
  }

  /** Scrape endpoints added by a config reload (those with `loadSignals`), at once when running. */
  add(endpoints: readonly Endpoint[]): void {
    const added = endpoints.filter((e) => e.loadSignals !== undefined);
    this.#targets = [...this.#targets, ...added];
    if (this.#started && !this.#closed) for (const e of added) void this.#loop(e);
  }

  /** Stop scraping endpoints removed by a config reload (a scrape in flight ends unrecorded for it). */
  remove(endpoints: readonly Endpoint[]): void {
    const gone = new Set(endpoints);
    this.#targets = this.#targets.filter((e) => !gone.has(e));
    for (const e of endpoints) {
      this.#clock.clearTimeout(this.#timers.get(e));
      this.#timers.delete(e);
    }
  }

  /** Scrape one endpoint now (resolves when it answered, failed or timed out). */
  async scrape(endpoint: Endpoint): Promise<void> {
    const cfg = endpoint.loadSignals;
    if (cfg === undefined || this.#closed) return;
    const ac = new AbortController();
    this.#inflight.add(ac);
    const timer = this.#clock.setTimeout(() => ac.abort(new Error(`no metrics within ${this.#timeout} ms`)), this.#timeout);
    this.#scrapes++;
    try {
      const text = await this.#fetch(endpoint, cfg.path, ac.signal);
      const byModel = extractSignals(cfg.engine, parsePrometheusText(text));
      this.#book.update(endpoint, byModel);
      this.#onRead?.(endpoint, byModel);
    } catch (err) {
      const reason = ac.signal.aborted && ac.signal.reason instanceof Error ? ac.signal.reason.message : err instanceof Error ? err.message : String(err);
      if (!this.#closed) this.#book.fail(endpoint, reason);
    } finally {
      this.#clock.clearTimeout(timer);
      this.#inflight.delete(ac);
    }
  }

  async #loop(endpoint: Endpoint): Promise<void> {
    if (this.#shouldScrape(endpoint)) await this.scrape(endpoint);
    else this.#skipped++;
    if (this.#closed || !this.#targets.includes(endpoint)) return;
    const t = this.#clock.setTimeout(() => void this.#loop(endpoint), endpoint.loadSignals?.interval ?? 1000);
    t.unref();
    this.#timers.set(endpoint, t);
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) this.#clock.clearTimeout(t);
    this.#timers.clear();
    for (const ac of this.#inflight) ac.abort(new Error('closed'));
  }
}
