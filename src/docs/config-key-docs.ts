/**
 * What each config key means, by key path, for docs/configuration.md (`npm run docs`). The type, default
 * and rule of each key come from the schema itself (src/config/schema.ts); only the prose lives here.
 * A key may instead carry its meaning in the schema with `.describe('...')`; an entry here wins.
 * test/docs.test.ts fails when a schema key has neither, or an entry here names no key.
 * Paths: `a.b` for nested keys, `[]` for list items (`regions[].endpoints[].url`).
 */
export const CONFIG_KEY_DOCS: Readonly<Record<string, string>> = {
  'gatewayId':
    'This gateway\'s id in the fleet (in its fleet events and in `/admin/state`). Must be unique per instance.',
  'watch':
    'Reload when the config file changes, as on SIGHUP or `POST /admin/reload` (also `--watch-config`); see [reload](reload.md).',
  'listen.host':
    'Interface of the gateway listener.',
  'listen.port':
    'Port of the gateway listener (0 = any free port).',
  'listen.backlog':
    'Accept queue length of the main listener; raise it (with the kernel\'s `net.core.somaxconn`) where thousands of connections open at once.',
  'listen.healthzPath':
    'Liveness path (see [Health and drain](operations.md#health-endpoints-and-graceful-drain)).',
  'listen.readyzPath':
    'Readiness path.',
  'listen.trustProxy':
    'Which proxies in front of the gateway are believed about the client (as Express\'s and fastify\'s `trustProxy`): `false` nobody; `true` every hop; a number, that many hops from the gateway; a list (or comma-separated string) of addresses and CIDRs, or `loopback`, `linklocal`, `uniquelocal`. See [Headers, paths and methods at the edge](routing.md#headers-paths-and-methods-at-the-edge).',
  'listen.tls.cert':
    'Set `listen.tls` to serve HTTPS: the server certificate, leaf first, then intermediates. Re-read on reload; see [TLS](tls.md).',
  'listen.tls.key':
    'Its private key (unencrypted PEM).',
  'listen.tls.ca':
    'Clients must present a certificate that chains to these CAs (mutual TLS toward clients).',
  'listen.tls.minVersion':
    'Oldest TLS version a client may use.',
  'listen.http2':
    'With `listen.tls`: offer HTTP/2 (ALPN `h2`) beside HTTP/1.1 on the same port; WebSocket upgrades stay on HTTP/1.1.',
  'admin.host':
    'Interface of the admin API. Keep it off the public network.',
  'admin.port':
    'Port of the admin API (0 = any free port).',
  'admin.enabled':
    '`false` turns the admin listener off.',
  'admin.token':
    'Bearer token required by the admin API (except `/metrics`, `/healthz` and the dashboard page). At least 16 characters; a known placeholder (`change-me`, `sk-example`, `secret`, `password`, `<TOKEN>`, `xxxx`, ...) is a config error. Required when `admin.host` is not a loopback address (the gateway refuses to start otherwise); without it a loopback admin API is open to local clients. Masked by `check-config`.',
  'admin.allowedHosts':
    '`Host` names the admin API answers besides loopback names (`localhost`, `127.x`, `::1`), IP addresses and `admin.host`, e.g. the DNS name Prometheus or operators use for it. Any other `Host` gets `403` (DNS rebinding).',
  'state.store':
    'Where health is shared. `memory`: this process only (or the workers of one `--workers N` gateway). `redis`: every gateway using the same Redis and `keyPrefix` (see [Running a fleet](fleet.md)).',
  'state.refreshInterval':
    'Every gateway rewrites its active events into the shared snapshot and reads the others\' on this fixed interval. Heals lost messages and lets a newcomer start with the fleet\'s state.',
  'state.summaryInterval':
    'Every gateway publishes a summary of its own traffic (for [`GET /admin/fleet`](operations.md#the-fleet-view)) through the store on this fixed interval; a summary lives three intervals.',
  'state.secret':
    'Signs every fleet message and snapshot entry (HMAC-SHA256); anything without a valid signature is dropped and counted. Give every gateway of the fleet the same one, from the environment (`secret: ${REGIONGATE_FLEET_SECRET}`). Without it a Redis fleet trusts every writer of Redis and says so (a `fleet.unsigned` warning at start, `/admin/state`, the dashboard). Masked by `check-config`.',
  'state.redis.url':
    'Redis to share state through. With Sentinel or Cluster, the URL still gives the user, password, database and TLS. A password in the URL is masked by `check-config`.',
  'state.redis.keyPrefix':
    'Prefix of the Redis keys and channels (`snapshot`, `events`, `heartbeat:<gatewayId>`, `fleet`, `drills`). Fleets with different prefixes do not see each other.',
  'state.redis.sentinels':
    'Redis Sentinel nodes; the master is found through them (the URL\'s host is not used).',
  'state.redis.sentinelName':
    'Sentinel master name. Required with `sentinels` when `state.store` is `redis`.',
  'state.redis.sentinelPassword':
    'The sentinels\' own password (their `requirepass`). The master\'s password goes in `url` (`redis://:PASSWORD@ignored`). Masked by `check-config`.',
  'state.redis.cluster':
    'Redis Cluster seed nodes (takes precedence over `sentinels` and the URL\'s host).',
  'state.redis.commandTimeout':
    'Longest wait for one Redis command.',
  'state.redis.connectTimeout':
    'Longest wait for a connection to Redis.',
  'state.redis.heartbeatInterval':
    'Each gateway publishes a heartbeat to itself through Redis at this interval, to detect a half-open subscriber connection.',
  'state.redis.heartbeatTimeout':
    'When its own heartbeat has not come back for this long, the subscriber is reconnected (and a stalled publisher too).',
  'state.redis.startTimeout':
    'Start-up waits at most this long for Redis, then carries on degraded and keeps reconnecting. `0` = do not wait.',
  'state.redis.maxInFlight':
    'Redis commands awaiting a reply above which new events are dropped (and counted), never queued.',
  'state.redis.maxReconnectDelay':
    'Cap of the jittered exponential reconnect back-off.',
  'state.trust.maxEjectShare':
    'One gateway\'s reports that no other gateway confirms may take out at most this share of all endpoints.',
  'state.trust.maxRemoteTtl':
    'Another gateway\'s report (an ejection, breaker or rate limit) is never believed further ahead than this, whatever lifetime it carries; refreshes renew it. Operator drains and drills are not capped by it.',
  'state.trust.egressThreshold':
    'A gateway that ejects more than this share of endpoints by itself assumes its own network is broken and stops publishing ejections (it still ejects locally).',
  'health.probes':
    'Active probes on. Passive detection works without them.',
  'health.interval':
    'Time between the end of one probe and the start of the next, per endpoint.',
  'health.timeout':
    'A probe not answered within this fails and is aborted.',
  'health.path':
    'Probe path on each endpoint, appended to its URL (vLLM serves `GET /health`). The endpoint\'s `headers` are sent with it.',
  'health.jitter':
    'Random spread of probe times, as a share of the interval.',
  'health.healthyThreshold':
    'Consecutive successful probes that release a probe-failed endpoint (into probation).',
  'health.unhealthyThreshold':
    'Consecutive failed probes that eject an endpoint (`probe_failed`).',
  'health.expectedStatus':
    'Probe answers counted as success.',
  'health.outlier.consecutive5xx':
    'Consecutive 5xx answers of any kind (500 included) that eject.',
  'health.outlier.consecutiveGatewayFailure':
    'Consecutive 502/503/504 answers that eject (Envoy\'s gateway failures).',
  'health.outlier.consecutiveLocalOriginFailures':
    'Consecutive local-origin failures (reset, connect, first-byte or idle timeout) that eject.',
  'health.outlier.consecutiveConnectRefused':
    'Consecutive local-origin failures that eject when the latest one is a refused connection.',
  'health.outlier.failurePercentageThreshold':
    'Failure percentage over the sliding window that ejects.',
  'health.outlier.failurePercentageRequestVolume':
    'Attempts the window must hold before the failure percentage is judged.',
  'health.outlier.failurePercentageWindow':
    'Length of that sliding window (10 buckets).',
  'health.outlier.baseEjectionTime':
    'Length of the first ejection; the n-th lasts n × this.',
  'health.outlier.maxEjectionTime':
    'Cap on one ejection.',
  'health.outlier.ejectionJitter':
    'Each ejection is shortened by a random share up to this.',
  'health.outlier.backoffDecay':
    'Each full period of this spent healthy forgets one earlier ejection.',
  'health.probation.window':
    'Time to ramp from `minWeight` to full weight after an ejection; then the endpoint is healthy. `0` = full weight at once.',
  'health.probation.minWeight':
    'Weight factor at the start of probation.',
  'health.probation.maxConcurrent':
    'Most attempts in flight to an endpoint in probation.',
  'health.breaker.volumeThreshold':
    'Attempts the breaker\'s window must hold before it may open.',
  'health.breaker.errorThresholdPercentage':
    'Failure percentage above which the breaker opens.',
  'health.breaker.resetTimeout':
    'How long an open breaker stays open before a trial (half-open, probation).',
  'health.breaker.window':
    'The breaker\'s rolling window.',
  'health.breaker.buckets':
    'Buckets in that window.',
  'health.latency.decay':
    'Time constant of the peak-EWMA latency estimate.',
  'health.latency.initial':
    'Estimate for an endpoint without samples: the median of the measured endpoints, or a fixed value.',
  'health.outlier.maxEjectionPercent':
    'Most endpoints, in percent of all, that outlier detection holds ejected at once; at least one may always be ejected. Ejections over the cap are withheld and counted.',
  'health.rateLimit.min':
    'Shortest skip after a 429 (also when `Retry-After` is missing or smaller).',
  'health.rateLimit.max':
    'Longest skip after a 429, whatever `Retry-After` says.',
  'health.rateLimit.consecutive':
    '429s in a row on the gateway\'s own credentials (endpoint `headers` with `authorization`, `api-key` or `x-api-key`) before the endpoint is skipped. 429s on a client\'s own key never skip it.',
  'timeouts.queue':
    'Longest wait for a free connection to an endpoint whose `connections` are all busy. Past it the request goes to another endpoint (it never left the gateway), or gets `503 RG_ERR_QUEUE_TIMEOUT`. Never counted against the endpoint.',
  'timeouts.connect':
    'Connecting to an endpoint (TCP and TLS). Past it, the attempt fails and is retried elsewhere.',
  'timeouts.firstByte':
    'From sending the request until the upstream\'s response headers, for every request, streamed or not. Unset: `firstByteStream` or `firstByteUnary` by the kind of request. `0` = no limit (`timeouts.request` still bounds the request).',
  'timeouts.firstByteStream':
    'First-byte limit of a streamed request (`"stream": true` in the body), when `firstByte` is unset.',
  'timeouts.firstByteUnary':
    'First-byte limit of a non-streamed request, when `firstByte` is unset: its headers come only when the whole answer is generated.',
  'timeouts.idle':
    'Longest silence between two upstream body chunks. Past it, a committed response is cut. `0` = no limit (`timeouts.request` still bounds the request).',
  'timeouts.request':
    'Deadline of one client request, all attempts and the whole answer included: `504` before the answer\'s headers, and a cut connection after them, so a stream longer than this is cut too. Set it above your longest stream.',
  'timeouts.clientHeaders':
    'A client must send its request headers within this (`408` after). At most `timeouts.clientRequest`.',
  'timeouts.clientRequest':
    'A client must send its whole request within this (`408` after).',
  'timeouts.keepAlive':
    'Idle keep-alive time of client connections. Keep it above the load balancer\'s idle timeout.',
  'timeouts.drain':
    'On SIGTERM/SIGINT, how long the drain waits for in-flight requests, streams, WebSocket tunnels and idle keep-alive connections to end; whatever is still open then is cut. `0` cuts them at once.',
  'timeouts.drainDelay':
    'On SIGTERM/SIGINT, how long `/readyz` fails while the gateway still accepts and serves, before the listener closes. With active health checks on `/readyz`, set it above what the load balancer needs to notice (check interval × unhealthy threshold, with margin); with passive checks only (nginx), leave it at 0. See [Behind a load balancer](operations.md#behind-a-load-balancer).',
  'limits.bodyBytes':
    'Largest request body (`413` above). Bodies are buffered for replay.',
  'limits.bufferedBytes':
    'Request bytes all requests together may hold for replay. A request that would pass it gets `503 RG_ERR_BUFFER_FULL` with `retry-after: 1` (before its body is read when `Content-Length` says so). A body is given back at commit, when no retry can follow.',
  'limits.headerBytes':
    'Largest request header block (`431` above).',
  'retry.attempts':
    'Most attempts per request, the first and any hedges included.',
  'retry.statuses':
    'Upstream statuses retried on another endpoint, before any byte reaches the client.',
  'retry.nonIdempotent':
    'Replay every request after failures the endpoint may have seen (a reset, a first-byte timeout, a listed status), whatever its method and path. Off: only idempotent methods, requests with an `Idempotency-Key`, and `replayablePaths`. Failures before the request left the gateway are always retried.',
  'retry.replayablePaths':
    'Paths (exact, without query) whose requests are replayable whatever the method: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, `/v1/responses`. Retries and hedges both follow it.',
  'retry.budget.percent':
    'Retries (and hedges) may add at most this percentage of the requests seen over `retry.budget.ttl`.',
  'retry.budget.ttl':
    'Window of the retry budget.',
  'retry.budget.minRetriesPerSec':
    'Retries always allowed per second on top of the percentage (a reserve of 100 per 10 s), so a burst hit by one region\'s failure still fails over.',
  'retry.hedge.after':
    'Hedging: if no response headers arrived within this, start another attempt on another endpoint. The first to answer wins; the others are cancelled.',
  'retry.hedge.maxHedges':
    'Most hedge attempts per request.',
  'routing.overprovisioningFactor':
    'As in Envoy: a priority tier keeps all its traffic until its routable share × this factor falls below 100 %; the rest spills to the next tier.',
  'routing.panicThreshold':
    'When a tier\'s routable share falls below this, health is ignored in that tier (Envoy\'s panic threshold). Panic when nothing at all is routable happens regardless.',
  'routing.scoreTolerance':
    'In power of two choices, latency scores within this ratio count as equal and the weighted draw decides.',
  'routing.modelDiscovery.interval':
    'How often the gateway asks each endpoint configured with `"*"` for its own `GET /v1/models`, off the request path. What it lists is what that endpoint serves: requests for other models are not routed to it, and `GET /v1/models` lists it. A failed fetch keeps the last list for three intervals, then the endpoint may serve any model again; so does an empty list or an endpoint that never answered. `0` = off (`"*"` endpoints may serve any model, and `GET /v1/models` is forwarded while one is in scope).',
  'routing.modelDiscovery.timeout':
    'Longest wait for one endpoint\'s model list.',
  'routing.modelDiscovery.maxBytes':
    'Largest model list read; a longer one is refused (and the endpoint may serve any model).',
  'routing.loadSignals.staleAfter':
    'Load signals older than this (or never read) count as missing: the endpoint is scored on latency only and is never saturated. See [load-aware routing](load-aware.md).',
  'routing.loadSignals.queueSaturation':
    'An endpoint predicted to have this many waiting requests (its report plus this gateway\'s attempts since) is saturated: out of first picks, still a fallback.',
  'routing.loadSignals.kvSaturation':
    '...or this KV cache use.',
  'routing.loadSignals.queueWeight':
    'Score multiplier per waiting request.',
  'routing.loadSignals.kvWeight':
    'Score multiplier for KV cache use (0..1). At 0, KV acts through `kvSaturation` only, and an idle server scores exactly its latency.',
  'routing.loadSignals.runningWeight':
    'Score multiplier per running request.',
  'routing.loadSignals.timeout':
    'Longest wait for one metrics page.',
  'routing.loadSignals.maxBytes':
    'Largest metrics page read; a longer one is a failed scrape.',
  'routing.rules':
    'Data residency: requests for `model` (exact, or a glob such as `"gpt-4o*"`) may go only to `regions`. A rule without `model` applies to every request. Every matching rule applies, so a rule can only narrow where a request goes. Each region must exist.',
  'telemetry.tracing':
    'OpenTelemetry spans: one `regiongate.request` (SERVER) span per client request and one `regiongate.attempt` (CLIENT) span per upstream attempt, W3C trace context sent upstream. Recorded by the SDK the process registers.',
  'log.level':
    'Structured JSON log lines on stderr.',
  'log.access':
    'One JSON access-log line (`http.access`) per proxied request on stderr, at any `log.level` but `silent` (which writes nothing). See "Logs" under Admin API and metrics.',
  'drills.schedule':
    'Drills the fleet runs by itself, each `{ region, cadence, window: { start, end } (UTC "HH:MM"), duration, maxErrorRate, mode: drain|fault, fault, percent, delay }`; exactly one gateway runs each cadence period. Needs `admin.enabled`. See [drills](drills.md#scheduled-drills).',
  'drills.schedule[].region':
    'The region the drill takes out (drain) or injects faults into (fault).',
  'drills.schedule[].cadence':
    'How often: at most one run per cadence period (periods count from the Unix epoch, UTC); at least 1m.',
  'drills.schedule[].window.start':
    'Earliest UTC time of day ("HH:MM") a run may start; `start` after `end` wraps past midnight.',
  'drills.schedule[].window.end':
    'Latest UTC time of day ("HH:MM") a run may start.',
  'drills.schedule[].duration':
    'How long the region stays out (1s to 24h); shorter than `cadence`.',
  'drills.schedule[].maxErrorRate':
    'Abort and restore above this client error rate (percent) over a short window.',
  'drills.schedule[].mode':
    '`drain` takes the region out fleet-wide; `fault` injects `fault` into the fleet\'s attempts toward it.',
  'drills.schedule[].fault':
    'Fault mode: `error` (a 503 attempt failure), `hang` (held until the first-byte limit) or `slow` (sent `delay` late).',
  'drills.schedule[].percent':
    'Fault mode: the share of attempts toward the region that get the fault (0..100).',
  'drills.schedule[].delay':
    'Fault `slow`: how late each faulted attempt is sent.',
  'drills.maxPerDay':
    'Budget: most scheduled drills the whole fleet starts per UTC day.',
  'drills.checkInterval':
    'How often each gateway looks at the schedule (jittered).',
  'regions':
    'The regions.',
  'regions[].name':
    'Unique region name, shown in `x-regiongate-region` and matched by `x-regiongate-regions` and `routing.rules`.',
  'regions[].provider':
    'Informative: `aws`, `gcp`, `onprem`, and so on.',
  'regions[].priority':
    'Lower is preferred. A higher number takes traffic as the lower tiers lose health (see [Picking an endpoint](routing.md#picking-an-endpoint)).',
  'regions[].endpoints':
    'The region\'s endpoints.',
  'regions[].endpoints[].id':
    'Unique id, shown in `x-regiongate-endpoint` and used by the admin API (the URL never is).',
  'regions[].endpoints[].url':
    'The server root, e.g. `https://vllm.internal:8000`. The client\'s path is appended to the URL\'s path, so do not end it with `/v1`.',
  'regions[].endpoints[].weight':
    'Relative share within the priority tier.',
  'regions[].endpoints[].models':
    'Models served. `"*"` means what the endpoint lists on its own `GET /v1/models` (see `routing.modelDiscovery`), or any model while it lists none. Requests without a `model` go to any endpoint. A model no endpoint serves gets `404 model_not_found`. A map, `{ "llama-3.1-70b": "meta.llama3-1-70b-instruct-v1:0" }`, serves the keys (the ids clients use) and names each model to this endpoint by its value (see [One model, many names](routing.md#one-model-many-names)); `"*"` cannot be a key.',
  'regions[].endpoints[].headers':
    'Headers added to every upstream request and health probe, e.g. `authorization: Bearer ${VLLM_API_KEY}`. They replace a client header of the same name. Values are masked by `check-config`.',
  'regions[].endpoints[].connections':
    'Most upstream connections to the endpoint (0 = unlimited).',
  'regions[].endpoints[].tls.ca':
    'CA certificates trusted for this endpoint **in addition to** Node\'s bundled roots (a private CA). `tls` applies to `https` URLs only (a config error on `http`); see [TLS toward endpoints](#tls-toward-endpoints).',
  'regions[].endpoints[].tls.cert':
    'Client certificate (with its chain) for mutual TLS. Needs `key`.',
  'regions[].endpoints[].tls.key':
    'The client certificate\'s private key (unencrypted PEM). Needs `cert`, and must be the key of `cert`\'s first certificate.',
  'regions[].endpoints[].tls.servername':
    'Name sent as SNI and that the endpoint\'s certificate must carry, e.g. when the URL is an IP address. It wins over a configured `host` header.',
  'regions[].endpoints[].tls.rejectUnauthorized':
    '`false` accepts any server certificate (unverified; for tests only).',
  'regions[].endpoints[].credentials':
    'A credential that changes while the gateway runs, sent as `<header>: <scheme> <token>` on every request, probe and model-list fetch to this endpoint only (it replaces a client header of that name). See [Credentials that refresh](#credentials-that-refresh).',
  'regions[].endpoints[].credentials.file.path':
    'A token file re-read when its mtime, size or inode changes (a Kubernetes projected service-account token). A JWT\'s `exp` is its expiry.',
  'regions[].endpoints[].credentials.file.pollInterval':
    'How often the file is checked.',
  'regions[].endpoints[].credentials.command.argv':
    'Program and arguments, run without a shell, e.g. `[gcloud, auth, print-access-token]`. Output: kubectl\'s exec-credential JSON (`status.token`, `status.expirationTimestamp`), `az`\'s JSON (`accessToken`, `expires_on`), or a plain-text token. Arguments after the program are masked by `check-config`.',
  'regions[].endpoints[].credentials.command.refreshBefore':
    'Run the command again this long before the token expires (at least 1 s after the last run).',
  'regions[].endpoints[].credentials.command.lifetime':
    'Expiry of a token whose output states none (plain text).',
  'regions[].endpoints[].credentials.command.timeout':
    'The command is killed after this; more than 64 KiB of output is a failure too.',
  'regions[].endpoints[].credentials.command.retryInterval':
    'Wait between tries after a failed refresh.',
  'regions[].endpoints[].credentials.aws.region':
    'AWS SigV4 (Bedrock\'s OpenAI-compatible endpoint: service `bedrock`; SageMaker: `sagemaker`). Keys come from AWS\'s standard credential chain (environment, shared config and SSO, web identity, ECS/EC2 roles).',
  'regions[].endpoints[].credentials.aws.service':
    'AWS SigV4 (Bedrock\'s OpenAI-compatible endpoint: service `bedrock`; SageMaker: `sagemaker`). Keys come from AWS\'s standard credential chain (environment, shared config and SSO, web identity, ECS/EC2 roles).',
  'regions[].endpoints[].credentials.file.header':
    'The header the token goes in (e.g. `api-key` for Azure OpenAI).',
  'regions[].endpoints[].credentials.command.header':
    'The header the token goes in (e.g. `api-key` for Azure OpenAI).',
  'regions[].endpoints[].credentials.file.scheme':
    'Put before the token; `""` sends the bare token.',
  'regions[].endpoints[].credentials.command.scheme':
    'Put before the token; `""` sends the bare token.',
  'regions[].endpoints[].loadSignals.engine':
    'Set `loadSignals` to scrape the model server\'s own load metrics (these engines\' names) and route on them (see [Load signals](load-aware.md)). Without `loadSignals`: latency-only scoring.',
  'regions[].endpoints[].loadSignals.path':
    'Appended to the endpoint URL\'s path; fetched with the endpoint\'s `headers`.',
  'regions[].endpoints[].loadSignals.interval':
    'Time between the end of one scrape and the start of the next.',
};
