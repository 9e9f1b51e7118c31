#!/usr/bin/env python3
"""make_fixtures.py — cut the small quant fixtures in tests/data/quant/ out of
the reference-made GGUF files (../shared/testdata/models/). Not run by ctest;
run by hand when the fixtures need remaking:

    python3 tests/quant/make_fixtures.py /work/shared/testdata/models tests/data/quant

For each case it writes <name>.bin holding the first ROWS rows of one tensor
of a quantized file (raw GGUF block bytes) and <name>.f16 holding the same
rows of the same tensor from the F16 file the quantized one was made from.
A small text index, fixtures.txt, lists: name type_id n_per_row rows.
Plain Python (struct only), so no extra packages are needed.
"""
import struct, sys, os

TYPE_SIZES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24),
              8: (32, 34), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176),
              14: (256, 210), 15: (256, 292), 30: (1, 2)}

def read_gguf(path):
    data = open(path, 'rb').read()
    off = 0
    def rd(fmt):
        nonlocal off
        v = struct.unpack_from('<' + fmt, data, off); off += struct.calcsize('<' + fmt); return v
    def rstr():
        nonlocal off
        (n,) = rd('Q'); s = data[off:off + n]; off += n; return s.decode('utf-8', 'replace')
    scal = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}
    def rval(t):
        if t in scal: return rd(scal[t])[0]
        if t == 8: return rstr()
        if t == 9:
            (et,) = rd('I'); (n,) = rd('Q'); return [rval(et) for _ in range(n)]
        raise ValueError('bad kv type %d' % t)
    magic, ver = rd('4sI')
    assert magic == b'GGUF', path
    nt, nkv = rd('QQ')
    kv = {}
    for _ in range(nkv):
        k = rstr(); (t,) = rd('I'); kv[k] = rval(t)
    tensors = {}
    for _ in range(nt):
        name = rstr(); (nd,) = rd('I'); ne = list(rd('Q' * nd)); (t,) = rd('I'); (o,) = rd('Q')
        tensors[name] = (ne, t, o)
    align = kv.get('general.alignment', 32)
    base = (off + align - 1) // align * align
    return data, base, tensors

def rows_of(gguf, name, rows):
    data, base, tensors = gguf
    ne, t, o = tensors[name]
    bs, ts = TYPE_SIZES[t]
    row_bytes = ne[0] // bs * ts
    return t, ne[0], data[base + o: base + o + row_bytes * rows]

# (fixture name, quantized file, f16 file, tensor, rows)
CASES = [
    ('q8_0', 'licenses-llama-Q8_0.gguf', 'licenses-llama-f16.gguf', 'blk.0.attn_q.weight', 64),
    ('q4_0', 'licenses-llama-Q4_0.gguf', 'licenses-llama-f16.gguf', 'blk.0.attn_q.weight', 64),
    ('q4_k', 'kq-llama-256-Q4_K_M.gguf', 'kq-llama-256-f16.gguf', 'blk.0.attn_q.weight', 32),
    ('q6_k_from_q4_k_m', 'kq-llama-256-Q4_K_M.gguf', 'kq-llama-256-f16.gguf', None, 32),
    ('q4_k_ffn_down', 'kq-llama-256-Q4_K_M.gguf', 'kq-llama-256-f16.gguf', 'blk.0.ffn_down.weight', 8),
    ('q5_k', 'kq-llama-256-Q5_K_M.gguf', 'kq-llama-256-f16.gguf', 'blk.0.attn_q.weight', 32),
    ('q6_k', 'kq-llama-256-Q6_K.gguf', 'kq-llama-256-f16.gguf', 'blk.0.attn_q.weight', 32),
]

def main():
    src, dst = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3 and sys.argv[3] == '--list':
        for f in sorted(os.listdir(src)):
            if f.endswith('.gguf') and ('llama' in f):
                _, _, ts = read_gguf(os.path.join(src, f))
                print(f, sorted({(n, t) for n, (ne, t, o) in ts.items() if n.startswith('blk.0') or 'output' in n or 'token' in n}))
        return
    os.makedirs(dst, exist_ok=True)
    index = []
    for name, qf, ff, tensor, rows in CASES:
        q = read_gguf(os.path.join(src, qf)); f = read_gguf(os.path.join(src, ff))
        if tensor is None:   # first 2-D Q6_K tensor of the file (Q4_K_M mixes in Q6_K)
            tensor = next(n for n, (ne, t, o) in q[2].items() if t == 14 and len(ne) == 2)
        t, n, qb = rows_of(q, tensor, rows)
        ft, fn, fb = rows_of(f, tensor, rows)
        assert ft == 1 and fn == n, (ft, fn, n)
        open(os.path.join(dst, name + '.bin'), 'wb').write(qb)
        open(os.path.join(dst, name + '.f16'), 'wb').write(fb)
        index.append('%s %d %d %d %s %s' % (name, t, n, rows, qf, tensor))
    with open(os.path.join(dst, 'fixtures.txt'), 'w') as fh:
        fh.write('# name type_id n_per_row rows source_file tensor  (made by tests/quant/make_fixtures.py)\n')
        fh.write('\n'.join(index) + '\n')

main()
