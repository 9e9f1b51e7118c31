// deploy/ live, on 127.0.0.1 and free ports (run by ctest as test_deploy_live;
// HEARTH_BIN is the hearth binary, HEARTH_SOURCE_DIR the repository):
//   - two `hearth serve` replicas (the small default model) behind nginx with
//     deploy/nginx/hearth.conf (addresses replaced): a chat answer streams
//     through nginx as several pieces, /ready answers 200;
//   - a `hearth gateway` over the same replicas, scraped by Prometheus with a
//     key file as deploy/prometheus/prometheus.yml does; after the kill it
//     reports the replica down (hearth_gateway_replica_up 0);
//   - kill -9 of one replica under non-streaming load: not one request sent
//     after the kill fails (nginx's fail-over);
//   - Prometheus (a plain process, 1 s scrapes) with deploy/prometheus's
//     rules: HearthReplicaDown fires for the killed replica only (ALERTS over
//     the HTTP API) within its `for:` (shortened to 5 s) plus a few scrapes;
//   - every query of deploy/grafana/hearth-dashboard.json runs against that
//     Prometheus without error and returns data (but the budget panel: no
//     key here has a budget).
// Every process is started by the test and stopped at its end.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEPLOY, SRC, nginxMain, nginxSite, dashboardQueries } from './deploy_helpers.mjs';

const BIN = process.env.HEARTH_BIN ?? path.join(SRC, 'build/hearth');
const MODEL = path.join(SRC, 'models/hearth-default.gguf');
const FOR_S = 5;   // HearthReplicaDown's `for:` in this test (1m in the real rules)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-live-'));
const procs = [];

after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function start(name, cmd, args) {
  const log = fs.openSync(path.join(tmp, `${name}.log`), 'w');
  const p = spawn(cmd, args, { stdio: ['ignore', log, log] });
  p.logName = name;
  procs.push(p);
  return p;
}

function logOf(name) {
  try { return fs.readFileSync(path.join(tmp, `${name}.log`), 'utf8').slice(-2000); } catch { return ''; }
}

async function waitFor(what, fn, timeoutMs, proc) {
  const t0 = Date.now();
  for (;;) {
    try { if (await fn()) return; } catch { /* not up yet */ }
    if (proc && proc.exitCode !== null) throw new Error(`${what}: the process exited (${proc.exitCode}):\n${logOf(proc.logName)}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms${proc ? `\n${logOf(proc.logName)}` : ''}`);
    await sleep(200);
  }
}

async function promQuery(promPort, q) {
  const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
  const j = await r.json();
  return { http: r.status, ...j };
}

function chat(port, body) {
  return fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell me about the sea.' }], ...body }),
    signal: AbortSignal.timeout(60000),
  });
}

test('nginx in front of two replicas: streaming, kill -9 fail-over, the replica-down alert, the dashboard queries',
  { timeout: 200000 }, async (t) => {
    assert.ok(fs.existsSync(BIN), `no hearth binary at ${BIN}`);
    const [r1, r2, ngx, prom] = [await freePort(), await freePort(), await freePort(), await freePort()];

    // ---- two replicas
    const serve = (port) => ['serve', '-m', MODEL, '--host', '127.0.0.1', '--port', String(port), '-t', '1',
      '--parallel', '2', '--ctx-per-seq', '256'];
    const rep1 = start('replica-1', BIN, serve(r1));
    const rep2 = start('replica-2', BIN, serve(r2));
    for (const [p, port] of [[rep1, r1], [rep2, r2]])
      await waitFor(`replica :${port} /ready`, async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, 60000, p);
    const ready = await (await fetch(`http://127.0.0.1:${r1}/ready`)).json();
    assert.equal(ready.status, 'ready');

    // ---- a gateway over both replicas, with a key for Prometheus
    const gw = await freePort();
    const gdir = path.join(tmp, 'gateway');
    fs.mkdirSync(gdir);
    const gcfg = path.join(gdir, 'gateway.yaml');
    fs.writeFileSync(gcfg, `listen: {host: 127.0.0.1, port: ${gw}}
keys_db: keys.db
audit: {db: audit.db, sync: normal}
upstream:
  replicas: [http://127.0.0.1:${r1}, http://127.0.0.1:${r2}]
  health_interval_s: 0.5
  connect_timeout_ms: 500
  request_timeout_s: 60
`);
    const kc = spawnSync(BIN, ['keys', '--config', gcfg, 'create', '--name', 'prometheus', '--json'], { encoding: 'utf8' });
    assert.equal(kc.status, 0, kc.stderr);
    const { key } = JSON.parse(kc.stdout);
    const gwProc = start('gateway', BIN, ['gateway', '--config', gcfg]);
    await waitFor('gateway /ready', async () => (await fetch(`http://127.0.0.1:${gw}/ready`)).status === 200, 30000, gwProc);
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`http://127.0.0.1:${gw}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4 }),
      });
      assert.equal(r.status, 200, await r.text());
    }

    // ---- Prometheus: replicas and gateway every second, the real rules with a short `for:`
    const pdir = path.join(tmp, 'prometheus');
    fs.mkdirSync(pdir);
    fs.writeFileSync(path.join(pdir, 'hearth-metrics-key'), `${key}\n`);
    let rules = fs.readFileSync(path.join(DEPLOY, 'prometheus/hearth-rules.yml'), 'utf8');
    const down = /(- alert: HearthReplicaDown\n\s+expr: .*\n\s+for: )1m/;
    assert.match(rules, down);
    rules = rules.replace(down, `$1${FOR_S}s`);
    fs.writeFileSync(path.join(pdir, 'hearth-rules.yml'), rules);
    fs.writeFileSync(path.join(pdir, 'prometheus.yml'), `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [hearth-rules.yml]
scrape_configs:
  - job_name: hearth-serve
    static_configs:
      - targets: ["127.0.0.1:${r1}", "127.0.0.1:${r2}"]
  - job_name: hearth-gateway
    authorization: {type: Bearer, credentials_file: hearth-metrics-key}
    static_configs:
      - targets: ["127.0.0.1:${gw}"]
`);
    const promProc = start('prometheus', 'prometheus', [`--config.file=${pdir}/prometheus.yml`,
      `--storage.tsdb.path=${pdir}/data`, `--web.listen-address=127.0.0.1:${prom}`, '--log.level=warn']);
    await waitFor('prometheus ready', async () => (await fetch(`http://127.0.0.1:${prom}/-/ready`)).status === 200, 30000, promProc);

    // ---- nginx with deploy/nginx/hearth.conf in front of the replicas
    const ndir = path.join(tmp, 'nginx');
    fs.mkdirSync(ndir);
    fs.writeFileSync(path.join(ndir, 'site.conf'), nginxSite([`127.0.0.1:${r1}`, `127.0.0.1:${r2}`], ngx));
    const ngxProc = start('nginx', 'nginx', ['-p', ndir, '-c', nginxMain(ndir, path.join(ndir, 'site.conf')), '-g', 'daemon off;']);
    await waitFor('nginx', async () => (await fetch(`http://127.0.0.1:${ngx}/nginx-health`)).status === 200, 10000, ngxProc);

    // ---- a streamed answer through nginx comes in pieces, as generated
    const sr = await chat(ngx, { stream: true, max_tokens: 24, temperature: 0 });
    assert.equal(sr.status, 200);
    assert.match(sr.headers.get('content-type'), /text\/event-stream/);
    let reads = 0, text = '';
    const dec = new TextDecoder();
    for await (const chunk of sr.body) {
      const s = dec.decode(chunk, { stream: true });
      if (s.includes('data: {')) reads++;
      text += s;
    }
    assert.ok(text.trimEnd().endsWith('data: [DONE]'), text.slice(-200));
    const events = text.split('\n').filter((l) => l.startsWith('data: {')).length;
    assert.ok(events >= 3, `${events} events`);
    assert.ok(reads >= 3, `the stream arrived in ${reads} reads (buffered by nginx?)`);
    t.diagnostic(`stream through nginx: ${events} events in ${reads} reads`);

    // ---- all three targets up before the kill
    await waitFor('replicas and gateway scraped', async () => {
      const q = await promQuery(prom, 'up == 1');
      return q.data.result.length === 3;
    }, 30000, promProc);

    // ---- load through nginx; kill -9 replica 1 once some requests are done
    const results = [];
    let killedAt = 0, stop = false;
    const worker = async () => {
      while (!stop) {
        const sent = Date.now();
        let ok = false, why = '';
        try {
          const r = await chat(ngx, { max_tokens: 6, temperature: 0 });
          const j = await r.json();
          ok = r.status === 200 && Array.isArray(j.choices) && j.choices.length === 1;
          if (!ok) why = `${r.status} ${JSON.stringify(j).slice(0, 200)}`;
        } catch (e) { why = String(e); }
        results.push({ sent, ok, why, afterKill: killedAt ? sent - killedAt : null });
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await waitFor('8 answers before the kill', async () => results.length >= 8, 90000);
    // "after the kill" = after the process is gone (kill() only sends the signal)
    const gone = new Promise((r) => rep1.once('exit', r));
    rep1.kill('SIGKILL');
    await gone;
    killedAt = Date.now();
    await waitFor('12 answers after the kill', async () => results.filter((x) => x.sent > killedAt).length >= 12, 90000);
    stop = true;
    await Promise.all(workers);
    const after = results.filter((x) => x.sent > killedAt);
    const failed = after.filter((x) => !x.ok);
    assert.equal(failed.length, 0, `requests sent after the kill that failed: ${JSON.stringify(failed)}`);
    assert.ok(results.filter((x) => x.sent <= killedAt && x.ok).length >= 8);
    t.diagnostic(`load: ${results.length} requests, ${after.length} sent after the kill, ${failed.length} failed; ` +
      `${results.filter((x) => !x.ok).length} failed in all (in flight on the killed replica)`);

    // ---- the alert fires for replica 1 (and only it) within its window
    const deadline = killedAt + (FOR_S + 20) * 1000;
    let firing = [];
    while (Date.now() < deadline) {
      const q = await promQuery(prom, 'ALERTS{alertname="HearthReplicaDown",alertstate="firing"}');
      assert.equal(q.status, 'success');
      firing = q.data.result;
      if (firing.length) break;
      await sleep(500);
    }
    assert.equal(firing.length, 1, `HearthReplicaDown not firing ${FOR_S + 20} s after the kill`);
    t.diagnostic(`HearthReplicaDown firing ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill (for: ${FOR_S}s)`);
    assert.equal(firing[0].metric.instance, `127.0.0.1:${r1}`);
    assert.equal(firing[0].metric.severity, 'critical');

    // ---- the gateway saw it too (its /ready checks), and still answers
    await waitFor('the gateway reports the replica down', async () => {
      const q = await promQuery(prom, `hearth_gateway_replica_up{replica="http://127.0.0.1:${r1}"} == 0`);
      return q.data.result.length === 1;
    }, 20000, gwProc);
    const gq = await promQuery(prom, `hearth_gateway_replica_up{replica="http://127.0.0.1:${r2}"}`);
    assert.equal(gq.data.result[0]?.value[1], '1');
    assert.equal((await fetch(`http://127.0.0.1:${gw}/ready`)).status, 200);

    // ---- every dashboard query runs; those on series that exist here have data
    const { queries } = dashboardQueries();
    assert.ok(queries.length >= 15);
    const noDataHere = /hearth_gateway_budget_/;   // no key with a budget in this test
    let withData = 0;
    for (const { panel, expr } of queries) {
      const e = expr.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '15s');
      const q = await promQuery(prom, e);
      assert.equal(q.status, 'success', `${panel}: ${expr}: ${q.error ?? ''}`);
      if (!noDataHere.test(expr)) assert.ok(q.data.result.length > 0, `${panel}: ${expr}: no data`);
      withData += q.data.result.length > 0;
    }
    t.diagnostic(`${queries.length} dashboard queries ran, ${withData} with data`);
    const bad = await promQuery(prom, 'sum(rate(hearth_requests_total[1m]');
    assert.equal(bad.status, 'error');   // a broken query is reported as such

    rep2.kill('SIGTERM');
    gwProc.kill('SIGTERM');
    ngxProc.kill('SIGQUIT');
    promProc.kill('SIGTERM');
  });
