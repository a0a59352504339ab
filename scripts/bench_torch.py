#!/usr/bin/python3
"""PyTorch side of `tkx bench backend`: the same model, the same workloads.

Runs with Debian's python3-torch (apt-get install --no-install-recommends
python3-torch python3-numpy; use /usr/bin/python3). Measures, for the default
local model (Llama-style decoder: L=4, d=128, 4 heads, SwiGLU hidden 352,
RMSNorm, rotary positions, tied embeddings, vocab 288, context 256):

  train_tokens_per_s       forward + backward + AdamW, full weights,
                           batch 8 x 256 tokens per step
  train_lora_tokens_per_s  the same with rank-32 LoRA adapters on every
                           linear layer and the (untied) head, base frozen
  sample_tokens_per_s_b1   KV-cache decoding, 16-token prompt, 128 new tokens
  sample_tokens_per_s_b16  the same with 16 sequences as one batch

Each figure is the best of --trials trials. Prints one JSON object with the
same keys as `tkx bench backend --json`, plus torch's version, threads and
the BLAS library actually loaded.

Debian's torch is built with BLAS_INFO=generic and uses whatever
libblas.so.3 the alternatives system points to. With only the reference
BLAS (libblas3, what --no-install-recommends gives) a 2048x128x384 matmul
runs at ~1.3 GFLOPS here; with OpenBLAS at ~23. For a fair comparison use
OpenBLAS: apt-get install libopenblas0-pthread, or without changing the
system:

  apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb /tmp/oblas
  LD_LIBRARY_PATH=/tmp/oblas/usr/lib/x86_64-linux-gnu/openblas-pthread \
      /usr/bin/python3 scripts/bench_torch.py [--threads 1] [--trials 3] [--quick]
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

L, D, H, HIDDEN, V, T = 4, 128, 4, 352, 288, 256
HD = D // H
EPS = 1e-5
THETA = 10000.0


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


class LoRALinear(nn.Module):
    """y = x W^T + s * (x A^T) B^T with A random, B zero (PEFT init)."""

    def __init__(self, base, rank, alpha=32.0):
        super().__init__()
        self.base = base
        self.base.weight.requires_grad_(False)
        self.A = nn.Parameter(torch.empty(rank, base.in_features).uniform_(-1, 1) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + self.scale * F.linear(F.linear(x, self.A), self.B)


def rope_tables(n, device=None):
    inv = 1.0 / (THETA ** (torch.arange(0, HD, 2, dtype=torch.float32) / HD))
    ang = torch.outer(torch.arange(n, dtype=torch.float32), inv)
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()


def rotate_half(x):
    x1, x2 = x[..., : HD // 2], x[..., HD // 2:]
    return torch.cat([-x2, x1], dim=-1)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm = RMSNorm(D)
        self.q_proj = nn.Linear(D, D, bias=False)
        self.k_proj = nn.Linear(D, D, bias=False)
        self.v_proj = nn.Linear(D, D, bias=False)
        self.o_proj = nn.Linear(D, D, bias=False)
        self.post_attention_layernorm = RMSNorm(D)
        self.gate_proj = nn.Linear(D, HIDDEN, bias=False)
        self.up_proj = nn.Linear(D, HIDDEN, bias=False)
        self.down_proj = nn.Linear(HIDDEN, D, bias=False)

    def forward(self, x, cos, sin, cache=None, pos=0):
        B, N, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, N, H, HD).transpose(1, 2)
        k = self.k_proj(h).view(B, N, H, HD).transpose(1, 2)
        v = self.v_proj(h).view(B, N, H, HD).transpose(1, 2)
        c, s = cos[pos:pos + N], sin[pos:pos + N]
        q = q * c + rotate_half(q) * s
        k = k * c + rotate_half(k) * s
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        att = (q @ k.transpose(-1, -2)) / math.sqrt(HD)
        if N > 1:
            mask = torch.full((N, k.shape[2]), float("-inf")).triu(k.shape[2] - N + 1)
            att = att + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, N, D)
        x = x + self.o_proj(y)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(V, D)
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        self.layers = nn.ModuleList([Block() for _ in range(L)])
        self.norm = RMSNorm(D)
        self.lm_head = None  # tied unless LoRA replaces it
        self.cos, self.sin = rope_tables(T)

    def head(self, x):
        if self.lm_head is None:
            return F.linear(x, self.embed_tokens.weight)
        return self.lm_head(x)

    def forward(self, toks, caches=None, pos=0):
        x = self.embed_tokens(toks)
        for i, layer in enumerate(self.layers):
            x = layer(x, self.cos, self.sin, None if caches is None else caches[i], pos)
        return self.head(self.norm(x))

    def add_lora(self, rank):
        for p in self.parameters():
            p.requires_grad_(False)
        for layer in self.layers:
            for name in ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]:
                setattr(layer, name, LoRALinear(getattr(layer, name), rank))
        head = nn.Linear(D, V, bias=False)
        head.weight = nn.Parameter(self.embed_tokens.weight.detach().clone())
        self.lm_head = LoRALinear(head, rank)


def bench_train(lora, steps, trials, batch=8):
    torch.manual_seed(1)
    m = Model()
    if lora:
        m.add_lora(32)
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    toks = torch.randint(0, 256, (batch, T))
    tg = torch.randint(0, 256, (batch, T))

    def step():
        opt.zero_grad(set_to_none=True)
        logits = m(toks)
        loss = F.cross_entropy(logits.view(-1, V), tg.view(-1))
        loss.backward()
        opt.step()

    step()
    best = 0.0
    for _ in range(trials):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        best = max(best, steps * batch * T / (time.perf_counter() - t0))
    return best


@torch.no_grad()
def bench_sample(batch, new_tokens, trials, prompt_len=16):
    torch.manual_seed(1)
    m = Model().eval()
    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, 256, (1, prompt_len)).expand(batch, prompt_len).contiguous()
    best = 0.0
    for _ in range(trials):
        t0 = time.perf_counter()
        caches = [dict() for _ in range(L)]
        logits = m(prompt, caches, 0)[:, -1]
        out = []
        for i in range(new_tokens):
            lp = logits.log_softmax(-1)
            tok = torch.multinomial(lp.exp(), 1, generator=g)
            out.append(tok)
            logits = m(tok, caches, prompt_len + i)[:, -1]
        best = max(best, batch * new_tokens / (time.perf_counter() - t0))
    return best


def loaded_blas():
    """The BLAS shared objects mapped into this process."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if "blas" in p:
                    libs.add(p)
    except OSError:
        pass
    return sorted(libs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    steps, new = (1, 32) if a.quick else (4, 128)
    t0 = time.time()
    rep = {
        "train_tokens_per_s": bench_train(False, steps, a.trials),
        "train_lora_tokens_per_s": bench_train(True, steps, a.trials),
        "sample_tokens_per_s_b1": bench_sample(1, new, a.trials),
        "sample_tokens_per_s_b16": bench_sample(16, new, a.trials),
        "torch": torch.__version__,
        "threads": a.threads,
        "blas": loaded_blas(),
        "trials": a.trials,
        "seconds": time.time() - t0,
    }
    print(json.dumps(rep))


if __name__ == "__main__":
    main()
