/**
 * Test helper: nginx and HAProxy in front of two gateways, configured as docs/operations.md's "Behind a
 * load balancer" section says (the settings that make a rolling restart lossless). Each runs in the
 * foreground as one process, on a free port, killed in teardown. `NGINX_SKIP` / `HAPROXY_SKIP` say how
 * to install them when they are not on PATH.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, waitUntil, type Teardown } from './redis-server.js';
import { connect } from 'node:net';

function missing(bin: string, args: string[]): boolean {
  const r = spawnSync(bin, args, { stdio: 'ignore' });
  return r.error !== undefined;
}

export const NGINX_SKIP: string | false = missing('nginx', ['-v']) ? 'nginx is not on PATH; install it: apt-get install -y nginx' : false;
export const HAPROXY_SKIP: string | false = missing('haproxy', ['-v']) ? 'haproxy is not on PATH; install it: apt-get install -y haproxy' : false;

export interface Balancer {
  readonly url: string;
  /** The balancer's own log lines (errors), for assertion messages. */
  log(): string;
}

/** nginx with docs/operations.md's upstream settings over `backends` (`host:port`). */
export function nginxConf(dir: string, port: number, backends: readonly string[]): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream regiongate {
${backends.map((b) => `    server ${b} max_fails=1 fail_timeout=2s;`).join('\n')}
    keepalive 32;
    # Shorter than the gateway's timeouts.drain: nginx closes the idle connections of a draining
    # gateway itself, so the gateway never has to close one nginx might be reusing.
    keepalive_timeout 3s;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://regiongate;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 60s;
    }
  }
}
`;
}

/** HAProxy with docs/operations.md's backend settings over `backends` (`host:port`). */
export function haproxyConf(port: number, backends: readonly string[]): string {
  return `global
  nbthread 1

defaults
  mode http
  option http-keep-alive
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  # A refused connection (a gateway that stopped listening) is retried on another server.
  retries 3
  option redispatch 1

frontend lb
  bind 127.0.0.1:${port}
  default_backend regiongate

backend regiongate
  option httpchk GET /readyz
  http-check expect status 200
  timeout check 2s
  default-server check inter 250ms fall 2 rise 2
${backends.map((b, i) => `  server gw${i} ${b}`).join('\n')}
`;
}

function waitPort(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function run(t: Teardown, bin: string, args: string[], port: number): Promise<Balancer> {
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  t.teardown(() => {
    if (!gone) child.kill('SIGKILL');
    return exited;
  });
  await waitUntil(`${bin} listening on ${port}`, async () => {
    if (gone) throw new Error(`${bin} exited: ${output}`);
    return waitPort(port);
  }, 15_000);
  return { url: `http://127.0.0.1:${port}`, log: () => output };
}

export async function startNginx(t: Teardown, backends: readonly string[]): Promise<Balancer> {
  const dir = tempDir(t, 'regiongate-nginx-');
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const port = await freePort();
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, nginxConf(dir, port, backends));
  const lb = await run(t, 'nginx', ['-c', file, '-p', dir], port);
  return { url: lb.url, log: () => `${lb.log()}${readLog(join(dir, 'error.log'))}` };
}

export async function startHaproxy(t: Teardown, backends: readonly string[]): Promise<Balancer> {
  const dir = tempDir(t, 'regiongate-haproxy-');
  const port = await freePort();
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConf(port, backends));
  return run(t, 'haproxy', ['-db', '-f', file], port);
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}
