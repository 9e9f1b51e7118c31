#!/usr/bin/env python3
"""The PyTorch reference for bench/vision_vs_torch.sh: a CNN of 2 conv + 2 fc
layers (conv 32 - pool - conv 64 - pool - fc 128 - fc 10, ReLU, Adam 1e-3,
batch 128) on Fashion-MNIST, on a fixed number of threads.

  vision_torch.py probe SECONDS       training steps per second over SECONDS
  vision_torch.py train SECONDS       train for SECONDS of wall time, then test
Prints one JSON line."""
import gzip, json, os, sys, time

import numpy as np
import torch
import torch.nn as nn

D = os.environ.get("FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
THREADS = int(os.environ.get("THREADS", "2"))
torch.set_num_threads(THREADS)
torch.manual_seed(1)


def idx(path, n_dims):
    b = gzip.open(path).read()
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(n_dims)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * n_dims).reshape(dims)


def data(split):
    x = idx(f"{D}/{split}-images-idx3-ubyte.gz", 3).astype(np.float32) / 255.0
    y = idx(f"{D}/{split}-labels-idx1-ubyte.gz", 1).astype(np.int64)
    return torch.from_numpy((x - 0.286) / 0.353).unsqueeze(1), torch.from_numpy(y)


def model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def main():
    mode, seconds = sys.argv[1], float(sys.argv[2])
    xtr, ytr = data("train")
    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    steps, epochs, t0 = 0, 0, time.time()
    done = False
    while not done:
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr) - 127, 128):
            idxs = perm[i:i + 128]
            opt.zero_grad()
            loss = lossf(net(xtr[idxs]), ytr[idxs])
            loss.backward()
            opt.step()
            steps += 1
            if time.time() - t0 >= seconds:
                done = True
                break
        else:
            epochs += 1
    el = time.time() - t0
    out = {"mode": mode, "seconds": round(el, 1), "steps": steps, "steps_per_s": round(steps / el, 2),
           "epochs": round(steps * 128 / len(xtr), 2), "threads": THREADS}
    if mode == "train":
        xte, yte = data("t10k")
        net.eval()
        with torch.no_grad():
            pred = torch.cat([net(xte[i:i + 1000]).argmax(1) for i in range(0, len(xte), 1000)])
        out["accuracy"] = round((pred == yte).float().mean().item(), 4)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
