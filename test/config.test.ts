// Configuration: schema defaults, durations, `${ENV}` substitution, unknown keys, every error reported at
// once with its key path, YAML and JSON files, a deep-frozen result, masked secrets, the shipped config
// files. (docs/configuration.md, the reference generated from the schema, is checked by test/docs.test.ts.)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadConfigFile, maskSecrets, resolveConfig, type GatewayConfig } from '../src/config/index.js';
import { ConfigError } from '../src/errors.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The smallest valid document, with `extra` merged in at the top. */
function doc(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { regions: [{ name: 'us-east-1', endpoints: [{ url: 'http://127.0.0.1:9101' }] }], ...extra };
}

/** The issues of the `ConfigError` that `fn` throws (fails the test when it does not throw one). */
function issuesOf(tt: Tap, fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    tt.fail(`expected a ConfigError, got ${String(err)}`);
    return [];
  }
  tt.fail('expected a ConfigError, nothing was thrown');
  return [];
}

/** What the helpers need of a test. */
interface Tap {
  teardown(fn: () => unknown): void;
  fail(message: string): unknown;
}

/** A temp dir removed in teardown. */
function tempDir(tt: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'regiongate-config-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('defaults are applied to every section', async (t) => {
  // t.match, not t.same: sections may gain keys; test/docs.test.ts checks that each one is documented.
  const cfg = resolveConfig(doc(), {});
  t.same(cfg.listen, { host: '0.0.0.0', port: 8080, backlog: 511, healthzPath: '/healthz', readyzPath: '/readyz', trustProxy: false, http2: false });
  t.match(cfg.admin, { host: '127.0.0.1', port: 9090, enabled: true });
  t.equal(cfg.admin.token, undefined);
  t.equal(cfg.gatewayId, undefined);
  t.match(cfg.state, { store: 'memory', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'regiongate:', commandTimeout: 250 } });
  t.match(cfg.health, {
    interval: 1000,
    timeout: 500,
    path: '/health',
    jitter: 0.1,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
    expectedStatus: [200],
  });
  t.match(cfg.timeouts, {
    queue: 5000,
    connect: 2000,
    firstByteStream: 30_000,
    firstByteUnary: 180_000,
    idle: 30_000,
    request: 300_000,
    clientHeaders: 10_000,
    clientRequest: 60_000,
    keepAlive: 65_000,
    drain: 30_000,
  });
  t.equal(cfg.timeouts.firstByte, undefined, 'unset: by the kind of request');
  t.match(cfg.limits, { bodyBytes: 10 * 1024 * 1024, headerBytes: 16 * 1024, bufferedBytes: 128 * 1024 * 1024 });
  t.match(cfg.retry, { attempts: 3, statuses: [429, 502, 503, 504], nonIdempotent: false });
  t.same(cfg.retry.replayablePaths, ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses']);
  t.match(cfg.log, { level: 'info' });
  t.same(cfg.retry.statuses, [429, 502, 503, 504]);
  t.equal(cfg.regions.length, 1);
  t.match(cfg.regions[0], { name: 'us-east-1', provider: 'unknown', priority: 0 });
  t.equal(cfg.regions[0].endpoints.length, 1);
  t.match(cfg.regions[0].endpoints[0], { url: 'http://127.0.0.1:9101', weight: 1, headers: {}, connections: 0 });
  t.same(cfg.regions[0].endpoints[0].models, ['*']);
  t.equal(cfg.regions[0].endpoints[0].id, undefined, 'the id defaults later, to <region>-<index>');
  t.ok(cfg.timeouts.keepAlive > 60_000, 'client keep-alive outlives a typical load balancer idle timeout (60 s)');
});

t.test('durations: numbers of milliseconds or strings with a unit', async (t) => {
  const cfg = resolveConfig(
    doc({ timeouts: { connect: '250ms', firstByte: '2s', idle: '1m', request: 1500, drain: '1.5m', keepAlive: '1h', clientHeaders: ' 3s ' } }),
    {},
  );
  t.equal(cfg.timeouts.connect, 250);
  t.equal(cfg.timeouts.firstByte, 2000);
  t.equal(cfg.timeouts.idle, 60_000);
  t.equal(cfg.timeouts.request, 1500);
  t.equal(cfg.timeouts.drain, 90_000);
  t.equal(cfg.timeouts.keepAlive, 3_600_000);
  t.equal(cfg.timeouts.clientHeaders, 3000);
  t.equal(resolveConfig(doc({ timeouts: { connect: '500' } }), {}).timeouts.connect, 500, 'a bare numeric string is milliseconds');
  t.equal(resolveConfig(doc({ state: { redis: { commandTimeout: '1s' } } }), {}).state.redis.commandTimeout, 1000);

  const issues = issuesOf(t, () =>
    resolveConfig(doc({ timeouts: { connect: 'soon', firstByte: -1, idle: '5 parsecs', request: true }, health: { interval: '-2s' } }), {}),
  );
  for (const key of ['timeouts.connect', 'timeouts.firstByte', 'timeouts.idle', 'timeouts.request', 'health.interval'])
    t.ok(
      issues.some((i) => i.startsWith(`${key}: must be a duration`)),
      `${key} is rejected with the duration hint`,
    );
  t.match(issues.join('\n'), /"250ms", "2s", "1m"/, 'the hint shows the accepted forms');
});

t.test('whole numbers are also accepted as numeric strings (values from ${ENV})', async (t) => {
  const cfg = resolveConfig(doc({ listen: { port: '8081' }, retry: { attempts: ' 2 ' } }), {});
  t.equal(cfg.listen.port, 8081);
  t.equal(cfg.retry.attempts, 2);
  const issues = issuesOf(t, () => resolveConfig(doc({ listen: { port: 'eighty' }, retry: { attempts: 1.5 } }), {}));
  t.ok(issues.includes('listen.port: must be a port number (0-65535)'), issues.join('\n'));
  t.ok(issues.includes('retry.attempts: must be a whole number'), issues.join('\n'));
});

t.test('${VAR} and ${VAR:-default} substitution', async (t) => {
  const input = doc({
    listen: { host: '${HOST:-127.0.0.1}', port: '${PORT}' },
    admin: { token: '${ADMIN_TOKEN}' },
    regions: [
      {
        name: '${REGION:-eu-west-1}',
        endpoints: [
          {
            url: 'https://${UPSTREAM_HOST}:8000',
            headers: { authorization: 'Bearer ${API_KEY:-sk-example}', 'x-literal': 'cost: $${NOT_A_VAR}' },
          },
        ],
      },
    ],
  });
  const cfg = resolveConfig(input, { PORT: '9000', ADMIN_TOKEN: 'tok-from-env-0123456789', UPSTREAM_HOST: 'vllm.internal', API_KEY: 'sk-live' });
  t.equal(cfg.listen.host, '127.0.0.1', 'default used when the variable is unset');
  t.equal(cfg.listen.port, 9000, 'a substituted number is validated as a number');
  t.equal(cfg.admin.token, 'tok-from-env-0123456789');
  t.equal(cfg.regions[0].name, 'eu-west-1');
  t.equal(cfg.regions[0].endpoints[0].url, 'https://vllm.internal:8000', 'substituted inside a string');
  t.equal(cfg.regions[0].endpoints[0].headers.authorization, 'Bearer sk-live');
  t.equal(cfg.regions[0].endpoints[0].headers['x-literal'], 'cost: ${NOT_A_VAR}', '$${ escapes a literal ${');

  const empty = resolveConfig(input, { PORT: '9000', ADMIN_TOKEN: 'tok-from-env-0123456789', UPSTREAM_HOST: 'h', HOST: '', API_KEY: '' });
  t.equal(empty.listen.host, '127.0.0.1', 'an empty variable counts as unset');
  t.equal(empty.regions[0].endpoints[0].headers.authorization, 'Bearer sk-example');

  const structured = resolveConfig(doc({ regions: [{ name: 'a', provider: '${V}', endpoints: [{ url: 'http://x' }] }] }), {
    V: 'a: [1, 2]\nb: {c: 3}',
  });
  t.equal(structured.regions[0].provider, 'a: [1, 2]\nb: {c: 3}', 'an env value never changes the document structure');
  t.throws(
    () => resolveConfig(doc({ regions: [{ name: 'a', endpoints: [{ url: 'http://x', headers: { h: '${V}' } }] }] }), { V: 'x\r\nX-Injected: 1' }),
    /headers\.h: must not contain CR, LF or NUL/,
    'but a header value from the environment cannot inject a header',
  );
});

t.test('a missing variable is reported with its key path', async (t) => {
  const input = doc({
    listen: { port: '${PORT}' },
    regions: [{ name: 'a', endpoints: [{ url: 'http://x', headers: { authorization: 'Bearer ${RG_TEST_MISSING_KEY}' } }] }],
  });
  const issues = issuesOf(t, () => resolveConfig(input, {}));
  t.ok(issues.includes('listen.port: environment variable PORT is not set'), issues.join('\n'));
  t.ok(
    issues.includes('regions[0].endpoints[0].headers.authorization: environment variable RG_TEST_MISSING_KEY is not set'),
    issues.join('\n'),
  );
});

t.test('unknown keys are rejected with their path', async (t) => {
  const issues = issuesOf(t, () =>
    resolveConfig(
      {
        extra: 1,
        listen: { port: 8080, bogus: true },
        state: { redis: { pasword: 'x' } },
        regions: [{ name: 'a', zone: 'b', endpoints: [{ url: 'http://x', apiKey: 'sk' }] }],
      },
      {},
    ),
  );
  for (const path of ['extra', 'listen.bogus', 'state.redis.pasword', 'regions[0].zone', 'regions[0].endpoints[0].apiKey'])
    t.ok(issues.includes(`${path}: unknown key`), `${path}: unknown key`);
});

t.test('every problem is reported at once, each with its key path', async (t) => {
  let caught: unknown;
  try {
    resolveConfig(
      {
        listen: { port: 70000 },
        log: { level: 'loud' },
        state: { store: 'etcd' },
        regions: [
          { name: 'us-east-1', endpoints: [{ url: 'http://127.0.0.1:9101' }] },
          { name: 'eu west', endpoints: [{ url: 'ftp://files.example' }, { url: 'http://x', weight: 0 }] },
          { name: 'empty', endpoints: [] },
        ],
      },
      {},
      'test.yaml',
    );
  } catch (err) {
    caught = err;
  }
  t.type(caught, ConfigError);
  const err = caught as ConfigError;
  t.equal(err.code, 'RG_ERR_CONFIG');
  const expected = [
    'listen.port: must be at most 65535',
    'regions[1].name: must be letters, digits, ".", "_" or "-"',
    'regions[1].endpoints[0].url: must be an http(s) URL',
    'regions[1].endpoints[1].weight: must be at least 1',
    'regions[2].endpoints: must list at least one endpoint',
  ];
  for (const issue of expected) {
    t.ok(err.issues.includes(issue), issue);
    t.ok(err.message.includes(issue), `message lists ${issue}`);
  }
  t.ok(err.issues.some((i) => i.startsWith('log.level: ')), 'log.level');
  t.ok(err.issues.includes('state.store: must be "memory" or "redis"'), 'state.store');
  t.match(err.message, /^invalid config test\.yaml:\n {2}/, 'names the source, one issue per line');

  t.same(issuesOf(t, () => resolveConfig({}, {})), ['regions: must be a list of regions'], 'regions are required');
  t.same(issuesOf(t, () => resolveConfig({ regions: [] }, {})), ['regions: must list at least one region']);
  t.ok(
    issuesOf(t, () => resolveConfig({ regions: [{ endpoints: [{}] }] }, {})).some((i) => i.startsWith('regions[0].name: ')),
    'a region needs a name',
  );
});

t.test('duplicate region names and endpoint ids', async (t) => {
  const issues = issuesOf(t, () =>
    resolveConfig(
      {
        regions: [
          { name: 'us-east-1', endpoints: [{ url: 'http://a' }, { id: 'shared', url: 'http://b' }] },
          { name: 'us-east-1', endpoints: [{ id: 'shared', url: 'http://c' }] },
          { name: 'eu-west-1', endpoints: [{ id: 'us-east-1-0', url: 'http://d' }] },
        ],
      },
      {},
    ),
  );
  t.ok(issues.includes('regions[1].name: duplicate region name "us-east-1"'), issues.join('\n'));
  t.ok(issues.includes('regions[1].endpoints[0].id: duplicate endpoint id "shared"'), issues.join('\n'));
  t.ok(
    issues.includes('regions[2].endpoints[0].id: duplicate endpoint id "us-east-1-0"'),
    'an explicit id may not collide with a default <region>-<index> id',
  );
});

t.test('redis: URL scheme, and sentinels need a sentinelName', async (t) => {
  const issues = issuesOf(t, () =>
    resolveConfig(doc({ state: { store: 'redis', redis: { url: 'http://redis:6379', sentinels: [{ host: 's1', port: 26379 }] } } }), {}),
  );
  t.ok(issues.includes('state.redis.url: must be a redis:// or rediss:// URL'), issues.join('\n'));
  t.ok(issues.includes('state.redis.sentinelName: is required with sentinels'), issues.join('\n'));
  const cfg = resolveConfig(
    doc({ state: { store: 'redis', redis: { url: 'rediss://:pw@redis:6380', sentinels: [{ host: 's1', port: '26379' }], sentinelName: 'mymaster' } } }),
    {},
  );
  t.same(cfg.state.redis.sentinels, [{ host: 's1', port: 26379 }]);
});

t.test('YAML and JSON files', async (t) => {
  const dir = tempDir(t);
  const yamlFile = join(dir, 'gateway.yaml');
  writeFileSync(
    yamlFile,
    [
      '# a comment',
      'listen:',
      '  port: ${PORT:-8181}',
      'timeouts:',
      '  connect: 750ms',
      'regions:',
      '  - name: us-east-1',
      '    endpoints:',
      '      - url: ${UPSTREAM:-http://127.0.0.1:9101}',
      '        models: [gpt-4o-mini]',
      '',
    ].join('\n'),
  );
  const fromYaml = loadConfigFile(yamlFile, {});
  t.equal(fromYaml.listen.port, 8181);
  t.equal(fromYaml.timeouts.connect, 750);
  t.same(fromYaml.regions[0].endpoints[0].models, ['gpt-4o-mini']);
  t.equal(loadConfigFile(yamlFile, { PORT: '9999', UPSTREAM: 'https://vllm.example' }).regions[0].endpoints[0].url, 'https://vllm.example');

  const jsonFile = join(dir, 'gateway.json');
  writeFileSync(jsonFile, JSON.stringify({ listen: { port: 8282 }, timeouts: { idle: '2s' }, regions: [{ name: 'eu', endpoints: [{ url: 'http://e' }] }] }));
  const fromJson = loadConfigFile(jsonFile, {});
  t.equal(fromJson.listen.port, 8282);
  t.equal(fromJson.timeouts.idle, 2000);

  const badYaml = join(dir, 'bad.yaml');
  writeFileSync(badYaml, 'listen:\n  port: [8080\n');
  t.throws(() => loadConfigFile(badYaml, {}), { name: 'ConfigError', message: /cannot parse YAML/ });
  const badJson = join(dir, 'bad.json');
  writeFileSync(badJson, '{"listen": ');
  t.throws(() => loadConfigFile(badJson, {}), { name: 'ConfigError', message: /cannot parse JSON/ });
  t.throws(() => loadConfigFile(join(dir, 'missing.yaml'), {}), { name: 'ConfigError', message: /cannot read file/ });

  const emptyFile = join(dir, 'empty.yaml');
  writeFileSync(emptyFile, '# nothing but a comment\n');
  t.same(issuesOf(t, () => loadConfigFile(emptyFile, {})), ['regions: must be a list of regions'], 'an empty file is an empty document');

  const invalid = join(dir, 'invalid.yaml');
  writeFileSync(invalid, 'listen:\n  port: 99999\nregions:\n  - name: a\n    endpoints:\n      - url: nope\n');
  t.throws(() => loadConfigFile(invalid, {}), {
    name: 'ConfigError',
    message: new RegExp(`^invalid config ${invalid.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:`),
  });
});

t.test('the result is deep-frozen', async (t) => {
  const cfg = resolveConfig(doc({ regions: [{ name: 'a', endpoints: [{ url: 'http://x', headers: { k: 'v' }, models: ['m'] }] }] }), {});
  for (const [what, value] of [
    ['config', cfg],
    ['listen', cfg.listen],
    ['state.redis', cfg.state.redis],
    ['retry.statuses', cfg.retry.statuses],
    ['regions', cfg.regions],
    ['region', cfg.regions[0]],
    ['endpoint', cfg.regions[0].endpoints[0]],
    ['headers', cfg.regions[0].endpoints[0].headers],
    ['models', cfg.regions[0].endpoints[0].models],
  ] as const)
    t.ok(Object.isFrozen(value), `${what} is frozen`);
  t.throws(() => {
    (cfg.listen as { port: number }).port = 1;
  }, TypeError);
  t.throws(() => {
    (cfg.regions as unknown[]).push({});
  }, TypeError);
  t.equal(cfg.listen.port, 8080);
});

t.test('maskSecrets hides the admin token, header values and URL passwords', async (t) => {
  const cfg = resolveConfig(
    doc({
      admin: { token: 'admin-s3cret-0123456789' },
      state: { store: 'redis', redis: { url: 'redis://default:redis-s3cret@redis.internal:6379/0', sentinelPassword: 'sentinel-s3cret' } },
      regions: [
        {
          name: 'us-east-1',
          endpoints: [
            { url: 'https://user:url-s3cret@vllm.internal:8000/base', headers: { Authorization: 'Bearer sk-s3cret', 'x-api-key': 'key-s3cret' } },
            { url: 'http://plain.internal:8000' },
          ],
        },
      ],
    }),
    {},
  );
  const masked = maskSecrets(cfg) as GatewayConfig;
  const text = JSON.stringify(masked);
  for (const secret of ['admin-s3cret', 'redis-s3cret', 'sentinel-s3cret', 'url-s3cret', 'sk-s3cret', 'key-s3cret'])
    t.notOk(text.includes(secret), `${secret} is not printed`);
  t.equal(masked.admin.token, '****');
  t.same(masked.regions[0].endpoints[0].headers, { Authorization: '****', 'x-api-key': '****' }, 'header names kept, values masked');
  t.equal(masked.regions[0].endpoints[0].url, 'https://user:****@vllm.internal:8000/base');
  t.equal(masked.state.redis.url, 'redis://default:****@redis.internal:6379/0');
  t.equal(masked.state.redis.sentinelPassword, '****');
  t.match(masked.regions[0].endpoints[1].url, /^http:\/\/plain\.internal:8000\/?$/, 'a URL without credentials is unchanged');
  t.equal(cfg.admin.token, 'admin-s3cret-0123456789', 'the config itself is untouched');
  t.equal(cfg.regions[0].endpoints[0].headers.Authorization, 'Bearer sk-s3cret');
  t.equal((maskSecrets(resolveConfig(doc(), {})) as GatewayConfig).admin.token, undefined, 'no token, nothing to mask');
});

t.test('config/demo.yaml loads', async (t) => {
  const cfg = loadConfigFile(join(ROOT, 'config/demo.yaml'), {});
  t.equal(cfg.listen.host, '127.0.0.1');
  t.equal(cfg.listen.port, 8080);
  t.equal(cfg.state.store, 'memory', 'the demo needs no Redis');
  t.same(
    cfg.regions.map((r) => [r.name, r.provider, r.priority]),
    [
      ['us-east-1', 'aws', 0],
      ['europe-west4', 'gcp', 0],
      ['frankfurt', 'onprem', 1],
    ],
  );
  t.same(
    cfg.regions.map((r) => r.endpoints[0].loadSignals?.engine),
    ['vllm', 'vllm', undefined],
    'the demo scrapes load signals in the two capacity-limited regions, frankfurt stays latency-only',
  );
  const inDocker = loadConfigFile(join(ROOT, 'config/demo.yaml'), { LISTEN_HOST: '0.0.0.0', PORT: '0' });
  t.equal(inDocker.listen.host, '0.0.0.0', 'LISTEN_HOST (set in the Docker image) is honoured');
  t.equal(inDocker.listen.port, 0);
});

t.test('config/production.example.yaml ships no working placeholder: its secrets must come from the environment', async (t) => {
  const file = join(ROOT, 'config/production.example.yaml');
  const issues = issuesOf(t, () => loadConfigFile(file, {}));
  t.ok(issues.includes('admin.token: environment variable REGIONGATE_ADMIN_TOKEN is not set'), issues.join('\n'));
  for (const v of ['VLLM_US_EAST_1_API_KEY', 'VLLM_EU_WEST_1_API_KEY', 'VLLM_EUROPE_WEST4_API_KEY', 'ONPREM_API_KEY'])
    t.ok(issues.some((i) => i.endsWith(`environment variable ${v} is not set`)), `${v} is required`);
  const secrets = {
    REGIONGATE_ADMIN_TOKEN: 'prod-admin-token-0123456789abcdef',
    VLLM_US_EAST_1_API_KEY: 'sk-use1',
    VLLM_EU_WEST_1_API_KEY: 'sk-euw1',
    VLLM_EUROPE_WEST4_API_KEY: 'sk-euw4',
    ONPREM_API_KEY: 'sk-onprem',
  };
  const cfg = loadConfigFile(file, secrets);
  t.equal(cfg.listen.host, '0.0.0.0');
  t.equal(cfg.state.store, 'redis');
  t.equal(cfg.state.redis.url, 'redis://127.0.0.1:6379');
  t.equal(cfg.admin.host, '127.0.0.1', 'the admin API stays on loopback by default');
  t.ok(cfg.timeouts.keepAlive > 60_000, 'keep-alive above a 60 s load balancer idle timeout');
  const providers = new Set(cfg.regions.map((r) => r.provider));
  t.ok(providers.has('aws') && providers.has('gcp') && providers.has('onprem'), 'two clouds plus on-prem');
  t.ok(
    cfg.regions.some((r) => r.provider === 'onprem' && r.priority === 1),
    'on-prem is the priority 1 fallback',
  );
  for (const r of cfg.regions)
    for (const e of r.endpoints)
      if (e.credentials === undefined) t.match(e.headers, { authorization: /^Bearer \S+/ }, `${e.id ?? r.name} carries an API key header`);
  t.ok(
    cfg.regions.some((r) => r.endpoints.some((e) => e.credentials !== undefined && 'command' in e.credentials)),
    'shows a token command',
  );

  const withEnv = loadConfigFile(file, {
    ...secrets,
    REDIS_URL: 'rediss://:pw@redis.prod:6380',
    LISTEN_HOST: '10.0.0.5',
  });
  t.equal(withEnv.state.redis.url, 'rediss://:pw@redis.prod:6380');
  t.equal(withEnv.admin.token, 'prod-admin-token-0123456789abcdef');
  t.equal(withEnv.listen.host, '10.0.0.5');
  t.equal(withEnv.regions.find((r) => r.name === 'us-east-1')?.endpoints[0].headers.authorization, 'Bearer sk-use1');
});
