/**
 * Entry of every Node child the bench starts: `node serve.mjs <kind> '<json options>'`. It starts the
 * server of that kind, prints `READY {json}` on stdout, and closes on SIGTERM (so `--cpu-prof` can
 * write its profile) or when the bench's IPC channel closes (the bench died: leave nothing behind).
 */
const KINDS = {
  'fixed-target': () => import('./fixed-target.mjs'),
  'sim-target': () => import('./sim-target.mjs'),
  'sim-regions': () => import('./sim-regions.mjs'),
  regiongate: () => import('./regiongate.mjs'),
  'node-http-proxy': () => import('./http-proxy.mjs'),
  'fastify-http-proxy': () => import('./fastify-proxy.mjs'),
  'undici-minimal': () => import('./undici-minimal.mjs'),
};

const [kind, json = '{}'] = process.argv.slice(2);
const load = KINDS[/** @type {keyof typeof KINDS} */ (kind)];
if (!load) {
  process.stderr.write(`serve.mjs: unknown kind "${kind}" (one of ${Object.keys(KINDS).join(', ')})\n`);
  process.exit(64);
}

const { start } = await load();
const server = await start(JSON.parse(json));
let closing = false;
const close = () => {
  if (closing) return;
  closing = true;
  const force = setTimeout(() => process.exit(0), 2000);
  force.unref();
  Promise.resolve(server.close()).finally(() => process.exit(0));
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
process.on('disconnect', () => process.exit(0));
process.stdout.write(`READY ${JSON.stringify({ ...server.info, pid: process.pid })}\n`);
