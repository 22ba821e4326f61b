/**
 * Fleet bench, part 1: how fast one gateway's ejection is applied by every other gateway, next to a
 * bare PUBLISH→SUBSCRIBE round trip between the same processes, in the same run (interleaved: a raw
 * message, then an ejection, per sample). Most samples eject through gateway 0's admin API (a local
 * transition through the same publish path as a detected failure); every `realEvery`-th is a real
 * detection (region a's simulator down, requests to gateway 0 until it ejects). After each sample
 * gateway 0 unejects and the bench waits for every gateway to recover. The fleet is otherwise idle.
 *
 * The origin of a sample is the moment gateway 0 emitted its `ejected` transition, stamped where the
 * fleet code publishes it (store.publish entered; the bench's own transition listener runs after the
 * fleet's, so its stamp is later). Each stage along the path on a receiver is stamped too.
 */
import { request } from 'undici';
import { adminAction, nsDiffMs, sleep, stateOf, waitFor } from './fleet-gateways.mjs';

/**
 * @typedef {object} Receiver  one other gateway in one sample (ms)
 * @property {number} ms                          origin → its ejected transition
 * @property {string} cause                       `remote`, or its own detection's cause
 * @property {number | null} toView               origin → FleetView.apply entered
 * @property {number | null} viewToApply          FleetView.apply → HealthTracker.applyRemote
 * @property {number | null} applyToTransition    applyRemote → the transition
 *
 * @typedef {object} Sample
 * @property {'operator' | 'real'} kind
 * @property {string} cause                       gateway 0's ejection cause
 * @property {number | null} listenerLagMs        gateway 0: publish entered → the bench's listener
 * @property {Receiver[]} per                     the other gateways, in order
 */

const ENDPOINT = 'a-0';
/** Size of the raw message's padding, so it is about as long as a fleet event. */
const RAW_PAD = 150;

/** The first element of `xs` from index `from` that matches. */
const firstFrom = (/** @type {any[]} */ xs, /** @type {number} */ from, /** @type {(x: any) => boolean} */ pred) => {
  for (let i = from; i < xs.length; i++) if (pred(xs[i])) return xs[i];
  return undefined;
};

async function chat(/** @type {string} */ url) {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"model":"m","messages":[],"max_tokens":1}',
    headersTimeout: 5000,
    bodyTimeout: 5000,
  });
  await res.body.dump();
  return res.statusCode;
}

/**
 * Run the samples.
 * @param {{ gws: import('./fleet-gateways.mjs').FleetGateway[], simA: any, redisUrl: string, channel: string, samples: number, realEvery: number, log: (s: string) => void }} o
 */
export async function measurePropagation(o) {
  const [g0, ...others] = o.gws;
  await Promise.all(o.gws.map((g) => g.call('rawOpen', { url: o.redisUrl, channel: o.channel, subscribe: g !== g0 })));
  await Promise.all(o.gws.map((g) => g.call('trace', { on: true })));
  /** @type {{ seq: number, delays: (number | null)[] }[]} */
  const raw = [];
  /** @type {Sample[]} */
  const samples = [];
  let missing = 0;
  try {
    for (let s = 0; s < o.samples; s++) {
      // A bare message first, between the same processes.
      await g0.call('rawPing', { seq: s, pad: RAW_PAD });
      await waitFor(() => others.every((g) => g.raw.has(s)), 1000);
      raw.push({ seq: s, delays: others.map((g) => {
        const r = g.raw.get(s);
        return r ? nsDiffMs(r.sentNs, r.recvNs) : null;
      }) });

      const real = o.realEvery > 0 && s % o.realEvery === o.realEvery - 1;
      const marks = o.gws.map((g) => ({ t: g.transitions.length, tr: g.traces.length }));
      const ejectedSince = (/** @type {typeof g0} */ g) => firstFrom(g.transitions, marks[g.index].t, (t) => t.endpointId === ENDPOINT && t.to === 'ejected');
      if (real) {
        await o.simA.setFault({ mode: 'down' });
        for (let i = 0; i < 100 && !ejectedSince(g0); i++) await chat(g0.url);
      } else {
        await adminAction(g0, 'eject', ENDPOINT);
      }
      const applied = await waitFor(() => ejectedSince(g0) !== undefined && others.every((g) => ejectedSince(g) !== undefined), 2000);
      if (real) await o.simA.setFault({ mode: 'none' });
      const origin = ejectedSince(g0);
      const published = firstFrom(g0.traces, marks[0].tr, (x) => x.stage === 'publish' && x.endpointId === ENDPOINT && x.event === 'ejected');
      if (!applied || !origin) {
        missing++;
      } else {
        const t0 = published && published.ns < origin.ns ? published.ns : origin.ns;
        samples.push({
          kind: real ? 'real' : 'operator',
          cause: origin.cause,
          listenerLagMs: published ? nsDiffMs(published.ns, origin.ns) : null,
          per: others.map((g) => {
            const t = ejectedSince(g);
            const view = firstFrom(g.traces, marks[g.index].tr, (x) => x.stage === 'view' && x.endpointId === ENDPOINT && x.event === 'ejected' && x.from === g0.id);
            const apply = firstFrom(g.traces, marks[g.index].tr, (x) => x.stage === 'applyRemote' && x.endpointId === ENDPOINT && x.state === 'ejected');
            return {
              ms: nsDiffMs(t0, t.ns),
              cause: t.cause,
              toView: view ? nsDiffMs(t0, view.ns) : null,
              viewToApply: view && apply ? nsDiffMs(view.ns, apply.ns) : null,
              applyToTransition: apply ? nsDiffMs(apply.ns, t.ns) : null,
            };
          }),
        });
      }
      // Back to normal everywhere before the next sample.
      await adminAction(g0, 'uneject', ENDPOINT);
      let recovered = await waitFor(() => o.gws.every((g) => stateOf(g, ENDPOINT) !== 'ejected'), 3000);
      if (!recovered) {
        // A gateway that ejected on its own (it should not: it had no traffic) is unejected too.
        for (const g of others) if (stateOf(g, ENDPOINT) === 'ejected') await adminAction(g, 'uneject', ENDPOINT);
        recovered = await waitFor(() => o.gws.every((g) => stateOf(g, ENDPOINT) !== 'ejected'), 5000);
        if (!recovered) o.log(`propagation: sample ${s}: ${ENDPOINT} still ejected on ${o.gws.filter((g) => stateOf(g, ENDPOINT) === 'ejected').map((g) => g.id)}`);
      }
      if (s % 50 === 49) o.log(`propagation: ${s + 1}/${o.samples}`);
      await sleep(5);
    }
  } finally {
    await Promise.all(o.gws.map((g) => g.call('trace', { on: false }).catch(() => undefined)));
    await Promise.all(o.gws.map((g) => g.call('rawClose').catch(() => undefined)));
  }
  return { raw, samples, missing };
}
