/**
 * `--workers N`: one gateway on all cores. The primary forks N workers that each run the full gateway
 * on the shared listening port (the kernel spreads connections), relays fleet events between them so
 * one worker's ejection applies to all, restarts a worker that dies (backing off, and giving up with
 * exit 1 on a crash loop: see `WorkerRestarts`), serves the admin port for all of them (see
 * `ClusterAdmin`), and on SIGTERM/SIGINT asks every worker to drain and waits for them.
 */
import cluster, { type Worker } from 'node:cluster';
import { ClusterAdmin, type WorkerAdmin } from './admin/cluster-admin.js';
import type { GatewayConfig } from './config/schema.js';
import { ListenError } from './errors.js';
import { ClusterReload, type ClusterReloadAnswer } from './reload/cluster-reload.js';
import { ConfigWatcher } from './reload/config-watcher.js';
import { installShutdown } from './lifecycle/shutdown.js';
import { WorkerRestarts, type WorkerRestartOptions } from './lifecycle/worker-restarts.js';
import { answerStoreCall, isIpcBusMessage, isIpcStoreCall, type IpcBusMessage, type IpcSnapshotMessage } from './state/ipc-bus.js';
import { LocalRecords } from './state/memory-store.js';
import { LOG_EVENT } from './telemetry/names.js';
import { createProcessLog, type ProcessLog } from './telemetry/process-log.js';

export interface ClusterOptions {
  readonly workers: number;
  /** Where the primary serves the admin port (undefined: `admin.enabled` is false). */
  readonly admin?: { readonly host: string; readonly port: number; readonly allowedHosts?: readonly string[]; readonly token?: string };
  /** After the first signal, the primary exits 1 after this long whatever its workers do. */
  readonly hardDeadlineMs: number;
  readonly restarts?: WorkerRestartOptions;
  /** The primary's JSON lines on stderr (default: a process log named `primary`). */
  readonly log?: ProcessLog;
  /** Config reloads (SIGHUP, `POST /admin/reload`, the watcher): checked here once, then every worker reloads. */
  readonly reload?: {
    readonly file: string;
    /** Re-read and check the file: its text (every worker applies it) and the config it makes. */
    readonly read: () => { readonly text: string; readonly config: GatewayConfig };
    /** `watch` in the config at start, or `--watch-config`. */
    readonly watch: boolean;
    readonly watchFlag: boolean;
  };
}

/** A worker tells the primary where its private admin listener is. */
export interface WorkerAdminMessage extends WorkerAdmin {
  readonly rg: 'worker-admin';
}

/** A worker tells the primary it is listening (its uptime counts from here). */
export interface WorkerReadyMessage {
  readonly rg: 'worker-ready';
  readonly gatewayId: string;
}

export function isWorkerAdminMessage(m: unknown): m is WorkerAdminMessage {
  const w = m as WorkerAdminMessage;
  return typeof m === 'object' && m !== null && w.rg === 'worker-admin' && typeof w.url === 'string' && typeof w.gatewayId === 'string';
}

function isWorkerReadyMessage(m: unknown): m is WorkerReadyMessage {
  const w = m as WorkerReadyMessage;
  return typeof m === 'object' && m !== null && w.rg === 'worker-ready' && typeof w.gatewayId === 'string';
}

/** What the primary holds per live worker; dropped when it exits. */
interface WorkerSlot {
  readonly slot: number;
  /** `performance.now()` when it reported ready. */
  readyAt?: number;
  gatewayId?: string;
}

/**
 * Run in the primary: fork and supervise the workers. Resolves with the exit code once all of them
 * have exited: 0 after a signal, 1 after giving up on a crash loop or a failed shutdown.
 */
export async function runPrimary(opts: ClusterOptions): Promise<number> {
  const plog = opts.log ?? createProcessLog('primary');
  // Shutdown steps and admin-proxy errors are sentences; each becomes one JSON line.
  const log = (line: string, level: 'info' | 'warn' | 'error' = 'info'): void => plog(level, LOG_EVENT.processSignal, line);
  // A closed stderr (a log pipe gone) must not end or spin the primary: drop the lines.
  process.stderr.on('error', () => undefined);
  // Let the kernel balance accepted connections instead of round-robin through the primary.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const snapshot = new Map<string, string>();
  // Record books and claims of every worker (memory store): the fleet view, drill records, shared load
  // signals and scheduled drills' claims, held here as Redis would hold them, pruned by this clock.
  const records = new LocalRecords();
  const admins = new Map<number, WorkerAdmin>();
  const live = new Map<number, WorkerSlot>();
  const restarts = new WorkerRestarts(opts.workers, opts.restarts);
  const pendingForks = new Set<NodeJS.Timeout>();
  let stopping = false;
  let everReady = false;
  let exitCode = 0;

  const fork = (slot: number): void => {
    const w = cluster.fork();
    const state: WorkerSlot = { slot };
    live.set(w.id, state);
    w.on('online', () => {
      const msg: IpcSnapshotMessage = { rg: 'fleet-snapshot', fields: [...snapshot] };
      w.send(msg);
    });
    w.on('message', (msg: unknown) => {
      if (isWorkerReadyMessage(msg)) {
        everReady = true;
        state.readyAt = performance.now();
        state.gatewayId = msg.gatewayId;
        return;
      }
      if (isWorkerAdminMessage(msg)) return void admins.set(w.id, { gatewayId: msg.gatewayId, url: msg.url });
      if (isIpcStoreCall(msg)) {
        if (w.isConnected()) w.send(answerStoreCall(records, msg, Date.now()));
        return;
      }
      if (!isIpcBusMessage(msg)) return;
      snapshot.set(msg.field, msg.raw);
      relay(w, msg);
    });
  };
  const relay = (from: Worker, msg: IpcBusMessage): void => {
    for (const w of Object.values(cluster.workers ?? {})) if (w && w !== from && w.isConnected()) w.send(msg);
  };
  /** Forget a dead worker: its admin listener, and the snapshot records it asserted (no one renews them). */
  const forget = (w: Worker): WorkerSlot | undefined => {
    const state = live.get(w.id);
    live.delete(w.id);
    admins.delete(w.id);
    if (state?.gatewayId !== undefined) {
      for (const field of snapshot.keys()) if (assertedBy(field) === state.gatewayId) snapshot.delete(field);
    }
    return state;
  };

  const reload = opts.reload && startClusterReload(opts.reload, plog);
  const admin =
    opts.admin &&
    new ClusterAdmin({
      workers: () => [...admins].sort(([a], [b]) => a - b).map(([, w]) => w),
      host: opts.admin.host,
      allowedHosts: opts.admin.allowedHosts,
      token: opts.admin.token,
      reload: reload && (() => reload.run()),
      log: (line) => plog('warn', LOG_EVENT.adminError, line),
    });
  if (admin && opts.admin) {
    const { host, port } = opts.admin;
    const url = await admin.listen(port, host).catch((err: unknown) => {
      throw new ListenError('admin', host, port, err);
    });
    plog('info', LOG_EVENT.workersListening, `regiongate: ${opts.workers} workers, admin on ${url}`, { workers: opts.workers, admin: url });
  }

  const allExited = new Promise<void>((resolve) => {
    const stopWorkers = (signal: NodeJS.Signals): void => {
      for (const t of pendingForks) clearTimeout(t);
      pendingForks.clear();
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
      if (Object.keys(cluster.workers ?? {}).length === 0) resolve();
    };
    const shutdown = installShutdown({
      close: async () => {
        stopping = true;
        log(`regiongate: draining ${Object.keys(cluster.workers ?? {}).length} workers`);
        stopWorkers('SIGTERM');
        await allExited;
      },
      // Ctrl-C again: the workers cut their drains (SIGINT is their "again").
      cut: () => stopWorkers('SIGINT'),
      hardDeadlineMs: opts.hardDeadlineMs,
      log,
      exit: (code) => {
        exitCode = Math.max(exitCode, code);
        if (code === 0) return;
        // Past the hard deadline, or a failed close: no worker outlives the primary.
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
        resolve();
      },
    });
    cluster.on('exit', (w, code, signal) => {
      const state = forget(w);
      if (stopping || shutdown.started) {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve();
        return;
      }
      const slot = state?.slot ?? 0;
      const uptime = state?.readyAt === undefined ? undefined : performance.now() - state.readyAt;
      // Until one worker has started, a worker that cannot start means the gateway cannot (a port in
      // use, say): exit 1 now, as a single process would, instead of retrying into the same failure.
      const decision = everReady || uptime !== undefined ? restarts.exited(slot, uptime) : { restart: false as const, reason: 'a worker failed to start' };
      if (!decision.restart) {
        plog('error', LOG_EVENT.workerExited, `regiongate: worker ${w.process.pid} exited (${signal ?? code}); ${decision.reason}: giving up`, {
          pid: w.process.pid,
          exitedWorker: w.id,
          code,
          signal,
          restart: false,
        });
        exitCode = 1;
        shutdown.begin('giving up on the workers', 1);
        return;
      }
      plog('warn', LOG_EVENT.workerExited, `worker ${w.process.pid} exited (${signal ?? code}); starting another${decision.delayMs > 0 ? ` in ${decision.delayMs} ms` : ''}`, {
        pid: w.process.pid,
        exitedWorker: w.id,
        code,
        signal,
        restart: true,
        delayMs: decision.delayMs,
      });
      const timer = setTimeout(() => {
        pendingForks.delete(timer);
        if (!stopping) fork(slot);
      }, decision.delayMs);
      pendingForks.add(timer);
    });
  });
  for (let slot = 0; slot < opts.workers; slot++) fork(slot);
  await allExited;
  reload?.close();
  await admin?.close();
  return exitCode;
}

/** The primary's reload: SIGHUP and the watcher run it; the admin front's `POST /admin/reload` too. */
function startClusterReload(o: NonNullable<ClusterOptions['reload']>, plog: ProcessLog): { run: ClusterReload['run']; close: () => void } {
  const workers = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
  let watchOn = o.watch;
  const cr = new ClusterReload({
    read: () => {
      const { text, config } = o.read();
      watchOn = config.watch;
      return text;
    },
    workers,
    onRefused: (problems) => plog('error', LOG_EVENT.configReloadRefused, 'config not reloaded: still serving with the previous one', { problems }),
  });
  const run = (): Promise<ClusterReloadAnswer> =>
    cr.run().then((a) => {
      plog(a.status === 200 ? 'info' : 'error', LOG_EVENT.configReloaded, `regiongate: reload ${a.status === 200 ? 'applied by every worker' : 'not applied everywhere'}`, a.body);
      follow();
      return a;
    });
  const onHup = (): void => void run().catch(() => undefined);
  process.on('SIGHUP', onHup);
  const watcher = new ConfigWatcher({ file: o.file, onChange: onHup });
  const follow = (): void => (watchOn || o.watchFlag ? watcher.start() : watcher.close());
  follow();
  return {
    run,
    close: () => {
      process.off('SIGHUP', onHup);
      watcher.close();
    },
  };
}

/** The gateway id in a snapshot field (`[endpointId, gatewayId, class]`, see `recordKey`). */
function assertedBy(field: string): string | undefined {
  try {
    const key: unknown = JSON.parse(field);
    return Array.isArray(key) && typeof key[1] === 'string' ? key[1] : undefined;
  } catch {
    return undefined;
  }
}
