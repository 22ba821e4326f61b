#!/usr/bin/env node
/**
 * The `regiongate` command: start | demo | sim | check-config | drill (their options and help text are in
 * cli/commands.ts). Config errors exit 2, usage errors 64; a signal drains gracefully and exits 0.
 */
import cluster from 'node:cluster';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { configWarnings, loadConfigFile, maskSecrets, parseConfigText, readConfigText } from './config/index.js';
import { checkEndpointTlsFiles } from './registry/endpoint-tls.js';
import { checkListenTlsFiles } from './proxy/listener-tls.js';
import { createGateway, type RunningGateway } from './create-gateway.js';
import { runPrimary, type WorkerAdminMessage, type WorkerReadyMessage } from './cluster.js';
import { ConfigError, ListenError, UsageError } from './errors.js';
import { installShutdown } from './lifecycle/shutdown.js';
import { IpcBus, isIpcBusMessage, isIpcSnapshotMessage, isIpcStoreReply } from './state/ipc-bus.js';
import { DEMO_REGIONS, startSimFleet, type SimFleet } from './sim/index.js';
import { runDrillCommand } from './drill/drill-command.js';
import { commandUsage, EXIT, isCommand, parseCommand, topUsage, wantsHelp } from './cli/commands.js';
import { packageVersion } from './cli/version.js';
import { LOG_EVENT } from './telemetry/names.js';
import type { GatewayConfig } from './config/schema.js';
import { installReloadTriggers } from './reload/reload-triggers.js';
import { createProcessLog, type ProcessLog } from './telemetry/process-log.js';

/** How long closing pools, probes and the store may take after the drain before the process exits 1. */
const SHUTDOWN_GRACE_MS = 10_000;

const DEMO_CONFIG = fileURLToPath(new URL('../config/demo.yaml', import.meta.url));

/** Run the CLI with `argv` (without node and script); resolves with the exit code for one-shot commands. */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  try {
    return await runCommand(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const usage = isCommand(err.command) ? commandUsage(err.command) : topUsage();
    process.stderr.write(`regiongate${err.command ? ` ${err.command}` : ''}: ${err.message}\n\n${usage}`);
    return EXIT.usage;
  }
}

async function runCommand(argv: readonly string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    const { name, version } = packageVersion();
    process.stdout.write(`${name} ${version}\n`);
    return EXIT.ok;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    // `help --help` asks about help itself.
    const topic = command !== 'help' ? undefined : wantsHelp(rest.slice(0, 1)) ? 'help' : rest[0];
    if (topic !== undefined && !isCommand(topic)) throw new UsageError(`no such command "${topic}"`);
    process.stdout.write(topic === undefined ? topUsage() : commandUsage(topic));
    return EXIT.ok;
  }
  if (!isCommand(command)) throw new UsageError(`unknown command "${command}"`);
  if (wantsHelp(rest)) {
    process.stdout.write(commandUsage(command));
    return EXIT.ok;
  }
  if (command === 'drill')
    return runDrillCommand(rest, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  const { values, positionals } = parseCommand(command, rest);
  const str = (key: string): string | undefined => (typeof values[key] === 'string' ? (values[key] as string) : undefined);
  switch (command) {
    case 'start': {
      const file = str('config') ?? positionals[0] ?? process.env.REGIONGATE_CONFIG;
      if (!file) throw new ConfigError(['no config file: pass --config FILE or set REGIONGATE_CONFIG']);
      const config = loadConfigFile(file);
      checkEndpointTlsFiles(config, file);
      checkListenTlsFiles(config, file);
      // Until the gateway exists its id is the configured one (or the host): the same prefix workers use.
      const early = createProcessLog(config.gatewayId ?? hostname());
      if (cluster.isPrimary) for (const w of configWarnings(config)) early('warn', LOG_EVENT.processWarning, `WARNING: ${w}`);
      const workers = Number(str('workers') ?? 1);
      if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new ConfigError([`--workers: must be a whole number from 1 to 256`]);
      const watchFlag = values['watch-config'] === true;
      // A reload re-reads the same file through the same loader and checks its TLS files, like start.
      const parse = (text: string): GatewayConfig => {
        const c = parseConfigText(text, file);
        checkEndpointTlsFiles(c, file);
        return c;
      };
      const read = (): GatewayConfig => parse(readConfigText(file));
      if (workers > 1 && cluster.isPrimary) {
        return await runPrimary({
          workers,
          log: early,
          ...(config.admin.enabled && { admin: config.admin }),
          hardDeadlineMs: config.timeouts.drainDelay + config.timeouts.drain + SHUTDOWN_GRACE_MS,
          reload: {
            file,
            read: () => {
              const text = readConfigText(file);
              return { text, config: parse(text) };
            },
            watch: config.watch,
            watchFlag,
          },
        });
      }
      let bus: IpcBus | undefined;
      let gatewayId: string | undefined;
      let run = config;
      let asWorker = (c: GatewayConfig): GatewayConfig => c;
      if (cluster.isWorker && cluster.worker) {
        // Workers share health through the primary; each is its own member of the fleet.
        const send = process.send?.bind(process);
        bus = new IpcBus((msg) => send?.(msg));
        process.on('message', (msg: unknown) => {
          if (isIpcBusMessage(msg) || isIpcSnapshotMessage(msg) || isIpcStoreReply(msg)) bus?.receive(msg);
        });
        gatewayId = `${config.gatewayId ?? hostname()}-w${cluster.worker.id}`;
        // The primary serves the admin port; this worker's admin API is private, reached through it.
        asWorker = (c) => ({ ...c, admin: { ...c.admin, host: '127.0.0.1', port: 0 } });
        run = asWorker(config);
      }
      const gw = createGateway(run, { bus, gatewayId, configSource: () => asWorker(read()) });
      const bound = await gw.listen();
      if (cluster.isWorker && gw.admin) {
        const msg: WorkerAdminMessage = { rg: 'worker-admin', gatewayId: gw.gatewayId, url: gw.admin.url };
        process.send?.(msg);
      }
      if (cluster.isWorker) {
        const ready: WorkerReadyMessage = { rg: 'worker-ready', gatewayId: gw.gatewayId };
        process.send?.(ready);
      }
      const log = createProcessLog(gw.gatewayId);
      log('info', LOG_EVENT.processListening, `regiongate ${gw.gatewayId} listening on ${gw.url}${gw.admin ? `, admin on ${gw.admin.url}` : ''}`, {
        url: gw.url,
        host: bound.address,
        port: bound.port,
        admin: gw.admin?.url ?? null,
      });
      const send = process.send?.bind(process);
      const stopReloads = installReloadTriggers({
        gateway: gw,
        file,
        watchFlag,
        worker: cluster.isWorker && send ? { send: (msg) => void send(msg), parse: (text) => asWorker(parse(text)) } : undefined,
      });
      handleSignals(gw, undefined, log, stopReloads);
      return undefined;
    }
    case 'demo':
      await runDemo(str('port'));
      return undefined;
    case 'sim':
      await runSim(Number(str('port') ?? 9101), Number(str('control-port') ?? 9100));
      return undefined;
    case 'check-config': {
      const file = positionals[0] ?? str('config');
      if (!file) throw new UsageError('pass the config FILE to check (or -c FILE)', command);
      if (positionals.length > 1) throw new UsageError(`one FILE at a time (got ${positionals.length})`, command);
      const config = loadConfigFile(file);
      checkEndpointTlsFiles(config, file);
      checkListenTlsFiles(config, file);
      process.stdout.write(`${JSON.stringify(maskSecrets(config), null, 2)}\n`);
      warn(configWarnings(config));
      process.stderr.write(`${file}: ok\n`);
      return EXIT.ok;
    }
  }
}

/** Config warnings on stderr, one loud line each (they name keys, never values). */
function warn(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`regiongate: WARNING: ${w}\n`);
}

/** The demo: simulators on free ports, the gateway from config/demo.yaml pointed at them. */
export async function runDemo(port?: string): Promise<{ fleet: SimFleet; gateway: RunningGateway }> {
  const fleet = await startSimFleet(DEMO_REGIONS);
  const env: Record<string, string | undefined> = { ...process.env };
  for (const sim of fleet.simulators) env[`DEMO_${sim.name.toUpperCase().replace(/-/g, '_')}_URL`] = sim.url;
  if (port !== undefined) env.PORT = port;
  // An ephemeral gateway port asks for an ephemeral admin port too (tests, several demos at once).
  if (port === '0') env.ADMIN_PORT ??= '0';
  let gateway: RunningGateway;
  try {
    gateway = createGateway(loadConfigFile(DEMO_CONFIG, env));
    await gateway.listen();
  } catch (err) {
    await fleet.close();
    throw err;
  }
  const url = gateway.url;
  const chat = (stream: boolean): string =>
    `curl -s${stream ? 'N' : ''} ${url}/v1/chat/completions -H 'content-type: application/json' ` +
    `-d '{"model":"gpt-4o-mini","stream":${stream},"messages":[{"role":"user","content":"Hello"}]}'`;
  process.stdout.write(
    `regiongate demo: gateway on ${url}, regions ${fleet.simulators.map((s) => `${s.name}=${s.url}`).join(' ')}\n` +
      (gateway.admin ? `  dashboard ${gateway.admin.url}/  metrics ${gateway.admin.url}/metrics  state ${gateway.admin.url}/admin/state\n` : '') +
      `\n  # a chat completion\n  ${chat(false)} -i\n` +
      `\n  # the same, streamed (SSE)\n  ${chat(true)}\n` +
      (gateway.admin
        ? `\n  # load-aware routing: 8 streams at once fill us-east-1 (4 sequences), the rest spill to europe-west4;\n` +
          `  # /admin/state shows each endpoint's loadSignals (reported, predicted, age) and score\n` +
          `  for i in 1 2 3 4 5 6 7 8; do ${chat(true)} -o /dev/null -w '%header{x-regiongate-region}\\n' & done; wait\n` +
          `  curl -s ${gateway.admin.url}/admin/state\n`
        : '') +
      `\n  # take us-east-1 down, then back up (sim control API)\n` +
      `  curl -s -X POST ${fleet.control.url}/regions/us-east-1/fault -d '{"mode":"down"}'\n` +
      `  curl -s -X DELETE ${fleet.control.url}/regions/us-east-1/fault\n\nCtrl-C drains and stops.\n`,
  );
  handleSignals(gateway, fleet, createProcessLog(gateway.gatewayId));
  return { fleet, gateway };
}

async function runSim(port: number, controlPort: number): Promise<void> {
  const fleet = await startSimFleet(
    DEMO_REGIONS.map((r, i) => ({ ...r, port: port + i })),
    { controlPort },
  );
  for (const s of fleet.simulators) process.stdout.write(`sim ${s.name} on ${s.url}\n`);
  process.stdout.write(`sim control on ${fleet.control.url}\n`);
  handleSignals(undefined, fleet);
}

/** Drain on SIGTERM/SIGINT (see `installShutdown`), then close the simulators, and exit. */
function handleSignals(gateway: RunningGateway | undefined, fleet?: SimFleet, plog?: ProcessLog, beforeClose?: () => void): void {
  const t = gateway?.config.timeouts;
  // A closed stderr or stdout (a log pipe gone) must not end or spin the process: drop the lines.
  process.stderr.on('error', () => undefined);
  process.stdout.on('error', () => undefined);
  installShutdown({
    close: async () => {
      beforeClose?.();
      try {
        await gateway?.close();
      } finally {
        await fleet?.close();
      }
    },
    cut: gateway && (() => gateway.gateway.close()),
    // The drain's own bounds, plus time for pools, probes and the store to close.
    hardDeadlineMs: (t ? t.drainDelay + t.drain : 0) + SHUTDOWN_GRACE_MS,
    log: plog ? (line, level = 'info') => plog(level, LOG_EVENT.processSignal, line) : (line) => process.stderr.write(`${line}\n`),
    exit: (code) => process.exit(code),
  });
}

/**
 * A config error on stderr. The daemons (`start`, `demo`, a `--workers` worker) write one JSON line like
 * every other line of a gateway (`config.invalid`, with `problems` and a one-line `msg`), for the log
 * pipeline that collects them; `check-config` is a command a person runs at a terminal to read the
 * problems, so it keeps the indented list, one problem per line.
 */
function reportConfigError(err: ConfigError, command: string | undefined): void {
  if (command === 'check-config') return void process.stderr.write(`${err.message}\n`);
  const [title] = err.message.split('\n', 1);
  createProcessLog(hostname())('error', LOG_EVENT.configInvalid, `regiongate: ${title} ${err.issues.join('; ')}`, { problems: err.issues });
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain || process.argv[1]?.endsWith('/regiongate')) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== undefined) process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        reportConfigError(err, process.argv[2]);
        process.exit(EXIT.invalidConfig);
      }
      // A gateway that failed to start says so in JSON, like every line of a running one.
      const text = err instanceof ListenError ? `regiongate: ${err.message}` : `regiongate: ${(err as Error).stack ?? String(err)}`;
      createProcessLog(hostname())('error', LOG_EVENT.startFailed, text);
      // Exit now: whatever start-up opened (a Redis reconnect, a worker's IPC channel) must not keep a
      // process that failed to start alive.
      process.exit(1);
    },
  );
}
