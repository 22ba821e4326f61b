/**
 * regiongate under test, built the way an embedding user builds it: `resolveConfig` then
 * `createGateway`, on 127.0.0.1 port 0, admin listener off, logs silent. `endpoint` is merged into every
 * endpoint (e.g. `loadSignals`) and `config` into the top level (e.g. `timeouts`). With load signals,
 * READY waits until every endpoint's signals have been read once, so a run starts on fresh signals.
 */
import { createGateway, resolveConfig } from '../../../dist/index.js';

/**
 * @param {{ regions: { name: string, urls: string[] }[], endpoint?: object, config?: object }} opts
 */
export async function start({ regions, endpoint = {}, config = {} }) {
  const resolved = resolveConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: false },
      log: { level: 'silent' },
      ...config,
      regions: regions.map((r) => ({ name: r.name, endpoints: r.urls.map((url) => ({ url, ...endpoint })) })),
    },
    {},
  );
  const gateway = createGateway(resolved);
  await gateway.listen();
  const scraped = gateway.registry.endpoints.filter((e) => e.loadSignals !== undefined);
  for (let i = 0; i < 500 && !scraped.every((e) => gateway.loadBook.signals(e, undefined) !== undefined); i++)
    await new Promise((r) => setTimeout(r, 10));
  const endpoints = regions.reduce((n, r) => n + r.urls.length, 0);
  return { info: { url: gateway.url, regions: regions.length, endpoints }, close: () => gateway.close(1000, 0) };
}
