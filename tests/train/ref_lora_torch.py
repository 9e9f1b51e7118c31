#!/usr/bin/python3
"""ref_lora_torch.py — an independent PyTorch implementation of hearth's LoRA
training, for the trajectory-parity test (tests/train/test_train_parity.c).

It computes in float64 by default (--dtype), so that the reference is the
exact maths of the settings: Debian's torch 1.13 in float32 is already 1.3e-4
(relative) off float64 in the step-1 gradient of this model, hearth's float32
about 1.5e-5.

It reads the base model from its GGUF file with numpy (no hearth code: its own
GGUF parser, llama forward, LoRA, AdamW from torch, cosine schedule), trains a
LoRA with the given settings on Alpaca records and writes:
  OUT/init_adapter/         the starting adapter as a PEFT folder
                            (adapter_config.json + adapter_model.safetensors,
                            PEFT's initialisation: A kaiming-uniform, B zero)
  OUT/tokens.json           per record: token ids and the loss mask
  OUT/trajectory.json       settings; per step: the record trained, the loss
                            (mean cross-entropy over the step's scored tokens,
                            as PyTorch/TRL print it), the gradient norm before
                            clipping and the learning rate; after training:
                            the greedy answer to every question

Tokenization: each record's full text (Alpaca prompt + answer) is tokenized
JOINTLY, as TRL does; the scored tokens are those after the longest common
prefix with the tokenized prompt, plus the end-of-sequence token. The token
ids come from `hearth tokenize` (the model's SentencePiece vocabulary; there
is no sentencepiece package in Debian's Python for this GGUF vocabulary), so
the C test checks that hearth's data loader produces the same ids and masks.

Data order: epoch e visits the records in the order of hearth's seeded shuffle
(xorshift64, re-implemented below), so both see the same sequence of records.

Requires Debian's python3-torch and python3-numpy. The C test does not.
Usage (from the repository root):
  /usr/bin/python3 tests/train/ref_lora_torch.py --model tests/data/models/licenses-llama-f16.gguf \
      --data tests/data/train/parity/qa30.jsonl --hearth build/hearth --out tests/data/train/parity \
      --epochs 40 --steps-logged 1200
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np
import torch

MODEL_PATH = ""
ALPACA_SYSTEM = ("Below is an instruction that describes a task. Write a response that appropriately "
                 "completes the request.")


# ==== GGUF (v2/v3) reader: metadata and F32/F16/Q8_0 tensors (Q8_0 dequantized) ======================================
def read_gguf(path):
    with open(path, "rb") as f:
        buf = f.read()
    off = 0

    def take(fmt):
        nonlocal off
        v = struct.unpack_from("<" + fmt, buf, off)
        off += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal off
        n = take("Q")
        s = buf[off:off + n].decode("utf-8", "replace")
        off += n
        return s

    SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t in SCALAR:
            return take(SCALAR[t])
        if t == 8:
            return string()
        if t == 9:
            et = take("I")
            n = take("Q")
            return [value(et) for _ in range(n)]
        raise ValueError("gguf: unknown value type %d" % t)

    assert buf[:4] == b"GGUF", "not a GGUF file"
    off = 4
    version = take("I")
    assert version in (2, 3)
    n_tensors = take("Q")
    n_kv = take("Q")
    meta = {}
    for _ in range(n_kv):
        k = string()
        t = take("I")
        meta[k] = value(t)
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = take("I")
        ne = [take("Q") for _ in range(nd)]
        typ = take("I")
        toff = take("Q")
        infos.append((name, ne, typ, toff))
    align = meta.get("general.alignment", 32)
    data0 = (off + align - 1) // align * align
    tensors = {}
    for name, ne, typ, toff in infos:
        n = int(np.prod(ne))
        if typ == 0:
            a = np.frombuffer(buf, dtype="<f4", count=n, offset=data0 + toff)
        elif typ == 1:
            a = np.frombuffer(buf, dtype="<f2", count=n, offset=data0 + toff).astype(np.float32)
        elif typ == 8:   # Q8_0: blocks of 32 weights, an F16 scale then 32 int8
            blk = np.frombuffer(buf, dtype=np.dtype([("d", "<f2"), ("q", "i1", 32)]), count=n // 32, offset=data0 + toff)
            a = (blk["d"].astype(np.float32)[:, None] * blk["q"].astype(np.float32)).reshape(-1)
        else:
            raise ValueError("tensor %s: type %d not supported by this reference (F32/F16/Q8_0 only)" % (name, typ))
        tensors[name] = torch.from_numpy(a.reshape(list(reversed(ne))).copy())   # (ne1, ne0) = (out, in)
    return meta, tensors


# ==== the model ============================================================================
class Llama:
    def __init__(self, meta, T):
        a = meta["general.architecture"]
        self.C = meta[a + ".embedding_length"]
        self.L = meta[a + ".block_count"]
        self.H = meta[a + ".attention.head_count"]
        self.KVH = meta.get(a + ".attention.head_count_kv", self.H)
        self.hd = self.C // self.H
        self.eps = meta[a + ".attention.layer_norm_rms_epsilon"]
        self.base = meta.get(a + ".rope.freq_base", 10000.0)
        self.n_rot = meta.get(a + ".rope.dimension_count", self.hd)
        self.T = T
        self.W = T
        self.tied = "output.weight" not in T


def rmsnorm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(x, n_rot, base):
    """GGUF llama layout: pairs (2i, 2i+1) of each head rotate by pos * base^(-2i/n_rot)."""
    Tn, H, hd = x.shape
    pos = torch.arange(Tn, dtype=torch.float64)[:, None]
    inv = base ** (-torch.arange(0, n_rot, 2, dtype=torch.float64) / n_rot)
    ang = (pos * inv[None, :])
    c = torch.cos(ang).to(x.dtype)[:, None, :]
    s = torch.sin(ang).to(x.dtype)[:, None, :]
    xr = x[..., :n_rot]
    x0, x1 = xr[..., 0::2], xr[..., 1::2]
    y0 = x0 * c - x1 * s
    y1 = x0 * s + x1 * c
    y = torch.stack([y0, y1], dim=-1).reshape(Tn, H, n_rot)
    return torch.cat([y, x[..., n_rot:]], dim=-1)


TARGETS = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
PEFT_NAME = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
             "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
             "ffn_down": "mlp.down_proj"}


def forward(m, lora, scale, tokens, rows=None):
    """logits (T, V) for tokens (T,); rows: only those positions' logits (the vocabulary-wide
    output projection is most of the cost of this small model)"""
    T = m.T
    x = T["token_embd.weight"][tokens]
    Tn = x.shape[0]
    causal = torch.full((Tn, Tn), float("-inf")).triu(1)

    def lin(l, name, inp):
        w = T["blk.%d.%s.weight" % (l, name)]
        y = inp @ w.t()
        key = "blk.%d.%s.weight" % (l, name)
        if key in lora:
            A, B = lora[key]
            y = y + scale * ((inp @ A.t()) @ B.t())
        return y

    for l in range(m.L):
        xn = rmsnorm(x, T["blk.%d.attn_norm.weight" % l], m.eps)
        q = lin(l, "attn_q", xn).view(Tn, m.H, m.hd)
        k = lin(l, "attn_k", xn).view(Tn, m.KVH, m.hd)
        v = lin(l, "attn_v", xn).view(Tn, m.KVH, m.hd)
        q, k = rope(q, m.n_rot, m.base), rope(k, m.n_rot, m.base)
        g = m.H // m.KVH
        k = k.repeat_interleave(g, dim=1)
        v = v.repeat_interleave(g, dim=1)
        att = torch.einsum("thd,shd->hts", q, k) / math.sqrt(m.hd) + causal
        att = torch.softmax(att, dim=-1)
        ao = torch.einsum("hts,shd->thd", att, v).reshape(Tn, m.H * m.hd)
        x = x + lin(l, "attn_output", ao)
        xn = rmsnorm(x, T["blk.%d.ffn_norm.weight" % l], m.eps)
        h = torch.nn.functional.silu(lin(l, "ffn_gate", xn)) * lin(l, "ffn_up", xn)
        x = x + lin(l, "ffn_down", h)
    x = rmsnorm(x, T["output_norm.weight"], m.eps)
    if rows is not None:
        x = x[rows]
    wout = T["token_embd.weight"] if m.tied else T["output.weight"]
    return x @ wout.t()


# ==== data ===================================================================================
def alpaca_prompt(instr, inp=None, system=None):
    p = (system or ALPACA_SYSTEM) + "\n\n### Instruction:\n" + instr + "\n\n"
    if inp:
        p += "### Input:\n" + inp + "\n\n"
    return p + "### Response:\n"


def hearth_tokenize(hearth, model, text):
    path = "/tmp/ref_lora_torch_%d.txt" % os.getpid()
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))
    out = subprocess.run([hearth, "tokenize", "-m", model, "-f", path], check=True, capture_output=True).stdout
    os.unlink(path)
    ids = []
    for line in out.decode("utf-8", "replace").split("\n"):
        head = line.split(" ", 1)[0]
        if head.isdigit() and line[len(head):len(head) + 2] == " '":
            ids.append(int(head))
    return ids


def epoch_order(n, seed, e):
    """hearth's seeded shuffle of n records for epoch e (cmd_train.c / train_loop.c)"""
    M = (1 << 64) - 1
    s = (seed * 0x9E3779B97F4A7C15 + e * 0xBF58476D1CE4E5B9 + 1) & M
    o = list(range(n))
    for i in range(n - 1, 0, -1):
        s ^= (s << 13) & M
        s ^= s >> 7
        s ^= (s << 17) & M
        j = s % (i + 1)
        o[i], o[j] = o[j], o[i]
    return o


# ==== PEFT folder ==========================================================================
def save_peft(path, lora, r, alpha, layers):
    os.makedirs(path, exist_ok=True)
    header, blobs, off = {}, [], 0
    for l in range(layers):
        for t in TARGETS:
            key = "blk.%d.%s.weight" % (l, t)
            A, B = lora[key]
            for which, w in (("lora_A", A), ("lora_B", B)):
                name = "base_model.model.model.layers.%d.%s.%s.weight" % (l, PEFT_NAME[t], which)
                b = w.detach().numpy().astype("<f4").tobytes()
                header[name] = {"dtype": "F32", "shape": list(w.shape), "data_offsets": [off, off + len(b)]}
                blobs.append(b)
                off += len(b)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(os.path.join(path, "adapter_model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    cfg = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "lora_dropout": 0.0,
           "target_modules": sorted(set(PEFT_NAME[t].split(".")[1] for t in TARGETS)), "bias": "none",
           "use_rslora": False, "base_model_name_or_path": os.path.basename(MODEL_PATH)}
    with open(os.path.join(path, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")


# ==== main ===================================================================================
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--hearth", default="build/hearth")
    ap.add_argument("--out", required=True)
    ap.add_argument("--r", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--steps-logged", type=int, default=100000)
    ap.add_argument("--max-answer", type=int, default=16)
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    args = ap.parse_args()
    global MODEL_PATH
    MODEL_PATH = args.model
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)

    meta, T = read_gguf(args.model)
    DT = torch.float64 if args.dtype == "float64" else torch.float32
    for k in list(T):
        T[k] = T[k].to(DT)
    m = Llama(meta, T)
    eos = meta["tokenizer.ggml.eos_token_id"]

    # records, tokenized jointly
    recs = [json.loads(l) for l in open(args.data, encoding="utf-8") if l.strip()]
    data = []
    for rec in recs:
        prompt = alpaca_prompt(rec["instruction"], rec.get("input"), rec.get("system"))
        p_ids = hearth_tokenize(args.hearth, args.model, prompt)
        f_ids = hearth_tokenize(args.hearth, args.model, prompt + rec["output"]) + [eos]
        a = 0
        while a < len(p_ids) and a < len(f_ids) and p_ids[a] == f_ids[a]:
            a += 1
        mask = [0] * a + [1] * (len(f_ids) - a)
        data.append({"tokens": f_ids, "mask": mask, "prompt_tokens": p_ids})
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "tokens.json"), "w") as f:
        json.dump([{"tokens": d["tokens"], "mask": d["mask"]} for d in data], f)
        f.write("\n")

    # the starting adapter: PEFT's initialisation (A kaiming-uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B zero)
    lora = {}
    for l in range(m.L):
        for t in TARGETS:
            key = "blk.%d.%s.weight" % (l, t)
            n_out, n_in = T[key].shape
            bound = 1.0 / math.sqrt(n_in)
            A = ((torch.rand(args.r, n_in, dtype=torch.float32) * 2 - 1) * bound).to(DT)   # F32 values, as saved
            B = torch.zeros(n_out, args.r, dtype=DT)
            lora[key] = (A.requires_grad_(), B.requires_grad_())
    save_peft(os.path.join(args.out, "init_adapter"), lora, args.r, args.alpha, m.L)
    params = [p for ab in lora.values() for p in ab]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    total = args.epochs * len(data)
    scale = args.alpha / args.r

    steps = []
    step = 0
    for e in range(args.epochs):
        for i in epoch_order(len(data), args.seed, e):
            d = data[i]
            toks = torch.tensor(d["tokens"])
            tgt = torch.tensor(d["mask"][1:], dtype=torch.bool)
            lr = args.lr * 0.5 * (1 + math.cos(math.pi * step / total))   # cosine, no warmup, to 0
            for g in opt.param_groups:
                g["lr"] = lr
            logits = forward(m, lora, scale, toks[:-1], rows=tgt)
            loss = torch.nn.functional.cross_entropy(logits, toks[1:][tgt])   # mean over scored tokens
            opt.zero_grad()
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(params, args.clip)
            opt.step()
            step += 1
            if step <= args.steps_logged:
                steps.append({"step": step, "record": i, "loss": float(loss), "grad_norm": float(gn), "lr": lr})
            if step % 100 == 0:
                print("step %d/%d loss %.4f grad_norm %.4f" % (step, total, float(loss), float(gn)), file=sys.stderr)

    # greedy answers after training
    answers, exact = [], 0
    with torch.no_grad():
        for rec, d in zip(recs, data):
            ids = list(d["prompt_tokens"])
            out = []
            for _ in range(args.max_answer):
                nxt = int(forward(m, lora, scale, torch.tensor(ids), rows=[len(ids) - 1])[-1].argmax())
                if nxt == eos:
                    break
                out.append(nxt)
                ids.append(nxt)
            answers.append(out)
            want = d["tokens"][len(d["tokens"]) - sum(d["mask"]):-1]
            exact += out == want
    print("exact after training: %d/%d" % (exact, len(recs)), file=sys.stderr)
    traj = {
        "reference": "tests/train/ref_lora_torch.py, torch %s, %s, 1 thread" % (torch.__version__, args.dtype),
        "model": os.path.basename(args.model),
        "data": os.path.basename(args.data),
        "settings": {"r": args.r, "alpha": args.alpha, "targets": "q,k,v,o,gate,up,down", "lr": args.lr,
                     "schedule": "cosine to 0, no warmup", "epochs": args.epochs, "batch": 1, "dropout": 0.0,
                     "grad_clip": args.clip, "seed": args.seed, "optimizer": "AdamW(0.9, 0.999, 1e-8, wd 0)",
                     "loss": "mean cross-entropy over the step's scored tokens (answer + EOS)",
                     "tokenization": "prompt + answer tokenized jointly; scored from the first token after the "
                                     "longest common prefix with the tokenized prompt, EOS appended"},
        "total_steps": total,
        "steps": steps,
        "exact_after": exact,
        "answers_after": answers,
    }
    with open(os.path.join(args.out, "trajectory.json"), "w") as f:
        json.dump(traj, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
