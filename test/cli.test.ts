// The `regiongate` command as a child process, run from the build (`dist/cli.js`, see helpers/built.ts):
// check-config exit codes and output, help (top-level and per command), --version, usage errors, and the demo end to end (real requests
// through it, then a SIGTERM drain that exits 0). Every wait is for the child's output or exit.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { COMMANDS } from '../src/cli/commands.js';
import { DRILL_USAGE } from '../src/drill/drill-command.js';
import { exitOf, Output, ROOT, spawnCli } from './helpers/built.js';
import { until, within } from './helpers/wait.js';

/** What the helpers need of a test. */
interface Tap {
  teardown(fn: () => unknown): void;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The child's environment: ours without the variables the configs below read, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['PORT', 'LISTEN_HOST', 'ADMIN_PORT', 'REGIONGATE_CONFIG', 'RG_CLI_TEST_KEY', 'RG_CLI_TEST_UNSET']) delete out[k];
  return { ...out, ...env };
}

/** Run a one-shot `regiongate ...args` to completion (its pipes drained). */
async function run(tt: Tap, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawnCli(tt, args, { env: childEnv(env) });
  const stdout = new Output(child, 'stdout');
  const stderr = new Output(child, 'stderr');
  const closed = new Promise<Pick<Run, 'code' | 'signal'>>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const { code, signal } = await within(`regiongate ${args.join(' ')} to exit`, closed);
  return { code, signal, stdout: stdout.text, stderr: stderr.text };
}

/** The .ts files under `dir`. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function tempDir(tt: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'regiongate-cli-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('check-config: a bad config exits 2 and names every key path and reason', async (t) => {
  const file = join(tempDir(t), 'bad.yaml');
  writeFileSync(
    file,
    [
      'listen:',
      '  port: 99999',
      'colour: blue',
      'timeouts:',
      '  connect: soon',
      'regions:',
      '  - name: us-east-1',
      '    endpoints:',
      '      - url: http://127.0.0.1:9101',
      '        headers:',
      '          authorization: Bearer ${RG_CLI_TEST_UNSET}',
      '  - name: eu-west-1',
      '    endpoints:',
      '      - url: not-a-url',
      '',
    ].join('\n'),
  );
  const r = await run(t, ['check-config', file]);
  t.equal(r.code, 2, 'exit code 2');
  t.equal(r.stdout, '', 'nothing on stdout');
  t.match(r.stderr, `invalid config ${file}:`);
  for (const line of [
    'listen.port: must be at most 65535',
    'colour: unknown key',
    'timeouts.connect: must be a duration',
    'regions[0].endpoints[0].headers.authorization: environment variable RG_CLI_TEST_UNSET is not set',
    'regions[1].endpoints[0].url: must be an http(s) URL',
  ])
    t.ok(r.stderr.includes(line), line);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

t.test('check-config: a missing file exits 2', async (t) => {
  const missing = await run(t, ['check-config', join(tempDir(t), 'nope.yaml')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read file/);
});

t.test('check-config: a good config exits 0 and prints the resolved JSON with secrets masked', async (t) => {
  const file = join(tempDir(t), 'good.yaml');
  writeFileSync(
    file,
    [
      'admin:',
      '  token: admin-t0ken-value',
      'state:',
      '  store: redis',
      '  redis:',
      '    url: redis://:redis-pa55word@redis.internal:6379',
      'timeouts:',
      '  connect: 750ms',
      'regions:',
      '  - name: us-east-1',
      '    provider: aws',
      '    endpoints:',
      '      - url: https://vllm.internal:8000',
      '        headers:',
      '          authorization: Bearer ${RG_CLI_TEST_KEY}',
      '',
    ].join('\n'),
  );
  const r = await run(t, ['check-config', file], { RG_CLI_TEST_KEY: 'sk-from-env-123' });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, `${file}: ok`);
  const printed = JSON.parse(r.stdout) as {
    admin: { token: string };
    state: { redis: { url: string } };
    timeouts: { connect: number; keepAlive: number };
    regions: { endpoints: { headers: Record<string, string> }[] }[];
  };
  t.equal(printed.timeouts.connect, 750, 'durations resolved');
  t.equal(printed.timeouts.keepAlive, 65_000, 'defaults filled in');
  t.equal(printed.admin.token, '****');
  t.equal(printed.regions[0].endpoints[0].headers.authorization, '****');
  t.equal(printed.state.redis.url, 'redis://:****@redis.internal:6379');
  for (const secret of ['admin-t0ken-value', 'redis-pa55word', 'sk-from-env-123'])
    t.notOk(r.stdout.includes(secret) || r.stderr.includes(secret), `${secret} is printed nowhere`);
});

t.test('help exits 0; an unknown command exits 64', async (t) => {
  const help = await run(t, ['help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: regiongate <command>/);
  for (const cmd of Object.keys(COMMANDS)) t.match(help.stdout, `\n  ${cmd}`, `lists ${cmd}`);
  const bare = await run(t, []);
  t.equal(bare.code, 0, 'no command at all prints the help too');
  t.equal(bare.stdout, help.stdout);

  const unknown = await run(t, ['frobnicate']);
  t.equal(unknown.code, 64);
  t.match(unknown.stderr, 'unknown command "frobnicate"');
  t.match(unknown.stderr, 'Usage: regiongate');
});

t.test('the help lists the short flags, every environment variable the code reads, and the exit codes', async (t) => {
  const { stdout } = await run(t, ['--help']);
  for (const flag of ['-c --config', '-w --workers', '-p --port', '-h --help', '-v --version']) t.match(stdout, flag, `short flag ${flag}`);
  // Every process.env.NAME under src/ and the demo config's ${NAME}s (but the DEMO_*_URL the demo sets
  // itself): a variable added without a line in the help fails here.
  const names = new Set<string>();
  for (const file of sourceFiles(join(ROOT, 'src'))) for (const m of readFileSync(file, 'utf8').matchAll(/process\.env\.([A-Z_][A-Z0-9_]*)/g)) names.add(m[1]);
  for (const m of readFileSync(join(ROOT, 'config/demo.yaml'), 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)) if (!m[1].startsWith('DEMO_')) names.add(m[1]);
  t.ok(names.has('REGIONGATE_CONFIG') && names.has('PORT'), 'the scan finds the variables');
  for (const name of names) t.match(stdout, new RegExp(`\\b${name}\\b`), `environment variable ${name}`);
  for (const code of ['0', '1', '2', '64']) t.match(stdout, new RegExp(`\\n  ${code} +\\S`), `exit code ${code}`);
});

t.test('--version prints the version in package.json', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-v']) {
    const r = await run(t, [flag]);
    t.equal(r.code, 0, `${flag}: exit 0`);
    t.equal(r.stdout, `regiongate ${pkg.version}\n`, `${flag}: the package's version`);
  }
});

t.test('<command> --help prints that command\'s usage and exits 0, for every command', async (t) => {
  for (const cmd of Object.keys(COMMANDS)) {
    for (const flag of ['--help', '-h']) {
      const r = await run(t, [cmd, flag]);
      t.equal(r.code, 0, `${cmd} ${flag}: exit 0`);
      t.match(r.stdout, new RegExp(`^Usage: regiongate ${cmd}\\b`), `${cmd} ${flag}: its usage`);
      t.match(r.stdout, '-h, --help', `${cmd} ${flag}: its options`);
      t.equal(r.stderr, '', `${cmd} ${flag}: nothing on stderr`);
    }
  }
  // drill parses its own options (src/drill/drill-command.ts): its help names every one of them.
  const drill = await run(t, ['drill', '--help']);
  for (const [option] of DRILL_USAGE.matchAll(/--[a-z-]+/g)) t.match(drill.stdout, `  ${option}`, `drill --help lists ${option}`);
  const viaHelp = await run(t, ['help', 'start']);
  t.equal(viaHelp.code, 0);
  t.match(viaHelp.stdout, /^Usage: regiongate start /);
});

t.test('usage errors exit 64 with a clear line and the command\'s usage', async (t) => {
  const noFile = await run(t, ['check-config']);
  t.equal(noFile.code, 64, 'check-config without a FILE');
  t.match(noFile.stderr, /^regiongate check-config: pass the config FILE/);
  t.match(noFile.stderr, 'Usage: regiongate check-config FILE');
  t.equal(noFile.stdout, '');

  const unknownOption = await run(t, ['start', '--frob']);
  t.equal(unknownOption.code, 64, 'an unknown option');
  t.match(unknownOption.stderr, /^regiongate start: unknown option --frob\n/);
  t.notMatch(unknownOption.stderr, '"--', 'no nested quotes from parseArgs');
  t.match(unknownOption.stderr, 'Usage: regiongate start');

  const wrongCommand = await run(t, ['demo', '--workers', '2']);
  t.equal(wrongCommand.code, 64, "another command's option");
  t.match(wrongCommand.stderr, 'unknown option --workers');

  const missingValue = await run(t, ['sim', '--port']);
  t.equal(missingValue.code, 64, 'an option without its value');
  t.match(missingValue.stderr, /^regiongate sim: Option '-p, --port <value>' argument missing/);
});

t.test('demo: real requests through it, then SIGTERM drains and exits 0', async (t) => {
  const child = spawnCli(t, ['demo', '--port', '0'], { env: childEnv({ ADMIN_PORT: '0' }) });
  const out = new Output(child, 'stdout');
  const err = new Output(child, 'stderr');
  const exited = exitOf(child);
  // The banner is one write ending in this line; wait for all of it, not just the URL.
  await out.match('the demo banner', /Ctrl-C drains and stops\./);
  const stdout = out.text;
  const url = /gateway on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1] ?? '';
  t.notMatch(url, /:8080$/, '--port 0 picks a free port');
  t.match(stdout, /curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/, 'prints a curl line');
  t.match(stdout, /curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/regions\/us-east-1\/fault -d '\{"mode":"down"\}'/, 'prints the fault line');

  const agent = new Agent({ keepAliveTimeout: 1000 });
  t.teardown(() => agent.destroy());
  const chat = (stream: boolean) =>
    request(`${url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: 'Hello' }] }),
    });
  const demoRegions = ['us-east-1', 'europe-west4', 'frankfurt'];

  const whole = await chat(false);
  t.equal(whole.statusCode, 200);
  t.ok(demoRegions.includes(String(whole.headers['x-regiongate-region'])), `answered by ${String(whole.headers['x-regiongate-region'])}`);
  t.ok(whole.headers['x-regiongate-endpoint'], 'x-regiongate-endpoint');
  t.equal(whole.headers['x-regiongate-attempts'], '1');
  t.ok(whole.headers['x-request-id'], 'x-request-id');
  const completion = (await whole.body.json()) as { object: string; choices: { message: { content: string } }[] };
  t.equal(completion.object, 'chat.completion');
  t.match(completion.choices[0].message.content, /^Hello from /);

  const streamed = await chat(true);
  t.equal(streamed.statusCode, 200);
  t.match(String(streamed.headers['content-type']), /^text\/event-stream/);
  t.ok(demoRegions.includes(String(streamed.headers['x-regiongate-region'])), 'x-regiongate-region on the stream');
  const text = await streamed.body.text();
  t.match(text, /^data: \{.*"chat\.completion\.chunk"/, 'OpenAI-style chunks');
  t.ok(text.trimEnd().endsWith('data: [DONE]'), 'the stream ends with data: [DONE]');

  // Load-aware routing in the demo: the two capacity-limited regions publish vLLM metrics, scraped.
  const admin = /dashboard (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1] ?? '';
  t.match(stdout, /for i in 1 2 3 4 5 6 7 8; do curl -sN /, 'prints the load-aware burst line');
  type Shown = { region: string; score?: number; loadSignals?: { engine: string; fresh: boolean; ageMs: number | null; predicted: unknown } };
  const shown = async (): Promise<Shown[]> => ((await (await request(`${admin}/admin/state`, { dispatcher: agent })).body.json()) as { endpoints: Shown[] }).endpoints;
  let endpoints: Shown[] = [];
  await until('the demo reads both regions\' load signals', async () => {
    endpoints = await shown();
    return endpoints.filter((e) => e.loadSignals?.fresh === true).length === 2;
  });
  const byRegion = Object.fromEntries(endpoints.map((e) => [e.region, e]));
  t.match(byRegion['us-east-1'], { loadSignals: { engine: 'vllm', fresh: true, ageMs: Number, predicted: { waiting: 0 } }, score: Number }, 'us-east-1: signals, age, score');
  t.match(byRegion['europe-west4'], { loadSignals: { engine: 'vllm', fresh: true } });
  t.equal(byRegion.frankfurt?.loadSignals, undefined, 'frankfurt has no load signals: latency only');

  const ready = await request(`${url}/readyz`, { dispatcher: agent });
  t.equal(ready.statusCode, 200);
  t.same(await ready.body.json(), { status: 'ready' });

  await agent.close();
  child.kill('SIGTERM');
  t.same(await within('the demo to exit after SIGTERM', exited), { code: 0, signal: null }, 'exit code 0 after the drain');
  t.match(err.text, 'SIGTERM: draining');
});
