// admin.test.mjs — the admin console (/admin/ of hearth gateway) in a real
// browser (Debian's chromium, playwright-core), against a gateway in front of
// a fake upstream started here:
//   - a wrong admin key and a user key are refused at the login form;
//   - log in with an admin key; create a key with rpm 3 in the console (its
//     secret is shown once); use it 4 times through the API; the usage page
//     shows 3 allowed and 1 rejected; revoke it in the console; the next API
//     call gets 401; the audit page shows these events and the chain verified;
//   - a user key gets 403 from every admin route;
//   - a page on another origin that posts to the admin API with the admin's
//     cookie (CSRF) is refused and changes nothing;
//   - logging out ends the session.
// With HEARTH_SCREENSHOTS=DIR the pages are also saved as PNGs there.
// Run: HEARTH_BIN=build/hearth node --test tests/ui/admin.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import * as h from './harness.mjs';

let dir, upstream, gw, browser, page, base, adminKey, userKey;
const shots = process.env.HEARTH_SCREENSHOTS;

async function shot(name) {
  if (shots) await page.screenshot({ path: join(shots, `admin-${name}.png`), fullPage: true });
}

const chat = (key) => fetch(`${base}/v1/chat/completions`, {
  method: 'POST',
  headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ model: 'fake', messages: [{ role: 'user', content: 'hello' }], stream: true }),
}).then(async (r) => { await r.text(); return r.status; });

// the cells of the row whose text matches name in the table labelled table
async function rowCells(table, name) {
  const row = page.getByRole('table', { name: table }).getByRole('row').filter({ hasText: name });
  return row.first().getByRole('cell').allTextContents();
}

before(async () => {
  dir = h.tempDir('hearth-admin-ui-');
  upstream = await h.startFakeUpstream(() => ({ chunks: ['Hi', ' there'] }));
  gw = await h.startGateway(dir.path, [upstream.url]);
  base = `http://127.0.0.1:${gw.port}`;
  adminKey = h.createKey(gw.config, 'ops-admin', ['--role', 'admin']);
  userKey = h.createKey(gw.config, 'alice');
  browser = await h.launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  assert.equal(await h.stop(gw), 0, 'hearth gateway exits 0 on SIGTERM');
  await upstream?.close();
  dir?.remove();
});

test('wrong and user keys are refused at the login form', async () => {
  await page.goto(`${base}/admin/`);
  const key = page.getByLabel('Admin key');
  await key.fill('hk_000000000000_notarealsecretnotarealsecretnotarealsecr');
  await page.getByRole('button', { name: 'Log in' }).click();
  await assert.doesNotReject(page.getByText(/not a valid admin key/).waitFor());
  await shot('login');
  await key.fill(userKey);
  await page.getByRole('button', { name: 'Log in' }).click();
  await assert.doesNotReject(page.getByText(/this is a user key/).waitFor());
  assert.equal(await page.getByRole('navigation', { name: 'Admin' }).isVisible(), false, 'no admin menu');
  const cookies = await page.context().cookies();
  assert.equal(cookies.length, 0, 'no session cookie after refused logins');
});

test('admin: create a key with rpm 3, see 3 allowed and 1 rejected, revoke it, audit verified', async () => {
  await page.getByLabel('Admin key').fill(adminKey);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'API keys' }).waitFor();
  // the session is an HttpOnly, SameSite=Strict cookie; the key is not kept in the page
  const [cookie] = await page.context().cookies();
  assert.equal(cookie.name, 'hearth_admin');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.ok(!stored.includes(adminKey.slice(16)), 'the admin key is nowhere in storage or document.cookie');

  // create the key in the console
  await page.getByLabel('Name').fill('limited');
  await page.getByLabel('Requests per minute').fill('3');
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = page.getByLabel('New key', { exact: true });
  await assert.doesNotReject(page.getByRole('status').filter({ hasText: 'shown only once' }).waitFor());
  const key = await secret.inputValue();
  assert.match(key, /^hk_[0-9a-f]{12}_/);
  const id = key.slice(3, 15);
  await page.getByRole('row').filter({ hasText: id }).waitFor();
  assert.deepEqual((await rowCells('API keys', id)).slice(0, 5), ['limited', id, 'user', 'all', '3']);
  await shot('keys');

  // four calls through the API: the fourth is over the limit
  const codes = [];
  for (let i = 0; i < 4; i++) codes.push(await chat(key));
  assert.deepEqual(codes, [200, 200, 200, 429]);

  // the usage page counts them
  await page.getByRole('link', { name: 'Usage' }).click();
  const usageRow = page.getByRole('table', { name: 'Usage per key' }).getByRole('row').filter({ hasText: id });
  await usageRow.waitFor();
  const cells = await usageRow.getByRole('cell').allTextContents();
  assert.deepEqual(cells.slice(0, 4), ['limited', id, '3', '1'], `usage row: ${cells}`);
  assert.ok(await page.getByRole('img', { name: 'Requests over time' }).locator('rect.rejected').count() >= 1,
            'the chart has a rejected bar');
  await shot('usage');

  // revoke it in the console
  await page.getByRole('link', { name: 'Keys' }).click();
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Revoke limited' }).click();
  await page.getByRole('row').filter({ hasText: id }).getByText(/^revoked/).waitFor();
  assert.equal(await chat(key), 401, 'the revoked key is refused');

  // the audit page: the key's calls, the console's changes, the chain verified
  await page.getByRole('link', { name: 'Audit log' }).click();
  await assert.doesNotReject(page.getByRole('status').filter({ hasText: /Chain verified: all \d+ records/ }).waitFor());
  await page.getByLabel('Key ID').fill(id);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('records 1–4 of 4').waitFor();
  const statuses = await page.getByRole('table', { name: 'Audit records' }).locator('tbody tr td:nth-child(6)').allTextContents();
  assert.deepEqual(statuses, ['429', '200', '200', '200']);
  await page.getByLabel('Key ID').fill(adminKey.slice(3, 15));
  await page.getByLabel('Search', { exact: true }).fill('/admin/keys');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('records 1–2 of 2').waitFor();
  const changes = await page.getByRole('table', { name: 'Audit records' }).locator('tbody tr td:nth-child(6)').allTextContents();
  assert.deepEqual(changes, ['200', '201'], 'revoke, then create');
  // the CSV export link carries the filter and downloads through the session
  const csvHref = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  const csv = await page.evaluate((u) => fetch(u).then((r) => r.text()), csvHref);
  assert.equal(csv.trim().split('\n').length, 3, 'header + 2 rows');
  await page.getByLabel('Key ID').fill('');
  await page.getByLabel('Search', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Search' }).click();
  await shot('audit');

  // replicas, models, metrics render the gateway's state
  await page.getByRole('link', { name: 'Replicas' }).click();
  await page.getByRole('table', { name: 'Replicas' }).getByRole('row').filter({ hasText: upstream.url }).getByText('healthy').waitFor();
  await shot('replicas');
  await page.getByRole('link', { name: 'Models' }).click();
  await page.getByRole('table', { name: 'Models' }).getByRole('cell', { name: 'fake', exact: true }).waitFor();
  await page.getByRole('link', { name: 'Metrics' }).click();
  const tile = page.locator('.tile').filter({ hasText: /^Requests/ }).locator('strong');
  await tile.waitFor();
  const before = Number((await tile.textContent()).replace(/,/g, ''));
  for (let i = 0; i < 6; i++) assert.equal(await chat(userKey), 200);
  // the page refreshes itself (every 3 s) and counts them
  await page.waitForFunction((n) => Number(document.querySelector('.tile strong').textContent.replace(/,/g, '')) >= n,
                             before + 6, { timeout: 15000 });
  await shot('metrics');
});

test('a user key gets 403 from every admin route', async () => {
  const routes = [
    ['GET', 'keys'], ['POST', 'keys'], ['DELETE', 'keys/000000000000'], ['POST', 'keys/000000000000/rotate'],
    ['GET', 'usage'], ['GET', 'audit'], ['GET', 'audit.csv'], ['GET', 'audit/verify'], ['GET', 'replicas'],
    ['GET', 'models'], ['GET', 'metrics'], ['GET', 'session'],
  ];
  for (const [method, path] of routes) {
    const r = await fetch(`${base}/admin/api/${path}`, {
      method, headers: { Authorization: `Bearer ${userKey}`, 'Content-Type': 'application/json' },
      body: method === 'GET' ? undefined : '{"name":"x"}',
    });
    assert.equal(r.status, 403, `${method} /admin/api/${path}`);
  }
  for (const [method, path] of [['GET', '/admin/keys'], ['POST', '/admin/logout']]) {
    const r = await fetch(`${base}${path}`, { method, headers: { Authorization: `Bearer ${userKey}` } });
    assert.equal(r.status, 403, `${method} ${path}`);
  }
});

test('a cross-site POST with the admin cookie but without the CSRF token is refused', async () => {
  // an attacker's page on another origin: a form that posts a new admin key request
  const evil = createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(`<!doctype html><form id=f method=post enctype=text/plain action="${base}/admin/api/keys">
      <input name='{"name":"evil","role":"admin","x":"' value='"}'></form>
      <script>document.getElementById('f').submit()</script>`);
  });
  await new Promise((ok) => evil.listen(0, '127.0.0.1', ok));
  const attacker = await page.context().newPage();
  const answered = attacker.waitForResponse((r) => r.url().startsWith(`${base}/admin/api/keys`));
  await attacker.goto(`http://127.0.0.1:${evil.address().port}/`);
  const r = await answered;
  assert.equal(r.status(), 403);
  await attacker.close();
  await new Promise((ok) => evil.close(ok));
  // nothing was created
  const keys = await page.evaluate(() => fetch('/admin/api/keys').then((x) => x.json()));
  assert.ok(!keys.data.some((k) => k.name === 'evil'), 'no key named evil');
  // the same call from the console itself (with its token) works: the refusal was the token
  await page.getByRole('link', { name: 'Keys' }).click();
  await page.getByLabel('Name').fill('from-console');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.getByRole('row').filter({ hasText: 'from-console' }).waitFor();
});

test('logging out ends the session', async () => {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Admin key').waitFor();
  const status = await page.evaluate(() => fetch('/admin/api/keys').then((r) => r.status));
  assert.equal(status, 401);
  await page.reload();
  await page.getByLabel('Admin key').waitFor();
  assert.equal(await page.getByRole('navigation', { name: 'Admin' }).isVisible(), false);
});
