/**
 * The configuration schema: every key, its default and its rule. Unknown keys are rejected; errors
 * name the key path (see `load-config.ts`). Key names here are a stable contract (benches and external
 * checks write them).
 */
import proxyAddr from '@fastify/proxy-addr';
import { z } from 'zod';
import { DEFAULT_REPLAYABLE_PATHS } from '../routing/retry-policy.js';
import { adminTokenProblem, tokenlessAdminProblem } from './credential-rules.js';
import { MIN_SECRET_LENGTH } from '../state/fleet-signer.js';
import { parseDuration } from '../util/duration.js';

const DURATION_HINT = 'must be a duration: milliseconds as a number, or a string such as "250ms", "2s", "1m"';

/** A duration in milliseconds, given as a number or a string with a unit. */
const anyDuration = () =>
  z.union([z.number(), z.string()], { error: DURATION_HINT }).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: DURATION_HINT });
      return z.NEVER;
    }
    return ms;
  })
    .meta({ docType: 'duration' });
const duration = (def: number) => anyDuration().default(def);
/** A duration without a default: unset stays undefined. */
const optionalDuration = () => anyDuration().optional();

/**
 * A duration that must be above zero: where 0 has no meaning (a timer of 0 fails every request or
 * spins, and some libraries read 0 as "no limit"), it is refused by name instead of accepted.
 */
const positiveDuration = (def: number) =>
  duration(def).refine((v) => v > 0, { error: 'must be greater than 0' }).meta({ docType: 'duration > 0' });

/** A whole number, also accepted as a numeric string (values often come from `${ENV}`). */
const int = (min: number, max: number, what = 'a whole number') =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z
      .number({ error: `must be ${what}` })
      .int({ error: `must be ${what}` })
      .min(min, { error: `must be at least ${min}` })
      .max(max, { error: `must be at most ${max}` }),
  );

/** A number, also accepted as a numeric string. */
const num = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v),
    z
      .number({ error: 'must be a number' })
      .min(min, { error: `must be at least ${min}` })
      .max(max, { error: `must be at most ${max}` }),
  );

/** A boolean, also accepted as "true"/"false" (from `${ENV}`). */
const bool = () =>
  z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ error: 'must be true or false' }));

const port = int(0, 65535, 'a port number (0-65535)');
const host = z.string({ error: 'must be a host name or IP address' }).min(1, { error: 'must not be empty' }).meta({ docType: 'host' });
const path = z.string({ error: 'must be a path' }).regex(/^\//, { error: 'must start with "/"' }).meta({ docType: 'path' });

const httpUrl = z.string({ error: 'must be an http(s) URL' }).refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
    } catch {
      return false;
    }
  },
  { error: 'must be an http(s) URL' },
).meta({ docType: 'http(s) URL' });

const redisUrl = z.string({ error: 'must be a redis:// or rediss:// URL' }).regex(/^rediss?:\/\//, {
  error: 'must be a redis:// or rediss:// URL',
}).refine(
  // The store percent-decodes the user and password: a malformed escape would end the process at start.
  (s) => {
    try {
      const u = new URL(s);
      decodeURIComponent(u.username);
      decodeURIComponent(u.password);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'must be a valid URL (a "%" in the password is written %25)' },
).meta({ docType: 'redis:// or rediss:// URL' });

/** Proxies in front whose forwarding headers are believed (Express's and fastify's `trustProxy`). */
const trustProxy = z
  .union([bool(), int(0, 1000, 'a hop count'), z.string(), z.array(z.string())], {
    error: 'must be true, false, a hop count, or IP addresses/CIDRs (a list or a comma-separated string)',
  })
  .superRefine((v, ctx) => {
    if (typeof v !== 'string' && !Array.isArray(v)) return;
    const list = (typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter((s) => s !== '');
    try {
      if (list.length > 0) proxyAddr.compile(list);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `must list IP addresses or CIDRs: ${err instanceof Error ? err.message : String(err)}` });
    }
  })
  .meta({ docType: '`false` \\| `true` \\| hop count \\| IPs/CIDRs' });

const name = z
  .string({ error: 'must be a name' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'must be letters, digits, ".", "_" or "-"' })
  .meta({ docType: 'name: letters, digits, `.`, `_`, `-`' });

/**
 * `endpoints[].models`: a list of ids (`"*"`: any), or a map from the id clients use to the endpoint's own
 * id. Checked by hand rather than as a zod union, so each error names the entry it is about.
 */
function endpointModels(v: unknown, issues: z.core.$ZodRawIssue[]): string[] | Record<string, string> {
  const bad = (message: string, path: PropertyKey[] = []): void => void issues.push({ code: 'custom', message, path, input: v });
  if (v === undefined) return ['*'];
  if (Array.isArray(v)) {
    if (v.length === 0) bad('must list at least one model');
    v.forEach((m, i) => {
      if (typeof m !== 'string' || m === '') bad('must be a model name', [i]);
    });
    return v as string[];
  }
  if (typeof v !== 'object' || v === null) {
    bad('must be a list of model names, or a map from the model id clients use to the endpoint\'s own id');
    return [];
  }
  const out: Record<string, string> = {};
  const entries = Object.entries(v);
  if (entries.length === 0) bad('must name at least one model');
  for (const [client, own] of entries) {
    if (client === '*') bad('"*" cannot be renamed: list it instead (models: ["*"])', [client]);
    else if (typeof own !== 'string' || own === '') bad("must be the endpoint's own id for this model (a string)", [client]);
    else out[client] = own;
  }
  return out;
}
/** TLS toward an https endpoint: PEM files, read at start (`registry/endpoint-tls.ts`). */
const filePath = z.string({ error: 'must be a file path' }).min(1, { error: 'must be a file path' }).meta({ docType: 'file path (PEM)' });
const endpointTlsSchema = z
  .strictObject({
    /** CA certificates trusted in addition to Node's bundled roots (a private CA). */
    ca: filePath.optional(),
    /** Client certificate (chain) and its key, for mutual TLS: both or neither. */
    cert: filePath.optional(),
    key: filePath.optional(),
    /** SNI and the name the endpoint's certificate must carry; default the URL's host. */
    servername: z.string().min(1).optional().meta({ docDefault: "the URL's host" }),
    rejectUnauthorized: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .refine((t) => (t.cert === undefined) === (t.key === undefined), { error: 'cert and key go together (mutual TLS needs both)' });
/** TLS toward clients (`listen.tls`): PEM files, re-readable while running (`proxy/listener-tls.ts`). */
const listenTlsSchema = z.strictObject({
  /** The server certificate (leaf first, then its intermediates) and its private key. */
  cert: filePath,
  key: filePath,
  /** CA certificates that client certificates must chain to: set, every client must present one (mutual TLS). */
  ca: filePath.optional(),
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3'], { error: 'must be "TLSv1.2" or "TLSv1.3"' }).default('TLSv1.2'),
});
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'must be an HTTP header name (a token)' }).meta({ docType: 'header name' });
/** Where a refreshed credential goes: `<header>: <scheme> <token>` (no scheme: the bare token). */
const credentialTarget = {
  header: headerName.default('authorization'),
  scheme: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]*$/, { error: 'must be an auth scheme word such as "Bearer", or ""' }).default('Bearer'),
};
/** A credential that changes while the gateway runs (see src/credentials/). */
const credentialsSchema = z.union(
  [
    z.strictObject({
      file: z.strictObject({ path: z.string().min(1), ...credentialTarget, pollInterval: positiveDuration(1000) }),
    }),
    z.strictObject({
      command: z.strictObject({
        argv: z.array(z.string().min(1), { error: 'must be a list: the program, then its arguments (no shell)' }).min(1),
        ...credentialTarget,
        /** Refresh this long before the token's stated expiry. */
        refreshBefore: duration(5 * 60_000),
        /** How long a token without a stated expiry (plain-text output) is used. */
        lifetime: positiveDuration(15 * 60_000),
        timeout: positiveDuration(10_000),
        /** Wait between tries after a failed refresh. */
        retryInterval: positiveDuration(10_000),
      })
        // Otherwise every plain-text token would be refreshed as soon as it is read (once a second).
        .refine((c) => c.refreshBefore < c.lifetime, { error: 'refreshBefore must be shorter than lifetime', path: ['refreshBefore'] }),
    }),
    z.strictObject({
      /** AWS SigV4 with the standard credential chain (Bedrock, SageMaker). */
      aws: z.strictObject({
        region: z.string().regex(/^[a-z0-9-]+$/, { error: 'must be an AWS region such as "us-east-1"' }),
        service: z.string().regex(/^[a-z0-9-]+$/, { error: 'must be an AWS signing name such as "bedrock" or "sagemaker"' }),
      }),
    }),
  ],
  { error: 'must be { file: { path } }, { command: { argv } } or { aws: { region, service } }' },
);

const endpointSchema = z.strictObject({
  /** Stable id shown in `x-regiongate-endpoint`; defaults to `<region>-<index>`. */
  id: name.optional().meta({ docDefault: '`<region>-<index>`' }),
  url: httpUrl,
  weight: int(1, 1_000_000).default(1),
  /** A list of model ids, or a map from the id clients use to the endpoint's own id (registry/endpoint.ts). */
  models: z.unknown().transform((v, ctx) => endpointModels(v, ctx.issues)).meta({ docType: 'list of model ids, or map' }).default(['*']),
  // Header values end up on the wire: CR, LF or NUL would split or corrupt the request (header injection).
  headers: z
    .record(
      z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'must be an HTTP header name (a token)' }),
      z.string({ error: 'must be a string' }).refine((v) => !/[\r\n\0]/.test(v), { error: 'must not contain CR, LF or NUL' }),
    )
    .default({}),
  /** Upstream connections kept per endpoint (0 = unlimited). */
  connections: int(0, 100_000).default(0),
  tls: endpointTlsSchema.optional(),
  /** A token re-read from a file or a command, refreshed off the request path. */
  credentials: credentialsSchema.optional(),
  /** Scrape the model server's own load metrics (queue, running, KV use) and route on them. */
  loadSignals: z
    .strictObject({
      engine: z.enum(['vllm', 'sglang', 'tgi', 'trtllm'], { error: 'must be "vllm", "sglang", "tgi" or "trtllm"' }),
      path: path.default('/metrics'),
      interval: positiveDuration(500),
    })
    .optional(),
});

const regionSchema = z.strictObject({
  name,
  provider: z.string().min(1).default('unknown'),
  priority: int(0, 1000).default(0),
  endpoints: z.array(endpointSchema, { error: 'must be a list of endpoints' }).min(1, {
    error: 'must list at least one endpoint',
  }),
});

/** `"HH:MM"` (UTC) as minutes after midnight; `"24:00"` is the end of the day. */
const clockTime = z
  .string({ error: 'must be a UTC time "HH:MM"' })
  .regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, { error: 'must be a UTC time "HH:MM" (00:00 to 24:00)' })
  .transform((v) => Number(v.slice(0, 2)) * 60 + Number(v.slice(3)));

/** One drill the fleet runs by itself (`drills.schedule[]`); see docs/drills.md. */
const scheduledDrillSchema = z.strictObject({
  region: name,
  /** How often: at most one run per cadence period (periods count from the Unix epoch, UTC). */
  cadence: anyDuration().refine((v) => v >= 60_000, { error: 'must be at least 1m' }),
  /** When in the UTC day a run may start; `start` after `end` wraps past midnight. Default: all day. */
  window: z.strictObject({ start: clockTime.default(0), end: clockTime.default(24 * 60) }).prefault({}),
  duration: anyDuration().refine((v) => v >= 1000 && v <= 86_400_000, { error: 'must be from 1s to 24h' }),
  /** Abort and restore above this client error rate (percent) over a short window. */
  maxErrorRate: num(0, 100).default(1),
  mode: z.enum(['drain', 'fault']).default('drain'),
  /** Fault mode: which fault, on what share of attempts, and (`slow`) how late. */
  fault: z.enum(['error', 'hang', 'slow']).optional(),
  percent: num(0, 100).optional(),
  delay: optionalDuration(),
});

export const configSchema = z
  .strictObject({
    /** This gateway's id in the fleet; defaults to host name and pid. */
    gatewayId: z.string().min(1).optional().meta({ docDefault: 'host name and pid' }),
    /** Reload when the config file changes (as on SIGHUP); also `--watch-config`. See docs/reload.md. */
    watch: bool().default(false),
    listen: z
      .strictObject({
        host: host.default('0.0.0.0'),
        port: port.default(8080),
        /** Accept queue length: raise it (with net.core.somaxconn) for bursts of thousands of new connections. */
        backlog: int(1, 65535).default(511),
        healthzPath: path.default('/healthz'),
        readyzPath: path.default('/readyz'),
        /** Whose `X-Forwarded-*`, `Forwarded` and client-IP headers are believed; default nobody's. */
        trustProxy: trustProxy.default(false),
        /** Serve HTTPS with these files instead of plain HTTP (deployments without a TLS load balancer). */
        tls: listenTlsSchema.optional(),
        /** With `tls`: offer HTTP/2 by ALPN beside HTTP/1.1 (WebSocket upgrades stay on HTTP/1.1). */
        http2: bool().default(false),
      })
      .refine((l) => !l.http2 || l.tls !== undefined, { error: 'needs listen.tls: clients speak HTTP/2 over TLS only', path: ['http2'] })
      .prefault({}),
    admin: z
      .strictObject({
        host: host.default('127.0.0.1'),
        /** 0 binds an ephemeral port; `enabled: false` turns the admin listener off. */
        port: port.default(9090),
        enabled: bool().default(true),
        /** Refused when it looks like a placeholder or is short (see `credential-rules.ts`). */
        token: z
          .string()
          .superRefine((v, ctx) => {
            const problem = adminTokenProblem(v);
            if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
          })
          .optional(),
        /** `Host` names the admin API answers besides loopback names, IP literals and `admin.host` (DNS rebinding). */
        allowedHosts: z.array(host).default([]),
      })
      .prefault({}),
    state: z
      .strictObject({
        store: z.enum(['memory', 'redis'], { error: 'must be "memory" or "redis"' }).default('memory'),
        redis: z
          .strictObject({
            url: redisUrl.default('redis://127.0.0.1:6379'),
            keyPrefix: z.string().default('regiongate:'),
            sentinels: z.array(z.strictObject({ host, port })).optional(),
            sentinelName: z.string().optional(),
            /** Sentinels' own password (their `requirepass`), apart from the master's in the URL. */
            sentinelPassword: z.string().optional(),
            cluster: z.array(z.strictObject({ host, port })).optional(),
            commandTimeout: positiveDuration(250),
            connectTimeout: positiveDuration(1000),
            /** Each gateway checks its subscriber with a heartbeat through Redis... */
            heartbeatInterval: positiveDuration(1000),
            /** ...and reconnects it when one is missing this long (a half-open connection). */
            heartbeatTimeout: positiveDuration(3000),
            /** Start-up waits at most this for Redis, then carries on degraded. */
            startTimeout: duration(2000),
            /** Publishes in flight at most; beyond, events are dropped (counted), never queued. */
            maxInFlight: int(1, 1_000_000).default(1024),
            maxReconnectDelay: positiveDuration(2000),
          })
          .prefault({}),
        /** The fleet snapshot is rewritten and reread on this fixed interval (constant work). */
        refreshInterval: positiveDuration(2000),
        /** Each gateway publishes its traffic summary for `GET /admin/fleet` on this fixed interval. */
        summaryInterval: positiveDuration(1000),
        /** Signs every fleet message (HMAC-SHA256); without it the fleet trusts every writer of the store. */
        secret: z
          .string({ error: 'must be a string' })
          .min(MIN_SECRET_LENGTH, { error: `must be at least ${MIN_SECRET_LENGTH} characters` })
          .optional(),
        trust: z
          .strictObject({
            /** One gateway's unconfirmed reports may impair at most this share of all endpoints. */
            maxEjectShare: num(0, 1).default(0.5),
            /** A remote expiry is never believed further ahead than this; refreshes renew it. */
            maxRemoteTtl: positiveDuration(60_000),
            /** A gateway ejecting more than this share of endpoints by itself stops publishing ejections. */
            egressThreshold: num(0, 1).default(0.5),
          })
          .prefault({}),
      })
      .prefault({}),
    health: z
      .strictObject({
        /** Active probes on (passive detection works without them). */
        probes: bool().default(true),
        interval: duration(1000).refine((v) => v >= 100, { error: 'must be at least 100ms' }).meta({ docType: 'duration ≥ 100ms' }),
        timeout: positiveDuration(500),
        path: path.default('/health'),
        jitter: num(0, 1).default(0.1),
        healthyThreshold: int(1, 100).default(2),
        unhealthyThreshold: int(1, 100).default(2),
        expectedStatus: z.array(int(100, 599)).default([200]),
        outlier: z
          .strictObject({
            consecutive5xx: int(1, 1000).default(5),
            consecutiveGatewayFailure: int(1, 1000).default(3),
            consecutiveLocalOriginFailures: int(1, 1000).default(2),
            consecutiveConnectRefused: int(1, 1000).default(1),
            failurePercentageThreshold: num(0, 100).default(0),
            failurePercentageRequestVolume: int(1, 1_000_000).default(20),
            failurePercentageWindow: positiveDuration(10_000),
            baseEjectionTime: positiveDuration(2000),
            maxEjectionTime: positiveDuration(60_000),
            ejectionJitter: num(0, 1).default(0.2),
            backoffDecay: positiveDuration(30_000),
            /** Most endpoints (percent) outlier detection ejects at once; at least one (Envoy's max_ejection_percent). */
            maxEjectionPercent: num(0, 100).default(50),
          })
          .prefault({}),
        probation: z
          .strictObject({
            window: duration(10_000),
            minWeight: num(0, 1).default(0.1),
            maxConcurrent: int(1, 100_000).default(4),
          })
          .prefault({}),
        breaker: z
          .strictObject({
            volumeThreshold: int(1, 1_000_000).default(20),
            errorThresholdPercentage: num(1, 100).default(50),
            resetTimeout: positiveDuration(10_000),
            window: positiveDuration(10_000),
            buckets: int(1, 1000).default(10),
          })
          .prefault({}),
        latency: z
          .strictObject({
            decay: positiveDuration(10_000),
            /** Estimate for an endpoint without samples: "median" of the measured ones, or a duration. */
            initial: z
              .union([z.literal('median'), z.number(), z.string()])
              .transform((v, ctx) => {
                if (v === 'median') return v;
                const ms = parseDuration(v);
                if (ms === undefined) {
                  ctx.addIssue({ code: 'custom', message: `must be "median" or a duration` });
                  return z.NEVER;
                }
                return ms;
              })
              .meta({ docType: '`median` or duration' })
              .default('median'),
          })
          .prefault({}),
        rateLimit: z
          .strictObject({
            /** Clamp on how long a 429's Retry-After keeps an endpoint skipped. */
            min: duration(1000),
            max: duration(30_000),
            /** 429s in a row on the gateway's own credentials before the endpoint is skipped. */
            consecutive: int(1, 1000).default(2),
          })
          .prefault({}),
      })
      .prefault({}),
    timeouts: z
      .strictObject({
        /** Longest wait for a free connection to an endpoint whose `connections` are all busy (then another endpoint is tried). */
        queue: positiveDuration(5000),
        /** Upstream TCP/TLS connect. */
        connect: positiveDuration(2000),
        /**
         * From request sent to the upstream's response headers, for every request, streamed or not.
         * Unset: `firstByteStream` for streamed requests, `firstByteUnary` for the others.
         */
        firstByte: optionalDuration(),
        /** First-byte limit of a streamed request (`"stream": true`): the headers come with the first token. */
        firstByteStream: duration(30_000),
        /** First-byte limit of a non-streamed request: the headers come when the whole generation is done. */
        firstByteUnary: duration(180_000),
        /** Longest silence between upstream body chunks. */
        idle: duration(30_000),
        /** Total deadline of one client request, all attempts included. */
        request: positiveDuration(300_000),
        /** A client must send its headers within this (408 after). */
        clientHeaders: positiveDuration(10_000),
        /** A client must send its whole request (headers and body) within this (408 after). */
        clientRequest: positiveDuration(60_000),
        /** Idle keep-alive sockets to clients; above a typical load balancer's 60 s. */
        keepAlive: positiveDuration(65_000),
        /** On SIGTERM, how long in-flight requests and streams may take to finish. */
        drain: duration(30_000),
        /** On SIGTERM, how long readiness fails while the gateway still accepts, before the listener closes. */
        drainDelay: duration(0),
      })
      .prefault({}),
    limits: z
      .strictObject({
        // 0 would refuse every body with a 413 (and reads as "unlimited" next to `connections: 0`): refused.
        bodyBytes: int(1, 1 << 30).default(10 * 1024 * 1024),
        /** Request bytes held for replay by all requests together; beyond, 503 RG_ERR_BUFFER_FULL with Retry-After. */
        bufferedBytes: int(1024, 2 ** 40).default(128 * 1024 * 1024),
        headerBytes: int(1024, 1 << 20).default(16 * 1024),
      })
      .prefault({}),
    retry: z
      .strictObject({
        /** Total attempts per request, the first included. */
        attempts: int(1, 10).default(3),
        /** Upstream answers retried on another endpoint (before any byte reaches the client). */
        statuses: z.array(int(400, 599)).default([429, 502, 503, 504]),
        /** Replay every request the endpoint may have seen, whatever its method and path. */
        nonIdempotent: bool().default(false),
        /** Paths whose requests are replayable whatever the method (side-effect-free inference calls). */
        replayablePaths: z.array(path).default([...DEFAULT_REPLAYABLE_PATHS]),
        budget: z
          .strictObject({
            /** Retries may add at most this percentage of requests over `ttl`... */
            percent: num(0, 100).default(20),
            ttl: positiveDuration(10_000),
            /** ...plus this floor, so a burst caught by one region's death all get their retry. */
            minRetriesPerSec: num(0, 1e6).default(10),
          })
          .prefault({}),
        hedge: z
          .strictObject({
            /** Start a second attempt in another region if no first byte arrived by then; unset = off. */
            after: duration(0).optional(),
            maxHedges: int(1, 3).default(1),
          })
          .prefault({}),
      })
      .prefault({}),
    routing: z
      .strictObject({
        /** Envoy's overprovisioning factor: a tier keeps all traffic until its health × this falls below 100%. */
        overprovisioningFactor: num(1, 10).default(1.4),
        /** Ignore health in a tier whose healthy share falls below this (0 = off). */
        panicThreshold: num(0, 1).default(0),
        /** Latency scores within this ratio count as equal in power-of-two-choices (weights decide). */
        scoreTolerance: num(0, 10).default(0.2),
        /** What `"*"` endpoints serve, learned from their own `GET /v1/models` off the request path. */
        modelDiscovery: z
          .strictObject({
            /** Time between two fetches of each list; 0 = off (a `"*"` endpoint may then serve any model). */
            interval: duration(30_000),
            timeout: positiveDuration(5000),
            maxBytes: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
          })
          .prefault({}),
        /** How endpoints' load signals (`regions[].endpoints[].loadSignals`) are read and scored. */
        loadSignals: z
          .strictObject({
            /** Signals older than this are stale: the endpoint is scored on latency only. */
            staleAfter: positiveDuration(2000),
            /** Saturated (out of first picks) at this many waiting requests (predicted: see load/load-prediction.ts)... */
            queueSaturation: int(1, 1_000_000).default(5),
            /** ...or at this KV cache use. */
            kvSaturation: num(0, 1).default(0.8),
            /** Score multipliers: latency × (1 + queueWeight·waiting + kvWeight·kv + runningWeight·running), on the predicted state. */
            queueWeight: num(0, 1000).default(2),
            // 0: KV use acts through saturation only, so a server with KV room scores its latency (the
            // order at steady state is latency-only's); a weight makes fuller KV lose ties.
            kvWeight: num(0, 1000).default(0),
            runningWeight: num(0, 1000).default(0),
            timeout: positiveDuration(1000),
            maxBytes: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
          })
          .prefault({}),
        /** Data residency: requests for matching models may go only to these regions. */
        rules: z
          .array(z.strictObject({ model: z.string().min(1).optional(), regions: z.array(name).min(1) }))
          .default([]),
      })
      .prefault({}),
    telemetry: z
      .strictObject({
        /** OpenTelemetry spans per request and attempt, recorded by the SDK the process registers. */
        tracing: bool().default(false),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
        /** One JSON line per proxied request on stderr, at any level but `silent`. */
        access: bool().default(true),
      })
      .prefault({}),
    /** Drills the fleet runs by itself: exactly one gateway runs each (claimed in the store). */
    drills: z
      .strictObject({
        schedule: z.array(scheduledDrillSchema).max(100).default([]),
        /** Budget: most scheduled drills the fleet starts per UTC day, all entries together. */
        maxPerDay: int(0, 1000).default(4),
        /** How often each gateway looks at the schedule (jittered). */
        checkInterval: positiveDuration(30_000),
      })
      .prefault({}),
    regions: z.array(regionSchema, { error: 'must be a list of regions' }).min(1, {
      error: 'must list at least one region',
    }),
  })
  .superRefine((cfg, ctx) => {
    const regionNames = new Set<string>();
    const endpointIds = new Set<string>();
    cfg.regions.forEach((r, ri) => {
      if (regionNames.has(r.name))
        ctx.addIssue({ code: 'custom', path: ['regions', ri, 'name'], message: `duplicate region name "${r.name}"` });
      regionNames.add(r.name);
      r.endpoints.forEach((e, ei) => {
        const id = e.id ?? `${r.name}-${ei}`;
        if (endpointIds.has(id))
          ctx.addIssue({ code: 'custom', path: ['regions', ri, 'endpoints', ei, 'id'], message: `duplicate endpoint id "${id}"` });
        endpointIds.add(id);
        if (e.tls !== undefined && !/^https:/i.test(e.url))
          ctx.addIssue({ code: 'custom', path: ['regions', ri, 'endpoints', ei, 'tls'], message: 'applies to https URLs only (the url is not https)' });
      });
    });
    // Node refuses a server whose header limit exceeds its request limit (ERR_OUT_OF_RANGE at start-up).
    if (cfg.timeouts.clientHeaders > cfg.timeouts.clientRequest)
      ctx.addIssue({ code: 'custom', path: ['timeouts', 'clientHeaders'], message: 'must not be longer than timeouts.clientRequest' });
    cfg.routing.rules.forEach((rule, i) =>
      rule.regions.forEach((r, j) => {
        if (!regionNames.has(r))
          ctx.addIssue({ code: 'custom', path: ['routing', 'rules', i, 'regions', j], message: `unknown region "${r}"` });
      }),
    );
    cfg.drills.schedule.forEach((d, i) => {
      const at = (key: string): (string | number)[] => ['drills', 'schedule', i, key];
      if (!regionNames.has(d.region)) ctx.addIssue({ code: 'custom', path: at('region'), message: `unknown region "${d.region}"` });
      if (d.mode === 'fault') {
        if (d.fault === undefined) ctx.addIssue({ code: 'custom', path: at('fault'), message: 'is required with mode: fault (error, hang or slow)' });
        if (d.percent === undefined) ctx.addIssue({ code: 'custom', path: at('percent'), message: 'is required with mode: fault (0 to 100)' });
        if (d.delay !== undefined && d.fault !== 'slow') ctx.addIssue({ code: 'custom', path: at('delay'), message: 'applies to fault: slow only' });
      } else
        for (const k of ['fault', 'percent', 'delay'] as const)
          if (d[k] !== undefined) ctx.addIssue({ code: 'custom', path: at(k), message: 'applies to mode: fault only' });
      if (d.duration >= d.cadence) ctx.addIssue({ code: 'custom', path: at('duration'), message: 'must be shorter than the cadence' });
    });
    if (cfg.drills.schedule.length > 0 && !cfg.admin.enabled)
      ctx.addIssue({ code: 'custom', path: ['drills', 'schedule'], message: 'needs admin.enabled: a scheduled drill runs through the gateway\'s own admin API' });
    const tokenless = tokenlessAdminProblem(cfg.admin);
    if (tokenless !== undefined) ctx.addIssue({ code: 'custom', path: ['admin', 'token'], message: tokenless });
    if (cfg.state.store === 'redis' && cfg.state.redis.sentinels && !cfg.state.redis.sentinelName)
      ctx.addIssue({ code: 'custom', path: ['state', 'redis', 'sentinelName'], message: 'is required with sentinels' });
  });

/** The input a config file may contain (before defaults). */
export type GatewayConfigInput = z.input<typeof configSchema>;
/** The resolved, validated configuration (deep-frozen by `loadConfig`). */
export type GatewayConfig = z.output<typeof configSchema>;
export type RegionConfig = GatewayConfig['regions'][number];
export type EndpointConfig = RegionConfig['endpoints'][number];
export type EndpointTlsConfig = NonNullable<EndpointConfig['tls']>;
export type ListenTlsConfig = NonNullable<GatewayConfig['listen']['tls']>;
export type CredentialsConfig = NonNullable<EndpointConfig['credentials']>;
