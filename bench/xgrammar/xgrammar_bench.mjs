// xgrammar_bench.mjs — XGrammar's WebAssembly build (npm @mlc-ai/web-xgrammar,
// pinned in package-lock.json) on the same task as `hearth grammar bench`:
// compile the schema with json.dumps separators, then at each forced token
// compute the full token bitmask and accept the token; 3 passes (a fresh
// matcher each), best per step. Prints the same JSON line.
//
//   cd bench/xgrammar && npm ci
//   hearth grammar bench --schema S.json -m VOCAB.gguf --instance I.json --dump-vocab /tmp/v.json
//   node bench/xgrammar/xgrammar_bench.mjs S.json /tmp/v.json
import fs from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

// the package's wasm loader expects CommonJS globals under node
globalThis.require = createRequire(import.meta.url);
globalThis.__filename = fileURLToPath(import.meta.url);
globalThis.__dirname = new URL(".", import.meta.url).pathname;
await import("@mlc-ai/web-xgrammar");
const xgr = globalThis.xgrammar;   // a UMD bundle: it registers itself there

const [schemaPath, vocabPath] = process.argv.slice(2);
const schema = fs.readFileSync(schemaPath, "utf8");
const dump = JSON.parse(fs.readFileSync(vocabPath, "utf8"));
const info = await xgr.TokenizerInfo.createTokenizerInfo(dump.vocab, dump.vocab_type, false, dump.vocab.length,
                                                          dump.eos >= 0 ? [dump.eos] : []);
const compiler = await xgr.GrammarCompiler.createGrammarCompiler(info, false);
let t0 = performance.now();
const compiled = await compiler.compileJSONSchema(schema, false, -1, [", ", ": "], true);   // indent -1: none (json.dumps)
const compileUs = (performance.now() - t0) * 1000;
const best = dump.ids.map(() => Infinity);
for (let pass = 0; pass < 3; pass++) {
  const m = await xgr.GrammarMatcher.createGrammarMatcher(compiled);
  for (let k = 0; k < dump.ids.length; k++) {
    t0 = performance.now();
    const mask = await m.getNextTokenBitmask();
    const us = (performance.now() - t0) * 1000;
    if (us < best[k]) best[k] = us;
    const id = dump.ids[k];
    if (!((mask[id >> 5] >>> (id & 31)) & 1) || !m.acceptToken(id)) {
      console.error(`token ${k} (id ${id}) not allowed by XGrammar`);
      process.exit(1);
    }
  }
  m.dispose();
}
best.sort((a, b) => a - b);
const n = best.length;
const p50 = best[Math.floor((n - 1) / 2)], p99 = best[Math.round((n - 1) * 0.99)];
console.log(JSON.stringify({compile_us: +compileUs.toFixed(1), mask_us_p50: +p50.toFixed(2), mask_us_p99: +p99.toFixed(2), tokens: n}));
