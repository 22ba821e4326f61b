/**
 * What starts a reload in a `regiongate start` process: SIGHUP, the opt-in file watcher, and (in a
 * `--workers` worker) the primary's IPC request. In a worker, SIGHUP is the primary's to handle: the
 * worker ignores it (a terminal's hang-up reaches the whole process group), so it is not reloaded twice
 * and not killed by the signal's default action.
 */
import type { GatewayConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { RunningGateway } from '../create-gateway.js';
import { ConfigWatcher } from './config-watcher.js';
import { isReloadRequest, type ReloadReplyMessage } from './reload-messages.js';

export interface ReloadTriggerOptions {
  readonly gateway: Pick<RunningGateway, 'reload' | 'onReload' | 'gatewayId' | 'config'>;
  readonly file: string;
  /** `--watch-config`: watch whatever `watch` says in the file. */
  readonly watchFlag: boolean;
  /**
   * Set in a `--workers` worker: reloads come from the primary with the file's text, which `parse`
   * turns into this worker's config (throws `ConfigError`); `send` answers the primary.
   */
  readonly worker?: { readonly send: (msg: ReloadReplyMessage) => void; readonly parse: (text: string) => GatewayConfig };
}

/** Install the triggers; returns the function that removes them (shutdown). */
export function installReloadTriggers(opts: ReloadTriggerOptions): () => void {
  const gw = opts.gateway;
  // Problems are logged by the reloader (one line with the list); a trigger has nothing to add.
  const reload = (): void => void gw.reload().catch(() => undefined);
  const offs: (() => void)[] = [];
  if (opts.worker !== undefined) {
    const worker = opts.worker;
    const ignore = (): void => undefined;
    process.on('SIGHUP', ignore);
    const onMessage = (msg: unknown): void => {
      if (!isReloadRequest(msg)) return;
      let config: GatewayConfig;
      try {
        config = worker.parse(msg.text);
      } catch (err) {
        return worker.send({ rg: 'reload-result', id: msg.id, gatewayId: gw.gatewayId, problems: err instanceof ConfigError ? err.issues : [String(err)] });
      }
      gw.reload(config).then(
        (result) => worker.send({ rg: 'reload-result', id: msg.id, gatewayId: gw.gatewayId, result }),
        (err: unknown) =>
          worker.send({ rg: 'reload-result', id: msg.id, gatewayId: gw.gatewayId, problems: err instanceof ConfigError ? err.issues : [String(err)] }),
      );
    };
    process.on('message', onMessage);
    offs.push(() => process.off('SIGHUP', ignore), () => process.off('message', onMessage));
  } else {
    process.on('SIGHUP', reload);
    offs.push(() => process.off('SIGHUP', reload));
    const watcher = new ConfigWatcher({ file: opts.file, onChange: reload });
    const follow = (watchOn: boolean): void => (watchOn || opts.watchFlag ? watcher.start() : watcher.close());
    follow(gw.config.watch);
    offs.push(gw.onReload((cfg) => follow(cfg.watch)), () => watcher.close());
  }
  return () => {
    for (const off of offs.splice(0)) off();
  };
}
