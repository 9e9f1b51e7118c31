// vector_stores.test.mjs — `hearth serve --rag-db DIR` driven by the official
// OpenAI client (npm "openai", pinned in package-lock.json): files upload,
// vector stores (create with files, add a file with attributes, a file batch,
// list, retrieve, search with and without filters, delete), a corrupt file
// reported as failed, errors (unknown store 404, malformed filter 400), and a
// grounded chat completion (a file_search tool) that returns its sources.
// The same API behind the enterprise gateway (serve --gateway-config): an API
// key is needed, and uploads, stores, search and grounded chat pass through.
// Run: HEARTH_BIN=build/hearth HEARTH_MODEL=... HEARTH_RAG_DATA=tests/data/rag node --test
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { startProcess, startServe, stopServe } from './serve.mjs';

const bin = process.env.HEARTH_BIN;
const model = process.env.HEARTH_MODEL;
const data = process.env.HEARTH_RAG_DATA;
let server, client, dir;

before(async () => {
  assert.ok(bin && model && data, 'HEARTH_BIN, HEARTH_MODEL and HEARTH_RAG_DATA must be set');
  dir = mkdtempSync(join(tmpdir(), 'hearth-vs-'));
  let port;
  ({ server, port } = await startServe(bin, ['--model', `chat=${model}`, '-t', '2', '--parallel', '2',
                                             '--rag-db', join(dir, 'store')]));
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
});

after(async () => {
  if (server) assert.equal(await stopServe(server), 0, 'the server exits 0 on SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});


const upload = async (name, bytes) => client.files.create({ file: await toFile(bytes, name), purpose: 'assistants' });
const text = (s) => Buffer.from(s, 'utf8');

test('files, vector stores, search, grounded chat', async () => {
  const pdf = await upload('manual.pdf', readFileSync(join(data, 'manual.pdf')));
  assert.equal(pdf.object, 'file');
  assert.equal(pdf.filename, 'manual.pdf');
  assert.equal(pdf.bytes, readFileSync(join(data, 'manual.pdf')).length);
  const docx = await upload('kiln.docx', readFileSync(join(data, 'kiln.docx')));
  const md = await upload('bread.md', text('# Bread\n\n## Proofing\n\nLet the dough rise for two hours.\n'));
  const locked = await upload('locked.pdf', readFileSync(join(data, 'encrypted.pdf')));

  // a store made with files
  const vs = await client.vectorStores.create({ name: 'handbook', file_ids: [pdf.id], metadata: { team: 'ops' } });
  assert.equal(vs.object, 'vector_store');
  assert.equal(vs.name, 'handbook');
  assert.equal(vs.status, 'completed');
  assert.equal(vs.file_counts.completed, 1);
  assert.deepEqual(vs.metadata, { team: 'ops' });

  // a file with attributes; a corrupt one fails with a reason; a batch
  const f = await client.vectorStores.files.createAndPoll(vs.id, { file_id: docx.id, attributes: { kind: 'safety' } });
  assert.equal(f.status, 'completed');
  assert.deepEqual(f.attributes, { kind: 'safety' });
  const bad = await client.vectorStores.files.createAndPoll(vs.id, { file_id: locked.id });
  assert.equal(bad.status, 'failed');
  assert.match(bad.last_error.message, /locked\.pdf.*encrypted/);
  const batch = await client.vectorStores.fileBatches.createAndPoll(vs.id, { file_ids: [md.id] });
  assert.equal(batch.status, 'completed');
  assert.equal(batch.file_counts.completed, 1);

  const files = [];
  for await (const x of client.vectorStores.files.list(vs.id)) files.push(x);
  assert.deepEqual(files.map((x) => x.status).sort(), ['completed', 'completed', 'completed', 'failed']);
  const again = await client.vectorStores.retrieve(vs.id);
  assert.equal(again.file_counts.completed, 3);
  assert.equal(again.file_counts.failed, 1);
  const stores = [];
  for await (const s of client.vectorStores.list()) stores.push(s.id);
  assert.deepEqual(stores, [vs.id]);

  // search: the chunk that holds the answer first, with its file and text
  const page = await client.vectorStores.search(vs.id, { query: 'how often is the chimney flue swept', max_num_results: 3 });
  assert.ok(page.data.length >= 1 && page.data.length <= 3);
  assert.equal(page.data[0].file_id, pdf.id);
  assert.equal(page.data[0].filename, 'manual.pdf');
  assert.match(page.data[0].content[0].text, /twice a year/);
  assert.ok(page.data[0].score > 0 && page.data[0].score <= 1);
  // a filter on attributes keeps only matching files
  const filtered = await client.vectorStores.search(vs.id, {
    query: 'temperature shelves pots', filters: { type: 'eq', key: 'kind', value: 'safety' } });
  assert.ok(filtered.data.length >= 1);
  for (const r of filtered.data) assert.equal(r.file_id, docx.id);

  // errors
  await assert.rejects(client.vectorStores.retrieve('vs_000000000000000000000000'), (e) => e.status === 404);
  await assert.rejects(client.vectorStores.search(vs.id, { query: 'x', filters: { type: 'like', key: 'a', value: 1 } }),
                       (e) => e.status === 400 && /filter/.test(e.message));

  // grounded chat: sources come back with the answer
  const r = await client.chat.completions.create({
    model: 'chat', max_tokens: 8, temperature: 0,
    messages: [{ role: 'user', content: 'How long should bread dough rise?' }],
    tools: [{ type: 'file_search', vector_store_ids: [vs.id], max_num_results: 2 }],
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(Array.isArray(r.sources) && r.sources.length >= 1 && r.sources.length <= 2);
  assert.equal(r.sources[0].filename, 'bread.md');
  assert.equal(r.sources[0].index, 1);
  assert.match(r.sources[0].text, /two hours/);

  // delete a file from the store, then the store
  const del = await client.vectorStores.files.del(vs.id, md.id);
  assert.equal(del.deleted, true);
  const after = await client.vectorStores.search(vs.id, { query: 'dough rise' });
  for (const x of after.data) assert.notEqual(x.file_id, md.id);
  const gone = await client.vectorStores.del(vs.id);
  assert.equal(gone.deleted, true);
  await assert.rejects(client.vectorStores.retrieve(vs.id), (e) => e.status === 404);
  const fdel = await client.files.del(md.id);
  assert.equal(fdel.deleted, true);
});

test('behind the gateway: a key is needed; uploads, stores, search and grounded chat pass through', async () => {
  const gw = join(dir, 'gw.yaml'), keysCfg = join(dir, 'gw-keys.yaml');
  const common = `keys_db: ${join(dir, 'keys.db')}\naudit:\n  db: ${join(dir, 'audit.db')}\n`;
  writeFileSync(gw, `listen:\n  host: 127.0.0.1\n  port: 0\n${common}`);
  writeFileSync(keysCfg, `upstream:\n  replicas:\n    - http://127.0.0.1:1\n${common}`);
  const key = execFileSync(bin, ['keys', '--config', keysCfg, 'create', '--name', 'rag'], { encoding: 'utf8' })
    .trim().split('\n').pop();
  assert.match(key, /^hk_/);
  const { server: p, port } = await startProcess(bin, ['serve', '--model', `chat=${model}`, '-t', '2', '--parallel', '2',
    '--rag-db', join(dir, 'store-gw'), '--gateway-config', gw], /gateway listening on port (\d+)/);
  try {
    const base = `http://127.0.0.1:${port}/v1`;
    const anon = new OpenAI({ baseURL: base, apiKey: 'hk_wrong', maxRetries: 0 });
    await assert.rejects(anon.vectorStores.create({ name: 'x' }), (e) => e.status === 401);
    const gc = new OpenAI({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 60000 });
    const f = await gc.files.create({ file: await toFile(readFileSync(join(data, 'manual.pdf')), 'manual.pdf'),
                                      purpose: 'assistants' });
    const vs = await gc.vectorStores.create({ name: 'gw', file_ids: [f.id] });
    assert.equal(vs.file_counts.completed, 1);
    const page = await gc.vectorStores.search(vs.id, { query: 'boiler pressure' });
    assert.equal(page.data[0].filename, 'manual.pdf');
    assert.equal(page.data[0].page, 1);
    const r = await gc.chat.completions.create({
      model: 'chat', max_tokens: 4, temperature: 0, messages: [{ role: 'user', content: 'What pressure is safe?' }],
      tools: [{ type: 'file_search', vector_store_ids: [vs.id] }] });
    assert.equal(r.sources[0].filename, 'manual.pdf');
    assert.equal((await gc.vectorStores.del(vs.id)).deleted, true);
  } finally {
    const exited = new Promise((resolve) => p.on('exit', resolve));
    p.kill('SIGTERM');
    await exited;
  }
});
