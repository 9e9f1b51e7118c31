// admin.js — the admin console (hearth gateway, /admin/): login, keys, usage,
// the audit log, replicas, models and live metrics, over the gateway's
// /admin/api/* JSON endpoints.
//
// Security: the admin key is posted once to /admin/login and never stored;
// the session lives in an HttpOnly cookie this script cannot read. The CSRF
// token the server hands out is kept in memory only and sent as X-CSRF-Token
// on every change. Text from the server (key names, models, audit fields) is
// only ever put in the page with textContent, never as HTML.

const $ = (sel) => document.querySelector(sel);
const views = ['login', 'keys', 'usage', 'audit', 'replicas', 'models', 'metrics'];
let csrf = '';          // this session's CSRF token (memory only)
let keyNames = {};      // key id -> name, for the usage and audit pages
let timer = 0;          // the current page's refresh timer

// ==== small DOM helpers ==========================================================
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function fillTable(table, rows, empty) {
  const body = $(table).tBodies[0];
  body.replaceChildren();
  if (!rows.length) {
    const n = $(table).tHead.rows[0].cells.length;
    body.append(el('tr', {}, el('td', { colspan: n, class: 'empty' }, empty)));
    return;
  }
  for (const cells of rows) body.append(el('tr', {}, ...cells.map((c) => (c instanceof Node && c.tagName === 'TD' ? c : el('td', {}, c)))));
}

const fmtTime = (ms) => new Date(ms).toLocaleString();
const fmtDate = (s) => (s ? new Date(s * 1000).toISOString().slice(0, 10) : '');
const fmtNum = (n) => Number(n).toLocaleString('en');

function notice(msg) {
  const n = $('#notice');
  n.textContent = msg || '';
  n.hidden = !msg;
}

// ==== the API ======================================================================
class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let r;
  try {
    r = await fetch(path.startsWith('/') ? path : `/admin/api/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, `the gateway cannot be reached (${e.message})`);
  }
  const text = await r.text();
  let data = null;
  try { data = JSON.parse(text); } catch { data = text; }
  if (r.status === 401) {   // the session ended: back to the login form
    csrf = '';
    show('login');
    throw new ApiError(401, data?.error?.message || 'please log in again');
  }
  if (!r.ok) throw new ApiError(r.status, data?.error?.message || `HTTP ${r.status}`);
  return data;
}

// runs a page's loader, showing its failure instead of throwing
async function guarded(fn) {
  try {
    await fn();
    notice('');
  } catch (e) {
    if (e.status !== 401) notice(e.message);
  }
}

// ==== login and navigation =========================================================
function show(name) {
  clearInterval(timer);
  timer = 0;
  const logged = name !== 'login';
  for (const v of views) $(`#${v}-view`).hidden = v !== name;
  $('#menu').hidden = !logged;
  $('#logout').hidden = !logged;
  if (!logged) $('#who').textContent = '';
  for (const a of document.querySelectorAll('#menu a')) {
    if (a.getAttribute('href') === `#${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (logged) loaders[name]?.();
}

function route() {
  if (!csrf) return show('login');
  const name = location.hash.slice(1);
  show(views.includes(name) && name !== 'login' ? name : 'keys');
}

function signedIn(s) {
  csrf = s.csrf;
  $('#who').textContent = `${s.name} (${s.key_id})`;
}

$('#login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('#login-error');
  err.hidden = true;
  const form = new URLSearchParams({ key: $('#login-key').value.trim() });
  let r;
  try {
    r = await fetch('/admin/login', { method: 'POST', body: form, credentials: 'same-origin' });
  } catch (e) {
    err.textContent = `the gateway cannot be reached (${e.message})`;
    err.hidden = false;
    return;
  }
  const data = await r.json().catch(() => ({}));
  $('#login-key').value = '';
  if (!r.ok) {
    err.textContent = data?.error?.message || `login failed (HTTP ${r.status})`;
    err.hidden = false;
    return;
  }
  signedIn(data);
  route();
});

$('#logout').addEventListener('click', async () => {
  await guarded(() => api('POST', '/admin/logout').catch((e) => { if (e.status !== 401) throw e; }));
  csrf = '';
  show('login');
});

window.addEventListener('hashchange', route);

// ==== keys ==========================================================================
function keyStatus(k) {
  if (k.revoked) return `revoked ${fmtDate(k.revoked)}`;
  if (k.expires && k.expires * 1000 <= Date.now()) return `expired ${fmtDate(k.expires)}`;
  return k.expires ? `active until ${fmtDate(k.expires)}` : 'active';
}

function showSecret(title, key) {
  $('#secret-title').textContent = title;
  $('#secret-value').value = key;
  $('#secret').hidden = false;
  $('#secret-value').select();
}

async function loadKeys() {
  const { data } = await api('GET', 'keys');
  keyNames = Object.fromEntries(data.map((k) => [k.id, k.name]));
  const rows = data.slice().reverse().map((k) => {
    const actions = el('td', { class: 'actions' });
    if (!k.revoked) {
      actions.append(
        el('button', { type: 'button', class: 'subtle', 'aria-label': `Rotate ${k.name}`, onclick: () => rotateKey(k) }, 'Rotate'),
        el('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${k.name}`, onclick: () => revokeKey(k) }, 'Revoke'),
      );
    }
    const budget = k.budget_tokens ? `${fmtNum(k.budget_tokens)} / ${k.period}` : '—';
    return [k.name, el('td', { class: 'mono' }, k.id), k.role, k.models || 'all', k.rpm || '—', k.tpm || '—', budget,
      fmtDate(k.created), el('td', { class: k.revoked ? 'bad' : 'good' }, keyStatus(k)), actions];
  });
  fillTable('#keys-table', rows, 'No keys yet.');
}

async function revokeKey(k) {
  if (!confirm(`Revoke the key "${k.name}" (${k.id})? Programs using it will get 401 at once.`)) return;
  await guarded(async () => {
    await api('DELETE', `keys/${encodeURIComponent(k.id)}`);
    await loadKeys();
  });
}

async function rotateKey(k) {
  if (!confirm(`Give "${k.name}" a new secret? The current one stops working at once.`)) return;
  await guarded(async () => {
    const r = await api('POST', `keys/${encodeURIComponent(k.id)}/rotate`);
    showSecret(`New secret for ${k.name} — copy it now, it is shown only once`, r.key);
    await loadKeys();
  });
}

$('#create-key').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const body = { name: f.get('name').trim(), role: f.get('role') };
  const models = f.get('models').split(',').map((m) => m.trim()).filter(Boolean);
  if (models.length) body.models = models;
  for (const n of ['rpm', 'tpm', 'max_concurrent', 'budget_tokens']) body[n] = Number(f.get(n) || 0);
  if (f.get('period')) body.period = f.get('period');
  if (f.get('expires')) body.expires = f.get('expires');
  guarded(async () => {
    const k = await api('POST', 'keys', body);
    showSecret(`New key "${k.name}" — copy it now, it is shown only once`, k.key);
    ev.target.reset();
    await loadKeys();
  });
});

$('#secret-copy').addEventListener('click', () => navigator.clipboard?.writeText($('#secret-value').value));
$('#secret-done').addEventListener('click', () => {
  $('#secret-value').value = '';
  $('#secret').hidden = true;
});

// ==== charts (SVG) ==================================================================
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// stacked bars: points [{t (ms), values: [..]}], one class per stack level;
// slots: room for at least this many bars (a chart that fills up over time)
function barChart(host, points, classes, labelOf, title, slots = 0) {
  const W = 860, H = 220, L = 44, B = 26, T = 8;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart' });
  const max = Math.max(1, ...points.map((p) => p.values.reduce((a, b) => a + b, 0)));
  const y = (v) => H - B - (v / max) * (H - B - T);
  for (const f of [0, 0.5, 1]) {
    root.append(svg('line', { x1: L, x2: W, y1: y(max * f), y2: y(max * f), class: 'grid' }));
    const v = max * f;
    root.append(svg('text', { x: L - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, max < 10 ? String(Math.round(v * 100) / 100) : fmtNum(Math.round(v))));
  }
  const bw = (W - L) / Math.max(points.length, slots, 1);
  points.forEach((p, i) => {
    let base = 0;
    p.values.forEach((v, j) => {
      if (!v) return;
      const r = svg('rect', { x: L + i * bw + 1, y: y(base + v), width: Math.max(bw - 2, 1), height: y(base) - y(base + v), class: classes[j] });
      r.append(svg('title', {}, `${labelOf(p.t)}: ${v} ${classes[j]}`));
      root.append(r);
      base += v;
    });
    if (i % Math.ceil(Math.max(points.length, slots) / 8) === 0)
      root.append(svg('text', { x: L + i * bw + bw / 2, y: H - 8, class: 'axis', 'text-anchor': 'middle' }, labelOf(p.t)));
  });
  host.replaceChildren(root);
}

// ==== usage =========================================================================
function sumRows(rows, keyOf) {
  const m = new Map();
  for (const r of rows) {
    const k = keyOf(r);
    const s = m.get(k) || { allowed: 0, rejected: 0, failed: 0, tokens_in: 0, tokens_out: 0 };
    for (const f of Object.keys(s)) s[f] += r[f];
    m.set(k, s);
  }
  return [...m.entries()].sort((a, b) => (b[1].allowed + b[1].rejected) - (a[1].allowed + a[1].rejected));
}

async function loadUsage() {
  if (!Object.keys(keyNames).length) await loadKeys().catch(() => {});
  const form = $('#usage-range');
  const keySel = form.elements.key;
  if (keySel.options.length <= 1)
    for (const [id, name] of Object.entries(keyNames)) keySel.append(el('option', { value: id }, `${name} (${id})`));
  const [span, bucket] = form.elements.range.value.split(':').map(Number);
  const now = Date.now();
  const since = now - span * 1000;
  const q = new URLSearchParams({ since: String(since - (since % (bucket * 1000))), bucket: String(bucket) });
  if (keySel.value) q.set('key', keySel.value);
  const u = await api('GET', `usage?${q}`);
  // one bar per bucket across the whole period, empty ones included
  const byT = new Map();
  for (const r of u.data) {
    const v = byT.get(r.t) || [0, 0, 0];
    v[0] += r.allowed; v[1] += r.rejected; v[2] += r.failed;
    byT.set(r.t, v);
  }
  const points = [];
  for (let t = Number(q.get('since')); t <= now; t += bucket * 1000) points.push({ t, values: byT.get(t) || [0, 0, 0] });
  const label = bucket < 86400 ? (t) => new Date(t).toTimeString().slice(0, 5) : (t) => new Date(t).toISOString().slice(5, 10);
  barChart($('#usage-chart'), points, ['allowed', 'rejected', 'failed'], label, 'Requests over time');
  const nums = (s) => [fmtNum(s.allowed), fmtNum(s.rejected), fmtNum(s.failed), fmtNum(s.tokens_in), fmtNum(s.tokens_out)];
  fillTable('#usage-keys', sumRows(u.data, (r) => r.key_id).map(([id, s]) => [keyNames[id] || '?', el('td', { class: 'mono' }, id), ...nums(s)]),
    'No requests in this period.');
  fillTable('#usage-models', sumRows(u.data, (r) => r.model).map(([m, s]) => [m || '—', ...nums(s)]), 'No requests in this period.');
}

$('#usage-range').addEventListener('change', () => guarded(loadUsage));

// ==== audit log =====================================================================
let auditOffset = 0;
const AUDIT_PAGE = 50;

function auditQuery() {
  const f = new FormData($('#audit-filter'));
  const q = new URLSearchParams();
  for (const n of ['q', 'key', 'model', 'status']) if (f.get(n)?.trim()) q.set(n, f.get(n).trim());
  for (const n of ['since', 'until']) if (f.get(n)) q.set(n, String(new Date(f.get(n)).getTime()));
  return q;
}

async function loadChain() {
  const c = $('#chain');
  const v = await api('GET', 'audit/verify');
  c.className = `card chain ${v.verified ? 'good' : 'bad'}`;
  c.textContent = v.verified
    ? `Chain verified: all ${fmtNum(v.records)} records are intact.`
    : `Chain BROKEN at record ${v.bad_id}: ${v.error}`;
}

async function loadAudit() {
  const q = auditQuery();
  $('#audit-csv').href = `/admin/api/audit.csv?${q}`;
  q.set('offset', String(auditOffset));
  q.set('limit', String(AUDIT_PAGE));
  const a = await api('GET', `audit?${q}`);
  const rows = a.data.map((r) => [r.id, fmtTime(r.time_ms), el('td', { class: 'mono', title: keyNames[r.key_id] || '' }, r.key_id || '—'),
    r.model || '—', r.endpoint, el('td', { class: r.status >= 400 ? 'bad' : 'good' }, r.status), r.tokens_in, r.tokens_out,
    r.latency_ms, r.pii_kinds || '—', r.client]);
  fillTable('#audit-table', rows, 'No records match.');
  const first = a.total ? auditOffset + 1 : 0;
  $('#audit-range').textContent = `records ${first}–${auditOffset + a.data.length} of ${fmtNum(a.total)} (newest first)`;
  $('#audit-newer').disabled = auditOffset === 0;
  $('#audit-older').disabled = auditOffset + a.data.length >= a.total;
}

$('#audit-filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  auditOffset = 0;
  guarded(loadAudit);
});
$('#audit-newer').addEventListener('click', () => { auditOffset = Math.max(0, auditOffset - AUDIT_PAGE); guarded(loadAudit); });
$('#audit-older').addEventListener('click', () => { auditOffset += AUDIT_PAGE; guarded(loadAudit); });

// ==== replicas and models ===========================================================
async function loadReplicas() {
  const { data } = await api('GET', 'replicas');
  fillTable('#replicas-table', data.map((r) => [el('td', { class: 'mono' }, r.url),
    el('td', { class: r.healthy ? 'good' : 'bad' }, r.healthy ? 'healthy' : 'down'), r.in_flight, fmtNum(r.requests), fmtNum(r.failures)]),
  'No replicas configured.');
}

async function loadModels() {
  const m = await api('GET', 'models');
  const rows = (m.data || []).map((x) => {
    const { id, owned_by: owner, object: _o, ...rest } = x;
    const details = Object.entries(rest).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ');
    return [el('td', { class: 'mono' }, id), owner || '—', details || '—'];
  });
  fillTable('#models-table', rows, 'The replicas list no models.');
}

// ==== live metrics (the gateway's Prometheus text) ==================================
const history = [];   // [{t, requests}] for the requests/s chart

function parseProm(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    if (m) out.push({ name: m[1], labels: m[3] || '', value: Number(m[4]) });
  }
  return out;
}

const total = (series, name) => series.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);

async function loadMetrics() {
  const text = await api('GET', 'metrics');
  const s = parseProm(typeof text === 'string' ? text : '');
  const reqs = total(s, 'hearth_gateway_requests_total');
  const now = Date.now();
  history.push({ t: now, requests: reqs });
  while (history.length > 60) history.shift();
  const rejected = s.filter((x) => x.name === 'hearth_gateway_requests_total' && /status="429"/.test(x.labels)).reduce((a, x) => a + x.value, 0);
  const latSum = total(s, 'hearth_gateway_request_duration_seconds_sum');
  const latN = total(s, 'hearth_gateway_request_duration_seconds_count');
  const up = s.filter((x) => x.name === 'hearth_gateway_replica_up');
  const tiles = [
    ['Requests', fmtNum(reqs)],
    ['Rejected (429)', fmtNum(rejected)],
    ['Tokens', fmtNum(total(s, 'hearth_gateway_tokens_total'))],
    ['Mean latency', latN ? `${(latSum / latN * 1000).toFixed(1)} ms` : '—'],
    ['Replicas up', `${up.filter((x) => x.value === 1).length} / ${up.length}`],
  ];
  $('#metrics-tiles').replaceChildren(...tiles.map(([k, v]) => el('div', { class: 'tile' }, el('span', {}, k), el('strong', {}, v))));
  const rates = history.slice(1).map((h, i) => ({ t: h.t, values: [Math.max(0, (h.requests - history[i].requests) / ((h.t - history[i].t) / 1000))] }));
  barChart($('#metrics-chart'), rates.map((r) => ({ t: r.t, values: [Math.round(r.values[0] * 100) / 100] })), ['allowed'],
    (t) => new Date(t).toTimeString().slice(0, 8), 'Requests per second', 40);
  fillTable('#metrics-table', s.filter((x) => !x.name.endsWith('_bucket')).slice(0, 400).map((x) => [el('td', { class: 'mono' }, x.name), el('td', { class: 'mono' }, x.labels), fmtNum(x.value)]),
    'No series yet.');
}

// ==== pages =========================================================================
function every(ms, fn) {
  guarded(fn);
  timer = setInterval(() => guarded(fn), ms);
}

const loaders = {
  keys: () => guarded(loadKeys),
  usage: () => every(10000, loadUsage),
  audit: () => guarded(async () => { await loadChain(); await loadAudit(); }),
  replicas: () => every(3000, loadReplicas),
  models: () => guarded(loadModels),
  metrics: () => every(3000, loadMetrics),
};

// a session from before (the cookie is sent by the browser): pick it up
fetch('/admin/api/session', { credentials: 'same-origin' })
  .then((r) => (r.ok ? r.json() : null))
  .then((s) => { if (s) signedIn(s); })
  .catch(() => {})
  .finally(route);
