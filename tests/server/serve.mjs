// serve.mjs — starts `hearth serve` for the node tests (openai*.test.mjs,
// tests/rag/node/vector_stores.test.mjs) and
// stops it: the port comes from its "listening on" line (--port 0 picks a
// free one); stopping sends SIGTERM and returns the exit code.
import { spawn } from 'node:child_process';

// Starts bin with args and waits for the first match of re (its group 1: the
// port) on stderr; { server, port }. Rejects when it exits first or after 30 s.
export async function startProcess(bin, args, re) {
  const server = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 30000);
    server.stderr.on('data', (d) => {
      err += d;
      const m = re.exec(err);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    server.on('exit', (c) => reject(new Error(`server exited (${c}): ${err}`)));
  });
  return { server, port };
}

export async function startServe(bin, args) {
  return startProcess(bin, ['serve', ...args, '--port', '0'], /listening on http:\/\/[\d.]+:(\d+)/);
}

export async function stopServe(server) {
  const exited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
  server.kill('SIGTERM');
  return exited;
}
