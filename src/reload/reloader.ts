/**
 * Applies a re-read config to a running gateway (SIGHUP, `POST /admin/reload`, the file watcher). The
 * new config is checked whole before anything changes: a schema problem or a TLS file that cannot be
 * read refuses the reload (`ConfigError`, every problem listed) and the gateway keeps serving as it was.
 *
 * Then endpoints are compared by id (`config-diff.ts`). Unchanged ones keep their `Endpoint` object and so
 * their health, latency, breaker and the operator intents that hold them, and get their TLS files re-read
 * (new connections use them, connections in use keep theirs). Removed ones leave the picker at once and
 * their pools close after their requests in flight end, bounded by `timeouts.drain`. Added ones (and
 * changed ones, which are replaced) start in probation with probes, load scraping, model discovery and
 * credentials. Live settings apply (`live-settings.ts`); the others are named in `notLive`.
 * Reloads run one at a time.
 */
import type { GatewayConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { loadEndpointTls, type EndpointTls } from '../registry/endpoint-tls.js';
import { createEndpoint, swapEndpointTls, type Endpoint } from '../registry/endpoint.js';
import { Registry, type Region } from '../registry/registry.js';
import type { Logger } from '../telemetry/logger.js';
import { LOG_EVENT } from '../telemetry/names.js';
import { changedSettings, diffEndpoints, type EndpointEntry } from './config-diff.js';
import { notLiveSettings } from './live-settings.js';

/** The answer to a reload (`POST /admin/reload` body). */
export interface ReloadResult {
  readonly reloaded: true;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly unchanged: number;
  /** Changed settings that need a restart. */
  readonly notLive: readonly string[];
}

/** What a reload changes, in this order; each step is synchronous up to `addCredentials`. */
export interface ReloadTarget {
  /** The config in force. */
  readonly config: () => GatewayConfig;
  readonly registry: () => Registry;
  /** Stop tracking `removed`, then track `added` (in probation). */
  readonly swapHealth: (removed: readonly Endpoint[], added: readonly Endpoint[]) => void;
  /** Install the new registry and config: picker, catalog, exchange options, log level. */
  readonly install: (registry: Registry, config: GatewayConfig) => void;
  /** Side work on endpoints (load scraping, discovery, metrics, fleet intents), removed then added. */
  readonly swapSideWork: (removed: readonly Endpoint[], added: readonly Endpoint[]) => void;
  /** Credentials of added endpoints (resolves when their first tokens were read). */
  readonly swapCredentials: (config: GatewayConfig, removed: readonly Endpoint[], added: readonly Endpoint[]) => Promise<void>;
  /** Let removed endpoints finish what is in flight, then close their pools (not awaited by the reload). */
  readonly retire: (removed: readonly Endpoint[]) => Promise<void>;
  readonly logger: Logger;
}

/** Called after each applied reload (e.g. to swap the client-facing TLS context of `listen.tls`). */
export type ReloadHook = (config: GatewayConfig, result: ReloadResult) => void | Promise<void>;

export class Reloader {
  readonly #t: ReloadTarget;
  readonly #hooks: ReloadHook[] = [];
  #queue: Promise<unknown> = Promise.resolve();

  constructor(target: ReloadTarget) {
    this.#t = target;
  }

  /** Run `hook` after every applied reload; returns the unsubscribe function. */
  onReload(hook: ReloadHook): () => void {
    this.#hooks.push(hook);
    return () => {
      const i = this.#hooks.indexOf(hook);
      if (i >= 0) this.#hooks.splice(i, 1);
    };
  }

  /**
   * Apply `read()`'s config (the loader, env substitution included; it throws `ConfigError` when the file
   * is invalid). Rejects with `ConfigError` listing every problem, having changed nothing.
   */
  reload(read: () => GatewayConfig): Promise<ReloadResult> {
    const run = this.#queue.then(() => this.#reload(read));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #reload(read: () => GatewayConfig): Promise<ReloadResult> {
    const t = this.#t;
    let next: GatewayConfig;
    let plan: Plan;
    try {
      next = read();
      plan = buildPlan(t.registry(), t.config(), next);
    } catch (err) {
      if (err instanceof ConfigError) t.logger.error(LOG_EVENT.configReloadRefused, { problems: err.issues, message: 'config not reloaded: still serving with the previous one' });
      throw err;
    }
    const { diff } = plan;
    // Synchronous from here to the credentials: no request is picked in between.
    for (const [endpoint, tls] of plan.tls) swapEndpointTls(endpoint, tls);
    t.swapHealth(plan.retired, plan.fresh);
    t.install(plan.registry, next);
    t.swapSideWork(plan.retired, plan.fresh);
    t.retire(plan.retired).catch((err: unknown) => t.logger.warn(LOG_EVENT.configReloaded, { message: 'closing a removed endpoint\'s pool failed', error: err }));
    const notLive = notLiveSettings(changedSettings(plan.before, next));
    const result: ReloadResult = {
      reloaded: true,
      added: diff.added,
      removed: diff.removed,
      changed: diff.changed,
      unchanged: diff.unchanged.length,
      notLive,
    };
    t.logger.info(LOG_EVENT.configReloaded, { ...result });
    if (notLive.length > 0) t.logger.warn(LOG_EVENT.configNotLive, { settings: notLive, message: 'these settings changed but apply only after a restart' });
    await t.swapCredentials(next, plan.retired, plan.fresh);
    for (const hook of [...this.#hooks]) {
      try {
        await hook(next, result);
      } catch (err) {
        t.logger.error(LOG_EVENT.configReloadRefused, { message: 'a reload hook failed', error: err });
      }
    }
    return result;
  }
}

interface Plan {
  readonly before: GatewayConfig;
  readonly diff: ReturnType<typeof diffEndpoints>;
  readonly registry: Registry;
  /** Endpoints leaving (removed, and the old objects of changed ones). */
  readonly retired: readonly Endpoint[];
  /** Endpoints arriving (added, and the new objects of changed ones). */
  readonly fresh: readonly Endpoint[];
  /** Re-read TLS material of kept endpoints. */
  readonly tls: ReadonlyMap<Endpoint, EndpointTls | undefined>;
}

/** Everything the reload will install, built and checked before anything changes; throws `ConfigError`. */
function buildPlan(current: Registry, before: GatewayConfig, next: GatewayConfig): Plan {
  const diff = diffEndpoints(before, next);
  const issues: string[] = [];
  const kept = new Set(diff.unchanged);
  const tls = new Map<Endpoint, EndpointTls | undefined>();
  const fresh: Endpoint[] = [];
  const built = new Map<EndpointEntry, Endpoint>();
  for (const entry of diff.next) {
    try {
      const old = kept.has(entry.id) ? current.endpoint(entry.id) : undefined;
      if (old !== undefined) {
        const cfg = entry.config.tls;
        const reread = cfg === undefined ? undefined : loadEndpointTls(cfg, `${entry.key}.tls`);
        // Same files, same bytes: keep the material, and with it the secure context built from it
        // (building one parses every root certificate: tens of ms of CPU per endpoint).
        if (!sameTls(old.tls, reread)) tls.set(old, reread);
        built.set(entry, old);
      } else {
        const e = createEndpoint(entry.region, entry.config, entry.index, entry.key);
        fresh.push(e);
        built.set(entry, e);
      }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues.push(...err.issues);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const regions: Region[] = next.regions.map((r) => ({
    name: r.name,
    provider: r.provider,
    priority: r.priority,
    endpoints: diff.next.filter((e) => e.region === r).map((e) => built.get(e) as Endpoint),
  }));
  const leaving = new Set([...diff.removed, ...diff.changed]);
  const retired = current.endpoints.filter((e) => leaving.has(e.id));
  return { before, diff, registry: new Registry(regions), retired, fresh, tls };
}

function sameTls(a: EndpointTls | undefined, b: EndpointTls | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const ca = (t: EndpointTls): string => (t.ca ?? []).join('');
  return ca(a) === ca(b) && a.cert === b.cert && a.key === b.key && a.servername === b.servername && a.rejectUnauthorized === b.rejectUnauthorized;
}
