/**
 * Launch nginx or HAProxy from a generated config in a temporary folder, pinned to one core, and
 * remove the folder when it stops.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild, waitForPort } from './children.mjs';
import { freePorts } from './free-port.mjs';
import { onPath } from './machine.mjs';

const START_ATTEMPTS = 3;

/**
 * Start `program` (nginx | haproxy) with the config `makeConf(dir, ports)` listening on `portCount`
 * fresh ports. Retries with new ports when one was taken in between.
 * @param {{ name: string, program: 'nginx' | 'haproxy', core: number, portCount: number, makeConf: (dir: string, ports: number[]) => string }} o
 */
export async function startNative(o) {
  const bin = onPath(o.program);
  if (!bin) throw new Error(`${o.program} is not on PATH`);
  let lastError;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), `rg-bench-${o.name}-`));
    for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
    const ports = await freePorts(o.portCount);
    const conf = join(dir, `${o.program}.conf`);
    writeFileSync(conf, o.makeConf(dir, ports));
    const args = o.program === 'nginx' ? ['-e', join(dir, 'error.log'), '-p', dir, '-c', conf] : ['-db', '-f', conf];
    const child = startChild({ name: o.name, cmd: bin, args, core: o.core });
    try {
      for (const port of ports) await waitForPort(port, 10_000, child);
      return {
        child,
        ports,
        urls: ports.map((p) => `http://127.0.0.1:${p}`),
        async stop() {
          await child.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      await child.stop(500);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}
