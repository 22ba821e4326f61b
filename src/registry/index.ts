/** The registry's public face (re-exported by `src/index.ts`): regions and endpoints built from config. */
export type { Endpoint } from './endpoint.js';
export { Registry, type Region } from './registry.js';
