/**
 * nginx configs of the bench: the fast native target (a fixed 1 KB JSON on one or many ports) and
 * nginx as a peer proxy (one worker, upstream keep-alive, HTTP/1.1 upstream, no buffering).
 */
import { CHAT_RESPONSE } from './payloads.mjs';

/** @param {string} dir */
function preamble(dir) {
  // master_process off: one process does all the work (as one worker would), and a SIGKILL of it
  // leaves no orphaned worker behind.
  return `daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 16384; use epoll; }
http {
  access_log off;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
`;
}

/** nginx strings are single-quoted here; `$` would start a variable. */
function quote(/** @type {string} */ s) {
  if (s.includes('$')) throw new Error('nginx return text must not contain "$"');
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The fast target: every request on every port gets the 1 KB chat completion.
 * @param {string} dir
 * @param {number[]} ports
 */
export function nginxTargetConf(dir, ports) {
  return `${preamble(dir)}  server {
${ports.map((p) => `    listen 127.0.0.1:${p} backlog=4096;`).join('\n')}
    location / {
      default_type application/json;
      return 200 ${quote(CHAT_RESPONSE)};
    }
  }
}
`;
}

/**
 * nginx as a peer proxy in front of `target` (`http://127.0.0.1:PORT`). Every system under test keeps
 * an accept backlog of 511 (Node's default and nginx's on Linux): regiongate has no setting for it.
 * @param {string} dir
 * @param {number} port
 * @param {string} target
 */
export function nginxProxyConf(dir, port, target) {
  const upstream = new URL(target).host;
  return `${preamble(dir)}  upstream target {
    server ${upstream};
    keepalive 512;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${port} backlog=511;
    location / {
      proxy_pass http://target;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 120s;
    }
  }
}
`;
}

/**
 * HAProxy as a peer proxy: one thread, keep-alive both sides, `http-reuse always`, `http-no-delay`.
 * @param {number} port
 * @param {string} target
 */
export function haproxyConf(port, target) {
  const upstream = new URL(target).host;
  return `global
  nbthread 1
  maxconn 9000
  tune.bufsize 16384

defaults
  mode http
  option http-keep-alive
  # Send each chunk as it comes (no MSG_MORE merging): without it SSE frames wait up to 200 ms.
  option http-no-delay
  http-reuse always
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s

frontend bench
  bind 127.0.0.1:${port}
  backlog 511
  default_backend target

backend target
  server t1 ${upstream}
`;
}
