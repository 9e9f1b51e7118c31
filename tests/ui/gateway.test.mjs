// gateway.test.mjs — the chat playground in a real browser (Debian's chromium,
// playwright-core) through `hearth gateway` (pages without a key, the API
// with one) in front of a fake upstream whose answers the test writes:
//   - a reply carrying HTML and script runs no script (page-level flag);
//   - the server going away mid-reply: the page says so and recovers;
//   - stop, regenerate, export as JSON.
// Run: HEARTH_BIN=build/hearth node --test tests/ui/gateway.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as h from './harness.mjs';

let browser;
before(async () => { browser = await h.launchBrowser(); });
after(async () => { await browser?.close(); });

// ---- through hearth gateway, in front of an upstream whose answers the test writes
test('HTML and script in a reply run nothing; a server gone mid-reply is reported and recovered from', async (t) => {
  const dir = h.tempDir();
  let next = { chunks: ['ok'] };
  const fake = await h.startFakeUpstream(() => next);
  let gw = await h.startGateway(dir.path, [fake.url]);
  t.after(async () => { await h.stop(gw); await fake.close(); dir.remove(); });
  const key = h.createKey(gw.config, 'ui-test');
  const page = await browser.newPage();
  const gbase = `http://127.0.0.1:${gw.port}`;
  await page.goto(gbase);   // the pages need no key; the API does
  await page.getByRole('status').getByText('API key needed').waitFor();
  await page.locator('#api-key').fill(key);
  await page.locator('#api-key').dispatchEvent('change');
  await page.locator('#model option[value="fake"]').waitFor({ state: 'attached' });

  // 1. hostile HTML: every way of running script we can think of, over several chunks
  next = { chunks: ['Here: <img src=x onerror="window.__pwned=1">', ' <script>window.__pwned=2</script>',
                    '<svg onload="window.__pwned=3"></svg> [link](javascript:window.__pwned=4) ',
                    '<iframe srcdoc="<script>parent.__pwned=5</script>"></iframe>',
                    '\n\n```html\n<script>alert(1)</script>\n```\n'] };
  const reply = await h.sendAndWait(page, 'show me html');
  await page.waitForTimeout(300);   // an onerror would fire now
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script ran');
  const html = await reply.locator('.body').innerHTML();
  assert.doesNotMatch(html, /onerror|onload|<script|<iframe|javascript:/i);
  assert.match(await reply.locator('.body pre code').textContent(), /<script>alert\(1\)<\/script>/,
               'code blocks show HTML as text');
  await page.locator('#log a').first().click().catch(() => {});   // the neutralised link, if one remains
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await h.screenshot(page, 'webchat-sanitised.png');

  // 2. the gateway dies while the reply streams: the page says so
  next = { chunks: ['The first part', ' of a reply'], hang: true };
  await page.getByRole('textbox', { name: 'Message' }).fill('a long answer please');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.getByRole('log').getByText('The first part of a reply').waitFor();
  gw.proc.kill('SIGKILL');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /server went away mid-reply/);
  await page.waitForFunction(() => !document.querySelector('#log .msg.streaming'));
  assert.match(await page.locator('#log .msg.assistant').last().textContent(), /The first part of a reply/);
  assert.equal(await page.getByRole('button', { name: 'Send' }).isEnabled(), true);

  // 3. it comes back on the same port: the page carries on
  gw = await h.startGateway(dir.path, [fake.url], { port: new URL(gbase).port });
  next = { chunks: ['Back', ' again.'] };
  const back = await h.sendAndWait(page, 'are you back?');
  assert.equal((await back.locator('.body').textContent()).trim(), 'Back again.');
  assert.equal(await alert.isHidden(), true);
  await page.close();
});

test('stop mid-reply, regenerate the last reply, export the conversation as JSON', async (t) => {
  const dir = h.tempDir();
  let next = { chunks: ['Partial'], hang: true };
  const fake = await h.startFakeUpstream(() => next);
  const gw = await h.startGateway(dir.path, [fake.url]);
  t.after(async () => { await h.stop(gw); await fake.close(); dir.remove(); });
  const key = h.createKey(gw.config, 'ui-test-2');
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${gw.port}`);
  await page.locator('#api-key').fill(key);
  await page.locator('#api-key').dispatchEvent('change');
  await page.locator('#model option[value="fake"]').waitFor({ state: 'attached' });

  await page.getByRole('textbox', { name: 'Message' }).fill('never ending');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.getByRole('log').getByText('Partial').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Send' }).isDisabled(), true, 'no second send while one streams');
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.waitForFunction(() => !document.querySelector('#log .msg.streaming'));
  const stopped = page.locator('#log .msg.assistant').last();
  assert.match(await stopped.locator('.stats').textContent(), /stopped/);
  assert.equal((await stopped.locator('.body').textContent()).trim(), 'Partial');
  assert.equal(await page.getByRole('alert').isHidden(), true, 'stopping is not an error');

  next = { chunks: ['Second', ' answer.'] };
  await page.getByRole('button', { name: 'Regenerate' }).click();
  await page.getByRole('log').getByText('Second answer.').waitFor();
  await page.waitForFunction(() => !document.querySelector('#log .msg.streaming'));
  assert.equal(await page.locator('#log .msg.assistant').count(), 1, 'the stopped reply was replaced');

  const [download] = await Promise.all([page.waitForEvent('download'),
                                        page.getByRole('button', { name: 'Export as JSON' }).click()]);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
  const conv = exported.conversations.find((c) => c.title === 'never ending');
  assert.deepEqual(conv.messages.map((m) => [m.role, m.content]),
                   [['user', 'never ending'], ['assistant', 'Second answer.']]);
  assert.equal(conv.messages[1].stats.completion_tokens, 2);
  await page.close();
});

