/**
 * What the `regiongate` command accepts: each command's options and usage text, the top-level help (short
 * flags, environment variables, exit codes) and the exit codes themselves. `cli.ts` runs the commands;
 * this module only describes and parses them, so `<command> --help` and a usage error print the same text.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { parseArgsErrorMessage } from '../util/parse-args-error.js';

/** Exit codes of the command (sysexits.h's EX_USAGE for bad usage). */
export const EXIT = Object.freeze({ ok: 0, failed: 1, invalidConfig: 2, usage: 64 });

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  /** One line: the command and its arguments. */
  readonly synopsis: string;
  /** What it does, a line or two (the top-level help lists these). */
  readonly summary: string;
  /** More about it, after the summary in `<command> --help`. */
  readonly details?: string;
  /** The options block of `<command> --help`, aligned. */
  readonly optionsHelp: string;
  /** `parseArgs` options; absent for a command that parses its own arguments (drill). */
  readonly options?: Options;
  readonly positionals?: boolean;
}

const HELP_OPTION = '  -h, --help                 this text';

export const COMMANDS = {
  start: {
    synopsis: 'start -c FILE [-w N] [--watch-config]',
    summary: 'run the gateway from a config file (YAML or JSON); SIGHUP reloads it, SIGTERM or SIGINT drains, then exits 0',
    optionsHelp: [
      '  -c, --config FILE          the config file (also the first argument, or REGIONGATE_CONFIG)',
      '  -w, --workers N            N processes on the same port, sharing health state (1..256, default 1)',
      '      --watch-config         also reload the file when it changes (as config key watch: true; docs/reload.md)',
    ].join('\n'),
    options: { config: { type: 'string', short: 'c' }, workers: { type: 'string', short: 'w' }, 'watch-config': { type: 'boolean' } },
    positionals: true,
  },
  demo: {
    synopsis: 'demo [-p N]',
    summary: 'three simulated regions and the gateway on 127.0.0.1:8080, admin on :9090 (no Redis)',
    optionsHelp: '  -p, --port N               the gateway\'s port (default 8080, or PORT; 0 picks free ports)',
    options: { port: { type: 'string', short: 'p' } },
  },
  sim: {
    synopsis: 'sim [-p N] [--control-port N]',
    summary: "serve the demo's simulated regions and their fault-control API",
    optionsHelp: [
      '  -p, --port N               the regions listen on N, N+1, N+2 (default 9101)',
      '      --control-port N       the fault-control API (default 9100)',
    ].join('\n'),
    options: { port: { type: 'string', short: 'p' }, 'control-port': { type: 'string' } },
  },
  'check-config': {
    synopsis: 'check-config FILE',
    summary: 'validate FILE and print the resolved config, secrets masked; exit 0 when valid, 2 when not',
    optionsHelp: '  -c, --config FILE          the file, if not given as the argument',
    options: { config: { type: 'string', short: 'c' } },
    positionals: true,
  },
  drill: {
    synopsis: 'drill --admin URL --region NAME --duration DUR [options]',
    summary: 'take a region out fleet-wide (or inject faults into its traffic) through a gateway\'s admin API, watch, report',
    details:
      'The fleet is watched while the drill runs; it aborts and restores the region when client errors\n' +
      'exceed --max-error-rate or on Ctrl-C. Exit 0 when it passes; 1 when it fails, is aborted or cannot start.',
    optionsHelp: [
      '      --admin URL            a gateway\'s admin API (required)',
      '      --token T              its admin token (default REGIONGATE_ADMIN_TOKEN)',
      '      --region NAME          the region to take out (required)',
      '      --duration DUR         how long, 1s to 24h, e.g. 30s or 5m (required)',
      '      --max-error-rate PCT   abort and restore when client errors exceed PCT % (default 1)',
      '      --mode drain|fault     drain (default): the region takes no requests; fault: the gateways inject --fault',
      '      --fault error|hang|slow   fault mode: fail the attempt (503), hold it until its first-byte limit, or delay it',
      '      --percent P            fault mode: share of attempts toward the region that get the fault (0..100)',
      '      --delay DUR            fault slow: how late each faulted attempt is sent (e.g. 500ms)',
      '      --force                drill even if a model would be left with no routable endpoint',
      '      --json                 print the report as JSON',
    ].join('\n'),
  },
  help: {
    synopsis: 'help [COMMAND]',
    summary: 'this text, or the usage of COMMAND',
    optionsHelp: '',
    positionals: true,
  },
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

/** `regiongate <command> --help`. */
export function commandUsage(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const details = spec.details === undefined ? '' : `\n\n${spec.details}`;
  const options = [spec.optionsHelp, HELP_OPTION].filter(Boolean).join('\n');
  return `Usage: regiongate ${spec.synopsis}\n\n${capitalise(spec.summary)}.${details}\n\nOptions:\n${options}\n`;
}

/** `regiongate --help`: commands, short flags, environment variables, exit codes. */
export function topUsage(): string {
  const indent = ' '.repeat(30);
  const commands = (Object.keys(COMMANDS) as CommandName[])
    .map((name) => {
      const { synopsis, summary } = COMMANDS[name];
      const lines = wrap(summary, 100 - indent.length).map((l) => indent + l);
      const head = `  ${synopsis}`;
      const first = lines[0] ?? '';
      return head.length < indent.length ? [head.padEnd(indent.length) + first.trimStart(), ...lines.slice(1)].join('\n') : [head, ...lines].join('\n');
    })
    .join('\n');
  return `Usage: regiongate <command> [options]
       regiongate <command> --help     that command's usage and options
       regiongate --version            the version (also -v)

Commands:
${commands}

Short flags: -c --config, -w --workers, -p --port, -h --help, -v --version

Environment:
  REGIONGATE_CONFIG           the config file of \`start\` when none is passed
  REGIONGATE_ADMIN_TOKEN      the admin token of \`drill\` when --token is not passed
  PORT, LISTEN_HOST, ADMIN_PORT
                              the demo's gateway port, host and admin port (read by config/demo.yaml)
  any NAME in a config file   \${NAME} and \${NAME:-default} are replaced with the variable's value

Exit codes:
  ${EXIT.ok}   done; a gateway drained after SIGTERM or SIGINT; a drill passed
  ${EXIT.failed}   the gateway failed to start or to drain in time; a drill failed, aborted or could not start
  ${EXIT.invalidConfig}   invalid configuration (every key path and reason on stderr)
  ${EXIT.usage}  usage error: unknown command or option, missing argument
`;
}

/** True when `args` ask for help (`-h` or `--help` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** Parse `args` against the options of `name`; throws `UsageError` with a one-line reason. */
export function parseCommand(name: CommandName, args: readonly string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const spec: CommandSpec = COMMANDS[name];
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: spec.options ?? {}, allowPositionals: spec.positionals === true, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    throw new UsageError(parseArgsErrorMessage(err), name);
  }
}

/** `text` broken at spaces into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
