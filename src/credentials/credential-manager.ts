/**
 * One `CredentialKeeper` per endpoint that has `credentials` in config. An endpoint whose token expired
 * is ejected with cause `credentials_expired` (this gateway's own matter: not shared with the fleet,
 * whose members run their own sources) and comes back through probation, cause `credentials_renewed`,
 * with the next good token. Log lines name the endpoint and the cause, never the token.
 */
import type { CredentialsConfig, GatewayConfig } from '../config/schema.js';
import type { HealthTracker } from '../health/health-tracker.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { Logger } from '../telemetry/logger.js';
import { LOG_EVENT } from '../telemetry/names.js';
import type { Clock } from '../util/clock.js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { awsCredentialSource, AwsRequestSigner, heldAwsCredentials, type AwsCredentials } from './aws-signer.js';
import { CredentialKeeper } from './credential-keeper.js';
import { commandTokenSource, fileTokenSource } from './token-sources.js';

/** An expired credential holds its endpoint out until a refresh succeeds: "forever" for the health layer. */
const UNTIL_RENEWED_MS = 10 * 365 * 24 * 3600_000;
const AWS_REFRESH_BEFORE_MS = 5 * 60_000;
const AWS_RETRY_MS = 10_000;

export interface CredentialManagerInit {
  readonly config: Pick<GatewayConfig, 'regions'>;
  readonly endpoints: readonly Endpoint[];
  readonly health: Pick<HealthTracker, 'eject' | 'uneject'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Replaces AWS's standard credential chain (tests). */
  readonly awsCredentials?: () => Promise<AwsCredentials>;
}

export class CredentialManager {
  readonly #keepers = new Map<string, CredentialKeeper>();

  readonly #init: CredentialManagerInit;
  #started = false;

  constructor(init: CredentialManagerInit) {
    this.#init = init;
    this.#keep(init.config, init.endpoints);
  }

  /** Keepers for `endpoints` (built from `config`), those that have `credentials`; returns them. */
  #keep(config: Pick<GatewayConfig, 'regions'>, endpoints: readonly Endpoint[]): CredentialKeeper[] {
    const init = this.#init;
    const byId = new Map(endpoints.map((e) => [e.id, e]));
    const { clock, logger, health } = init;
    const made: CredentialKeeper[] = [];
    config.regions.forEach((r) =>
      r.endpoints.forEach((cfg, i) => {
        const endpoint = byId.get(cfg.id ?? `${r.name}-${i}`);
        if (cfg.credentials === undefined || endpoint?.credential === undefined) return;
        const c: CredentialsConfig = cfg.credentials;
        const slot = endpoint.credential;
        const fields = { endpoint: endpoint.id, region: endpoint.region, source: 'file' in c ? 'file' : 'command' in c ? 'command' : 'aws' };
        if ('aws' in c) {
          const held = heldAwsCredentials(() => slot.value);
          slot.signer = new AwsRequestSigner({ region: c.aws.region, service: c.aws.service, clock, credentials: held });
        }
        const keeper = new CredentialKeeper({
          slot,
          clock,
          ...('file' in c
            ? { source: fileTokenSource(c.file.path), scheme: c.file.scheme, schedule: { pollMs: c.file.pollInterval }, retryMs: c.file.pollInterval }
            : 'command' in c
              ? {
                  source: commandTokenSource(c.command.argv, c.command.timeout, c.command.lifetime, () => clock.now()),
                  scheme: c.command.scheme,
                  schedule: { refreshBeforeMs: c.command.refreshBefore },
                  retryMs: c.command.retryInterval,
                }
              : {
                  // Temporary credentials are renewed 5 minutes before they expire; keys without an expiry are re-read
                  // from the chain (which memoizes them) every retry interval.
                  source: awsCredentialSource(init.awsCredentials ?? defaultProvider()),
                  scheme: '',
                  schedule: { refreshBeforeMs: AWS_REFRESH_BEFORE_MS },
                  retryMs: AWS_RETRY_MS,
                }),
          onRefreshFailed: (reason, expiresAt) =>
            logger.warn(LOG_EVENT.credentialRefreshFailed, { ...fields, reason, keptUntil: expiresAt === undefined ? undefined : new Date(expiresAt).toISOString() }),
          onExpired: (reason) => {
            logger.error(LOG_EVENT.credentialExpired, { ...fields, reason, message: 'no valid credential: the endpoint takes no requests until a refresh succeeds' });
            health.eject(endpoint, 'credentials_expired', clock.now() + UNTIL_RENEWED_MS);
          },
          onRenewed: () => {
            logger.info(LOG_EVENT.credentialRenewed, fields);
            health.uneject(endpoint, 'credentials_renewed');
          },
        });
        this.#keepers.set(endpoint.id, keeper);
        made.push(keeper);
      }),
    );
    return made;
  }

  /**
   * Keep the credentials of endpoints added by a config reload (`config` is the new one); once started,
   * resolves when their first tokens were read (each bounded by its command's timeout).
   */
  async add(config: Pick<GatewayConfig, 'regions'>, endpoints: readonly Endpoint[]): Promise<void> {
    const made = this.#keep(config, endpoints);
    if (this.#started) await Promise.all(made.map((k) => k.start()));
  }

  /** Stop refreshing the credentials of endpoints removed by a config reload. */
  remove(endpoints: readonly Endpoint[]): void {
    for (const e of endpoints) {
      this.#keepers.get(e.id)?.close();
      this.#keepers.delete(e.id);
    }
  }

  /** The keeper of an endpoint's credential (tests and the admin view). */
  keeper(endpointId: string): CredentialKeeper | undefined {
    return this.#keepers.get(endpointId);
  }

  /** Read every first token (each bounded by its command's timeout); a failure leaves that endpoint out. */
  async start(): Promise<void> {
    this.#started = true;
    await Promise.all([...this.#keepers.values()].map((k) => k.start()));
  }

  close(): void {
    for (const k of this.#keepers.values()) k.close();
  }
}
