/**
 * regiongate under test, built the way an embedding user builds it: `resolveConfig` then
 * `createGateway`, on 127.0.0.1 port 0, admin listener off, logs silent.
 */
import { createGateway, resolveConfig } from '../../../dist/index.js';

/**
 * @param {{ regions: { name: string, urls: string[] }[] }} opts
 */
export async function start({ regions }) {
  const config = resolveConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: false },
      log: { level: 'silent' },
      regions: regions.map((r) => ({ name: r.name, endpoints: r.urls.map((url) => ({ url })) })),
    },
    {},
  );
  const gateway = createGateway(config);
  await gateway.listen();
  const endpoints = regions.reduce((n, r) => n + r.urls.length, 0);
  return { info: { url: gateway.url, regions: regions.length, endpoints }, close: () => gateway.close(1000, 0) };
}
