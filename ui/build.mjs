// build.mjs — `npm run build`: makes ui/dist, the files hearth embeds (CMake
// turns ui/dist into a C source; cmake/embed_ui.cmake). It only copies: the
// pages' own sources (src/ -> dist/, admin/ -> dist/admin/) and the two
// vendored ES modules from node_modules (versions pinned in
// package-lock.json) with their licences. No bundler, no transpiling: the
// browser loads plain ES modules. Commit ui/dist after running it.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ui = dirname(fileURLToPath(import.meta.url));
const dist = join(ui, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'vendor'), { recursive: true });
cpSync(join(ui, 'src'), dist, { recursive: true });
if (existsSync(join(ui, 'admin'))) cpSync(join(ui, 'admin'), join(dist, 'admin'), { recursive: true });

// vendored modules: [package, file in the package, name in dist/vendor, licence file]
const vendored = [
  ['marked', 'lib/marked.esm.js', 'marked.js', 'LICENSE'],
  ['dompurify', 'dist/purify.es.mjs', 'purify.js', 'LICENSE'],
];
for (const [pkg, file, name, licence] of vendored) {
  const dir = join(ui, 'node_modules', pkg);
  if (!existsSync(join(dir, file))) throw new Error(`${pkg} is not installed: run npm ci in ui/ first`);
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  // the source map is not shipped: drop the comment that points at it
  const code = readFileSync(join(dir, file), 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  writeFileSync(join(dist, 'vendor', name), `// ${pkg} ${version} (npm), vendored by ui/build.mjs\n${code}`);
  cpSync(join(dir, licence), join(dist, 'vendor', `${name.replace(/\.js$/, '')}.LICENSE.txt`));
}
console.log(`ui/dist built (${vendored.map(([p]) => p).join(', ')} vendored)`);
