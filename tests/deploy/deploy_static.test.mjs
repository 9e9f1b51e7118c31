// deploy/ checked by the tools that will read it (run by ctest as
// test_deploy_static; HEARTH_SOURCE_DIR is the repository):
//   nginx -t on deploy/nginx/hearth.conf (upstream host names replaced by
//   127.0.0.1 ports, in a throwaway prefix), systemd-analyze verify on both
//   units failing on ANY message, docker-compose config -q, promtool check
//   config / check rules / test rules, and the Grafana dashboard's structure.
// A broken copy of each file must be refused, so none of these can pass
// vacuously.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEPLOY, nginxMain, nginxSite, dashboardQueries } from './deploy_helpers.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-deploy-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (scripts/install-deps.sh installs it)`);
  return { code: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

// ---- nginx -----------------------------------------------------------------
test('nginx -t accepts deploy/nginx/hearth.conf, streaming and fail-over settings present', () => {
  const site = nginxSite(['127.0.0.1:18091', '127.0.0.1:18092'], 18090);
  for (const want of ['proxy_buffering off', 'proxy_http_version 1.1', 'proxy_set_header Connection ""',
    'proxy_read_timeout 600s', 'proxy_next_upstream error timeout']) assert.ok(site.includes(want), want);
  assert.ok(!/^\s*proxy_next_upstream\s[^;]*non_idempotent/m.test(site), 'POSTs are never repeated after they reached an upstream');
  const dir = path.join(tmp, 'nginx');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'site.conf'), site);
  const r = run('nginx', ['-t', '-p', dir, '-c', nginxMain(dir, path.join(dir, 'site.conf'))]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /test is successful/);
  // a typo is refused
  fs.writeFileSync(path.join(dir, 'site.conf'), site.replace(/^(\s*)proxy_buffering off;/m, '$1proxy_bufering off;'));
  const bad = run('nginx', ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /unknown directive "proxy_bufering"/);
});

// ---- systemd ---------------------------------------------------------------
function verifyUnits(dir, names) {
  // systemd-analyze verify exits 0 on many warnings: any output is a failure
  return run('systemd-analyze', ['verify', '--man=no', ...names.map((n) => path.join(dir, n))], { cwd: dir });
}

test('systemd-analyze verify: the units are clean and hardened', () => {
  const dir = path.join(tmp, 'systemd');
  fs.mkdirSync(dir);
  // ExecStart must name an existing program: the real unit text with /bin/true in its place
  const units = { 'hearth-serve@.service': 'hearth-serve@8081.service', 'hearth-gateway.service': 'hearth-gateway.service' };
  for (const [file, inst] of Object.entries(units)) {
    const text = fs.readFileSync(path.join(DEPLOY, 'systemd', file), 'utf8');
    assert.match(text, /^ExecStart=\/usr\/local\/bin\/hearth /m);
    for (const h of ['User=', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'ReadWritePaths=',
      'CapabilityBoundingSet=', 'SystemCallFilter=@system-service']) assert.match(text, new RegExp(`^${h}`, 'm'), `${file}: ${h}`);
    fs.writeFileSync(path.join(dir, file), text.replace('/usr/local/bin/hearth', '/bin/true'));
    if (inst !== file) fs.symlinkSync(path.join(dir, file), path.join(dir, inst));
  }
  const r = verifyUnits(dir, Object.values(units));
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out.trim(), '', `systemd-analyze verify printed:\n${r.out}`);
  // an unknown key is a warning (exit 0): it must still fail this check
  const t = fs.readFileSync(path.join(dir, 'hearth-gateway.service'), 'utf8');
  fs.writeFileSync(path.join(dir, 'hearth-gateway.service'), t.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
  const bad = verifyUnits(dir, ['hearth-gateway.service']);
  assert.match(bad.out, /Unknown key 'NoNewPrivilege'/);
});

// ---- compose ---------------------------------------------------------------
test('docker-compose config -q accepts deploy/compose/compose.yaml', () => {
  const file = path.join(DEPLOY, 'compose/compose.yaml');
  const env = { ...process.env, HEARTH_PG_PASSWORD: 'test-only' };
  const r = run('docker-compose', ['-f', file, 'config', '-q'], { env });
  assert.equal(r.code, 0, r.out);
  const full = run('docker-compose', ['-f', file, 'config', '--services'], { env });
  const services = full.out.trim().split('\n').sort();
  assert.deepEqual(services, ['gateway-1', 'gateway-2', 'nginx', 'postgres', 'prometheus', 'replica-1', 'replica-2']);
  // the password is required, not defaulted
  const nopw = { ...process.env };
  delete nopw.HEARTH_PG_PASSWORD;
  const bad = run('docker-compose', ['-f', file, 'config', '-q'], { env: nopw });
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /set HEARTH_PG_PASSWORD/);
  // the files it mounts exist
  const text = fs.readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^\s*- (\.\.?\/[^:]+):/gm)) {
    if (m[1].endsWith('hearth-metrics-key')) continue;   // a secret the operator writes
    assert.ok(fs.existsSync(path.join(DEPLOY, 'compose', m[1])), `compose mounts ${m[1]}, which does not exist`);
  }
});

// ---- Prometheus --------------------------------------------------------------
test('promtool: the configuration and the rules check, the rules\' unit tests pass', () => {
  const dir = path.join(tmp, 'prom');
  fs.cpSync(path.join(DEPLOY, 'prometheus'), dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'hearth-metrics-key'), 'hk_test\n');   // the operator's key file
  let r = run('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS: 1 rule files found/);
  r = run('promtool', ['check', 'rules', path.join(dir, 'hearth-rules.yml')]);
  assert.equal(r.code, 0, r.out);
  const rules = fs.readFileSync(path.join(dir, 'hearth-rules.yml'), 'utf8');
  for (const a of ['HearthReplicaDown', 'HearthHighErrorRate', 'HearthHighLatency', 'HearthBudgetNearlySpent',
    'HearthAuditChainFailure']) assert.match(rules, new RegExp(`alert: ${a}\\n`), a);
  r = run('promtool', ['test', 'rules', path.join(dir, 'tests/hearth-rules.test.yml')]);
  assert.equal(r.code, 0, r.out);
  // every alert has a unit test that expects it to fire
  const tests = fs.readFileSync(path.join(dir, 'tests/hearth-rules.test.yml'), 'utf8');
  for (const m of rules.matchAll(/alert: (\w+)/g))
    assert.match(tests, new RegExp(`alertname: ${m[1]}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${m[1]} has no firing test`);
  // a rule whose threshold moved makes its unit test fail
  fs.writeFileSync(path.join(dir, 'hearth-rules.yml'), rules.replace(/hearth_audit_chain_ok == 0 or .*/, 'hearth_audit_chain_ok == 2'));
  r = run('promtool', ['test', 'rules', path.join(dir, 'tests/hearth-rules.test.yml')]);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /HearthAuditChainFailure/);
});

// ---- Grafana -------------------------------------------------------------------
test('the Grafana dashboard: valid JSON, every panel has Prometheus queries on the input datasource', () => {
  const { d, queries } = dashboardQueries();
  assert.equal(d.uid, 'hearth-overview');
  assert.ok(d.__inputs.some((i) => i.name === 'DS_PROMETHEUS' && i.pluginId === 'prometheus'));
  const ids = new Set();
  for (const p of d.panels) {
    assert.ok(!ids.has(p.id), `panel id ${p.id} twice`);
    ids.add(p.id);
    assert.equal(p.datasource.uid, '${DS_PROMETHEUS}', p.title);
    assert.ok(p.targets.length > 0, `${p.title}: no queries`);
    for (const k of ['x', 'y', 'w', 'h']) assert.ok(Number.isInteger(p.gridPos[k]), `${p.title}: gridPos.${k}`);
  }
  // the series operators need are all on it
  const all = queries.map((q) => q.expr).join('\n');
  for (const m of ['hearth_requests_running', 'hearth_requests_waiting', 'hearth_kv_cache_usage_ratio',
    'hearth_time_to_first_token_seconds_bucket', 'hearth_inter_token_latency_seconds_bucket',
    'hearth_request_duration_seconds_bucket', 'hearth_prompt_tokens_total', 'hearth_generated_tokens_total',
    'hearth_gateway_requests_total', 'hearth_gateway_tokens_total', 'hearth_audit_chain_ok',
    'hearth_gateway_budget_used_tokens', 'hearth_gateway_replica_up']) assert.ok(all.includes(m), `dashboard lacks ${m}`);
});
