// Shared by the deploy tests: the nginx site file with its addresses
// replaced, a minimal main nginx.conf around it, the dashboard's queries.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

export const SRC = process.env.HEARTH_SOURCE_DIR ?? path.resolve(import.meta.dirname, '../..');
export const DEPLOY = path.join(SRC, 'deploy');

// the site file inside a minimal main configuration, with its own prefix
export function nginxMain(dir, siteFile) {
  fs.mkdirSync(dir, { recursive: true });
  const main = path.join(dir, 'nginx.conf');
  fs.writeFileSync(main, `pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include ${siteFile};
}
`);
  return main;
}

// deploy/nginx/hearth.conf with its upstream servers and listen port replaced
export function nginxSite(upstreams, listenPort) {
  let s = fs.readFileSync(path.join(DEPLOY, 'nginx/hearth.conf'), 'utf8');
  const servers = [...s.matchAll(/^\s*server\s+[^\s;]+:\d+(.*);$/gm)];
  assert.ok(servers.length >= 2, 'the upstream block lists at least two servers');
  const rest = servers[0][1];
  s = s.replace(/^(\s*server\s+[^\s;]+:\d+.*;\n)+/m, upstreams.map((u) => `    server ${u}${rest};\n`).join(''));
  s = s.replace(/^(\s*)listen\s+8080;/m, `$1listen 127.0.0.1:${listenPort};`);
  assert.match(s, new RegExp(`listen 127.0.0.1:${listenPort};`));
  return s;
}

export function dashboardQueries() {
  const d = JSON.parse(fs.readFileSync(path.join(DEPLOY, 'grafana/hearth-dashboard.json'), 'utf8'));
  const out = [];
  for (const p of d.panels) for (const t of p.targets ?? []) out.push({ panel: p.title, expr: t.expr });
  return { d, queries: out };
}

