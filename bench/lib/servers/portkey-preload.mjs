/**
 * Preloaded (`node --import`) into the Portkey gateway: its server listens on every interface and
 * offers no host option, so every `listen(port)` without a host is bound to 127.0.0.1 here. It also
 * exits when the bench's IPC channel closes, like our own children.
 */
import net from 'node:net';

const LOOPBACK = '127.0.0.1';
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = /** @type {any} */ (
  function listenOnLoopback(/** @type {any[]} */ ...args) {
    const [first] = args;
    if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      if (typeof args[1] !== 'string') args.splice(1, args[1] === undefined ? 1 : 0, LOOPBACK);
    } else if (first && typeof first === 'object' && first.port !== undefined && !first.host && !first.path) {
      args[0] = { ...first, host: LOOPBACK };
    }
    return listen.apply(this, /** @type {any} */ (args));
  }
);

if (process.channel) process.on('disconnect', () => process.exit(0));

/*
 * Compatibility shim for streamed answers only. @portkey-ai/gateway 1.15.2 on @hono/node-server 1.19
 * fails every streamed completion with `TypeError: immutable`: hono's lightweight Response built from
 * a fetch() Response keeps that response's Headers object, which fetch made immutable, and Portkey
 * then appends its x-portkey-* headers to it. Here an event-stream answer of fetch() is re-wrapped
 * with a mutable copy of its headers around the same body stream (nothing is buffered). JSON answers
 * are left exactly as Portkey gets them.
 */
const fetchOriginal = globalThis.fetch;
const ResponseOriginal = globalThis.Response;
globalThis.fetch = async function fetchWithMutableStreamHeaders(/** @type {any} */ input, /** @type {any} */ init) {
  const res = await fetchOriginal(input, init);
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return res;
  return new ResponseOriginal(res.body, { status: res.status, statusText: res.statusText, headers: new Headers(res.headers) });
};
