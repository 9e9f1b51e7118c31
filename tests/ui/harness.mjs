// harness.mjs — what the browser tests (tests/ui/*.test.mjs) share: hearth
// processes started on free 127.0.0.1 ports and stopped by the test, Debian's
// chromium driven by playwright-core (no browser download), and a fake
// OpenAI-shaped upstream whose answers the test writes (for replies no model
// gives on demand: HTML and script in a reply, a stream cut in the middle).
//
// Environment (set by ctest, tests/ui/CMakeLists.txt): HEARTH_BIN (the
// hearth command), CHROMIUM (default /usr/bin/chromium).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const bin = process.env.HEARTH_BIN;
if (!bin) throw new Error('HEARTH_BIN must name the hearth command');

export function tempDir(prefix = 'hearth-ui-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  return { path: d, remove: () => rmSync(d, { recursive: true, force: true }) };
}

// Starts `hearth <args>` and resolves { proc, port, stderr() } once its
// stderr says where it listens (re: the first group is the port).
export function startHearth(args, re, what = args[0]) {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stdout.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${what} did not start: ${err}`)); }, 60000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = re.exec(err);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]), stderr: () => err });
      }
    });
    proc.on('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`${what} exited (${code ?? sig}): ${err}`)); });
  });
}

// `hearth serve` with the small default model (no -m) unless args name one
export function startServe(args = []) {
  return startHearth(['serve', '--port', '0', '-t', '2', '--parallel', '2', ...args],
                     /listening on http:\/\/[\d.]+:(\d+)/, 'hearth serve');
}

// `hearth gateway` with a config made here: keys and audit databases in dir,
// replicas the given URLs. Returns the started process and the config path.
export async function startGateway(dir, replicas, { port = 0, extra = [] } = {}) {
  const cfg = join(dir, 'gateway.yaml');
  writeFileSync(cfg, [
    'listen: {host: 127.0.0.1, port: 0}',
    'keys_db: keys.db',
    'audit: {db: audit.db, sync: normal}',
    'upstream:',
    '  replicas:',
    ...replicas.map((r) => `    - ${r}`),
    '  health_interval_s: 1',
    '  connect_timeout_ms: 1000',
    '  request_timeout_s: 60',
    'pii: {request: allow, response: allow}',
    '',
  ].join('\n'));
  const g = await startHearth(['gateway', '--config', cfg, '--port', String(port), ...extra],
                              /listening on port (\d+)/, 'hearth gateway');
  return { ...g, config: cfg };
}

// a new key in the gateway's database (hearth keys create); returns the key
export function createKey(config, name, extra = []) {
  return execFileSync(bin, ['keys', '--config', config, 'create', '--name', name, ...extra],
                      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

// SIGTERM, then SIGKILL after 15 s; resolves with the exit code
export function stop(p) {
  if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return Promise.resolve(p?.proc.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => p.proc.kill('SIGKILL'), 15000);
    p.proc.once('exit', (code) => { clearTimeout(t); resolve(code); });
    p.proc.kill('SIGTERM');
  });
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

// A fake OpenAI-shaped upstream for the gateway: GET /health and /ready, GET /v1/models
// (one model, "fake"), POST /v1/chat/completions answered by the test's
// handler: reply(body) returns { chunks: [strings], hang: bool }, streamed as
// SSE chunks (with a pause between them); hang: the stream stops after the
// chunks and stays open (until close()).
export async function startFakeUpstream(reply) {
  const open = new Set();
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', async () => {
      if (req.method === 'GET' && (req.url === '/health' || req.url === '/ready')) return res.end('{"status":"ok"}');
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.setHeader('Content-Type', 'application/json');
        return res.end(JSON.stringify({ object: 'list', data: [{ id: 'fake', object: 'model', owned_by: 'test' }] }));
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.statusCode = 404;
        return res.end('{"error":{"message":"no such endpoint"}}');
      }
      const r = reply(JSON.parse(body));
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      open.add(res);
      res.on('close', () => open.delete(res));
      const ev = (o) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 0, model: 'fake' };
      ev({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
      for (const c of r.chunks) {
        await new Promise((ok) => setTimeout(ok, 60));
        ev({ ...base, choices: [{ index: 0, delta: { content: c }, finish_reason: null }] });
      }
      if (r.hang) return;   // the test ends this one (it kills what is in between)
      ev({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
      ev({ ...base, choices: [], usage: { prompt_tokens: 7, completion_tokens: r.chunks.length,
                                          total_tokens: 7 + r.chunks.length } });
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${srv.address().port}`,
    close: () => new Promise((ok) => { for (const r of open) r.destroy(); srv.close(ok); }),
  };
}

// HEARTH_UI_SCREENSHOTS=DIR: the tests also save screenshots of the pages there
export async function screenshot(page, name) {
  if (process.env.HEARTH_UI_SCREENSHOTS) await page.screenshot({ path: join(process.env.HEARTH_UI_SCREENSHOTS, name) });
}

// types text into the chat page's message box, sends it, and waits for the
// reply to finish; returns the reply's locator
export async function sendAndWait(page, text) {
  const before = await page.locator('#log .msg.assistant').count();
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('#log .msg.assistant').nth(before).waitFor();
  await page.waitForFunction(() => !document.querySelector('#log .msg.streaming'), null, { timeout: 60000 });
  return page.locator('#log .msg.assistant').nth(before);
}
