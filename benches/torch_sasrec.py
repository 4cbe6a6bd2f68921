#!/usr/bin/env python3
"""A PyTorch SASRec with localrec's architecture and training recipe: the peer in the benchmarks.

Mirrors src/model/seqrec.rs and src/train/fit.rs:
  - item embedding * sqrt(d) + position embedding (positions counted from the newest event, so a
    left-padded batch of length L uses the last L rows of the table) [+ event-type embedding]
    [+ mean of the item's attribute embeddings], dropout, padding zeroed;
  - pre-LayerNorm blocks: x + drop(attn(LN1 x)), x + drop(W2 drop(gelu(W1 LN2 x))) (feed-forward
    width d), dropout on the attention weights too;
    causal attention where a query sees earlier non-padding keys and always itself
    (--layout sasrec: the original SASRec block, see src/model/config.rs);
  - final LayerNorm; scores = newest hidden state . item embeddings (tied);
  - loss, against the item table (no dropout on it): sampled softmax with 256 uniform negatives
    drawn per sequence and shared by its positions, a negative equal to the position's target
    masked out (accidental hits); or, with --negatives 0, full cross-entropy over the catalogue
    (padding column excluded), logits only at the positions that have a target; mean over those
    positions;
  - Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8 as localrec's trainer), batch 128;
  - batches: drawn at random; each sorted by length and encoded in groups of similar length, each
    group left-padded to its longest history (at most max_len), as localrec's `length_groups`
    (faster here than padding the whole batch to its longest history: --no-length-groups);
  - leave-one-out: each user trains on its items except the last two (the validation and test
    targets); an example is input = steps[:-1], targets = steps[1:], the newest max_len kept.
  - init: embeddings Xavier-normal, attention matrices Xavier-uniform with zero biases, the
    feed-forward nn.Linear's default (uniform within 1/sqrt(fan_in)), LayerNorm gamma 1.

Modes:
  train-throughput --data DIR --threads T --epochs E   -> one JSON object on stdout
  export-onnx --items N --layers L --d-model 64 --heads 1 --max-len 50 --out FILE
      [--from-lrec FILE]  (take config and int8 weights, dequantised, from a localrec model file)
  An exported graph: input `ids` int64 [1, max_len] (left-padded with 0, newest last) ->
  output `scores` float [1, N+1] (column 0 is padding).
"""

import argparse
import json
import math
import os
import platform
import random
import struct
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("train-throughput", help="train on Beauty.txt and report sequences/s")
    t.add_argument("--data", required=True, help="directory with Beauty.txt (or the file itself)")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--d-model", type=int, default=64)
    t.add_argument("--layers", type=int, default=1)
    t.add_argument("--heads", type=int, default=1)
    t.add_argument("--max-len", type=int, default=50)
    t.add_argument("--dropout", type=float, default=0.5)
    t.add_argument("--layout", choices=("pre_norm", "sasrec"), default="pre_norm")
    t.add_argument("--negatives", type=int, default=256, help="0: full cross-entropy")
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--length-groups", action=argparse.BooleanOptionalAction, default=True,
                   help="encode each batch in groups of similar length as localrec does (the default: on Beauty "
                        "2,100 seq/s against 1,300 with --no-length-groups, the whole batch padded to its "
                        "longest history in one pass; 1 thread, sampled)")
    t.add_argument("--eval", action="store_true",
                   help="after training, full-ranking validation HR@10/NDCG@10 (not timed), as localrec's curve")
    e = sub.add_parser("export-onnx", help="write an inference graph with random (or given) weights")
    e.add_argument("--items", type=int)
    e.add_argument("--layers", type=int, default=2)
    e.add_argument("--d-model", type=int, default=64)
    e.add_argument("--heads", type=int, default=1)
    e.add_argument("--max-len", type=int, default=50)
    e.add_argument("--event-types", action=argparse.BooleanOptionalAction, default=True,
                   help="add the event-type embedding (every input event is a view), as `localrec random-model`")
    e.add_argument("--attributes", type=int, default=0, help="attribute vocabulary (random item attributes)")
    e.add_argument("--max-attributes", type=int, default=6)
    e.add_argument("--from-lrec", help="copy config, attributes and (dequantised int8) weights from a model.lrec")
    e.add_argument("--layout", choices=("pre_norm", "sasrec"), default="sasrec",
                   help="block layout of a random model (localrec's default); --from-lrec takes the file's")
    e.add_argument("--seed", type=int, default=42)
    e.add_argument("--opset", type=int, default=17)
    e.add_argument("--out", required=True)
    return p.parse_args()


args = parse_args()
if args.mode == "train-throughput":
    # Thread counts must be fixed before torch starts any pool.
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(args.threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

VIEW = 1  # EventKind::View's row of the event-type embedding (0 is padding)


class Block(nn.Module):
    def __init__(self, d, heads, dropout, layout="pre_norm"):
        super().__init__()
        if layout not in ("pre_norm", "sasrec"):
            raise SystemExit(f"unknown block layout {layout!r}")
        self.heads, self.layout = heads, layout
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.wqkv = nn.Linear(d, 3 * d)
        self.wo = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)
        self.w1 = nn.Linear(d, d)
        self.w2 = nn.Linear(d, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, allowed, additive):
        b, l, d = x.shape
        dh = d // self.heads
        h = self.ln1(x)
        if self.layout == "sasrec":
            # localrec's `sasrec` block: queries from LN1(x), keys and values from x.
            w, bias = self.wqkv.weight, self.wqkv.bias
            q = F.linear(h, w[:d], bias[:d])
            k, v = F.linear(x, w[d:], bias[d:]).split(d, dim=-1)
        else:
            q, k, v = self.wqkv(h).split(d, dim=-1)
        q, k, v = (t.reshape(b, l, self.heads, dh).transpose(1, 2) for t in (q, k, v))
        if additive is None:
            # Training: PyTorch's fused attention with a boolean mask (True = may attend).
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed,
                                               dropout_p=self.drop.p if self.training else 0.0)
        else:
            # Export: plain ops, the same -1e9 additive mask as localrec.
            att = torch.softmax(q @ k.transpose(2, 3) * (1.0 / math.sqrt(dh)) + additive, dim=-1)
            o = att @ v
        o = o.transpose(1, 2).reshape(b, l, d)
        if self.layout == "sasrec":
            h = self.ln2(x + self.wo(o))
            return h + self.drop(self.w2(self.drop(F.relu(self.w1(h)))))
        x = x + self.drop(self.wo(o))
        f = self.w2(self.drop(F.gelu(self.w1(self.ln2(x)))))
        return x + self.drop(f)


class SASRec(nn.Module):
    def __init__(self, n_items, d=64, layers=1, heads=1, max_len=50, dropout=0.5, event_types=False,
                 n_attributes=0, item_attrs=None, item_attr_w=None, layout="pre_norm", positions="from_newest"):
        super().__init__()
        if positions not in ("from_newest", "relative"):
            raise SystemExit(f"positions {positions!r} are not supported here")
        self.n_items, self.d, self.max_len, self.heads = n_items, d, max_len, heads
        self.item_emb = nn.Embedding(n_items + 1, d)
        # Learned positions added to the input (counted from the newest event), or localrec's
        # relative attention bias: no position in the input, each block and head adding
        # pos_bias[query - key, block * heads + head] to its attention scores.
        self.pos_emb = nn.Embedding(max_len, d) if positions == "from_newest" else None
        self.pos_bias = nn.Parameter(torch.zeros(max_len, layers * heads)) if positions == "relative" else None
        self.event_emb = nn.Embedding(5, d) if event_types else None
        self.attr_emb = nn.Embedding(n_attributes + 1, d) if n_attributes > 0 else None
        if self.attr_emb is not None:
            # [n_items + 1, K] attribute rows (0 = none) and their mean weights.
            self.register_buffer("item_attrs", item_attrs)
            self.register_buffer("item_attr_w", item_attr_w)
        self.register_buffer("eye", torch.eye(max_len, dtype=torch.bool), persistent=False)
        self.register_buffer("causal", torch.ones(max_len, max_len, dtype=torch.bool).tril(), persistent=False)
        self.blocks = nn.ModuleList(Block(d, heads, dropout, layout) for _ in range(layers))
        self.ln_final = nn.LayerNorm(d, eps=1e-5)
        self.drop = nn.Dropout(dropout)
        # Distances query - key (0 where the key is later: masked anyway), a constant buffer.
        dist = torch.arange(max_len).unsqueeze(1) - torch.arange(max_len).unsqueeze(0)
        self.register_buffer("dist", dist.clamp(min=0), persistent=False)
        for emb in (self.item_emb, self.pos_emb, self.event_emb, self.attr_emb):
            if emb is not None:
                nn.init.xavier_normal_(emb.weight)
        for blk in self.blocks:
            # As localrec: Xavier-uniform attention projections with zero biases; the
            # feed-forward keeps nn.Linear's default (uniform within 1/sqrt(fan_in)).
            for lin in (blk.wqkv, blk.wo):
                nn.init.xavier_uniform_(lin.weight)
                nn.init.zeros_(lin.bias)

    def encode(self, items, export=False):
        """items: [b, l] int64 rows, left-padded with 0. Returns [b, l, d]."""
        b, l = items.shape
        valid = items > 0
        x = self.item_emb(items) * math.sqrt(self.d)
        if self.pos_emb is not None:
            x = x + self.pos_emb.weight[self.max_len - l:]
        if self.event_emb is not None:
            x = x + self.event_emb(valid.long() * VIEW)
        if self.attr_emb is not None:
            w = self.item_attr_w[items].unsqueeze(-1)
            x = x + (self.attr_emb(self.item_attrs[items]) * w).sum(dim=2)
        x = self.drop(x) * valid.unsqueeze(-1).to(x.dtype)
        # Constant buffers (not torch.eye/tril in the graph: onnxruntime-web has no EyeLike kernel).
        eye, causal = self.eye[:l, :l], self.causal[:l, :l]
        allowed = (causal & valid.unsqueeze(1)) | eye  # [b, q, k]
        allowed = allowed.unsqueeze(1)  # [b, 1, q, k]
        additive = None
        if export or self.pos_bias is not None:
            additive = torch.where(allowed, torch.zeros((), dtype=x.dtype), torch.full((), -1e9, dtype=x.dtype))
        for i, blk in enumerate(self.blocks):
            mask = additive
            if self.pos_bias is not None:
                bias = self.pos_bias[:, i * self.heads:(i + 1) * self.heads][self.dist[:l, :l]]  # [q, k, h]
                mask = additive + bias.permute(2, 0, 1).unsqueeze(0)
            x = blk(x, allowed, mask)
        return self.ln_final(x)

    def loss(self, groups, negatives):
        """groups: [(items [b, l], targets [b, l])], one batch's histories encoded in groups of
        similar length, sequences numbered across the groups in order; negatives [B, n] (one set per
        sequence), or None for full cross-entropy over the catalogue. Mean over every position with
        a target."""
        emb = self.item_emb.weight
        hs, ts, pos, neg = [], [], [], []
        first = 0
        for items, targets in groups:
            h = self.encode(items)
            has_target = targets > 0
            if negatives is None:
                hs.append(h[has_target])
                ts.append(targets[has_target])
            else:
                negs = negatives[first:first + items.shape[0]]
                nl = torch.bmm(h, emb[negs].transpose(1, 2))  # [b, l, n]
                pl = (h * emb[targets]).sum(-1, keepdim=True)  # [b, l, 1]
                hits = negs.unsqueeze(1) == targets.unsqueeze(2)  # accidental hits
                pos.append(pl[has_target])
                neg.append(nl.masked_fill(hits, -1e9)[has_target])
            first += items.shape[0]
        if negatives is None:
            logits = torch.cat(hs) @ emb.t()  # [positions, n_items + 1]
            logits[:, 0] = float("-inf")  # the padding row takes no probability
            return F.cross_entropy(logits, torch.cat(ts))
        logits = torch.cat([torch.cat(pos), torch.cat(neg)], dim=-1)
        return -torch.log_softmax(logits, dim=-1)[:, 0].mean()


class Inference(nn.Module):
    """ids [1, max_len] -> scores [1, n_items + 1]: the newest state against the tied item table."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids):
        h = self.model.encode(ids, export=True)[:, -1, :]
        return F.linear(h, self.model.item_emb.weight)  # one Gemm, the table stored once


# ---------------------------------------------------------------------------------------------
# Data, as src/train/data.rs (seq format), src/train/prepare.rs and src/train/fit.rs (example, epoch_batches, length_groups)


def load_seq(path):
    if os.path.isdir(path):
        path = os.path.join(path, "Beauty.txt")
    vocab, users = {}, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 2:
                continue
            users.append([vocab.setdefault(it, len(vocab) + 1) for it in fields[1:]])
    return path, users, len(vocab)


def train_steps(items):
    # Purchase-only logs: validation target = second last, test = last; a user needs three items
    # for that split (else it trains on everything, as localrec's `PreparedUser::train_steps`).
    return items[:-2] if len(items) >= 3 else items


def examples(users, max_len):
    out = []
    for u in users:
        s = train_steps(u)
        if len(s) < 2:
            continue
        inp, tgt = s[:-1], s[1:]
        start = max(0, len(inp) - max_len)
        out.append((inp[start:], tgt[start:]))
    return out


def random_batches(order, batch_size, rng):
    rng.shuffle(order)
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def length_groups(sorted_idx, lengths):
    """localrec's `length_groups`: a batch sorted by length, split where padding a group to its
    longest history would cost more than a quarter extra positions (groups of 16 or fewer grow
    regardless)."""
    groups, start, real = [], 0, 0
    for i, e in enumerate(sorted_idx):
        l = lengths[e]
        n = i - start + 1
        if n > 16 and n * l * 4 > (real + l) * 5:
            groups.append(sorted_idx[start:i])
            start, real = i, 0
        real += l
    if start < len(sorted_idx):
        groups.append(sorted_idx[start:])
    return groups


def evaluate_valid(model, users, max_len, n_items):
    """Full-ranking validation HR@10 / NDCG@10, history items excluded (localrec's protocol)."""
    model.eval()
    hits = ndcg = 0.0
    n = 0
    cases = [(u[:-2], u[-2]) for u in users if len(u) >= 3]
    with torch.no_grad():
        for i in range(0, len(cases), 256):
            chunk = cases[i:i + 256]
            l = max(1, max(min(len(c[0]), max_len) for c in chunk))
            ids = torch.zeros(len(chunk), l, dtype=torch.long)
            for r, (inp, _) in enumerate(chunk):
                inp = inp[-max_len:]
                if inp:
                    ids[r, l - len(inp):] = torch.tensor(inp)
            scores = model.encode(ids)[:, -1, :] @ model.item_emb.weight.T
            for r, (inp, target) in enumerate(chunk):
                s = scores[r].clone()
                t = s[target].item()
                s[0] = -math.inf
                s[torch.tensor(inp, dtype=torch.long)] = -math.inf
                s[target] = -math.inf
                rank = int((s > t).sum().item())
                n += 1
                if rank < 10:
                    hits += 1
                    ndcg += 1.0 / math.log2(rank + 2)
    model.train()
    return {"hr@10": hits / n, "ndcg@10": ndcg / n, "users": n}


def train_throughput(a):
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    path, users, n_items = load_seq(a.data)
    exs = examples(users, a.max_len)
    lengths = [len(e[0]) for e in exs]
    # Every example left-padded to max_len once; a batch of longest length L takes the last L columns.
    inputs = np.zeros((len(exs), a.max_len), dtype=np.int64)
    targets = np.zeros((len(exs), a.max_len), dtype=np.int64)
    for i, (inp, tgt) in enumerate(exs):
        inputs[i, a.max_len - len(inp):] = inp
        targets[i, a.max_len - len(tgt):] = tgt
    model = SASRec(n_items, a.d_model, a.layers, a.heads, a.max_len, a.dropout, layout=a.layout)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    order = list(range(len(exs)))
    curve = []
    for epoch in range(1, a.epochs + 1):
        batches = random_batches(order, a.batch_size, rng)
        t0 = time.perf_counter()
        loss_sum = 0.0
        for chunk in batches:
            groups = []
            parts = length_groups(sorted(chunk, key=lambda j: lengths[j]), lengths) if a.length_groups else [chunk]
            for g in parts:
                idx = np.asarray(g)
                l = max(lengths[j] for j in g)
                groups.append((torch.from_numpy(inputs[idx, a.max_len - l:]),
                               torch.from_numpy(targets[idx, a.max_len - l:])))
            negs = torch.randint(1, n_items + 1, (len(chunk), a.negatives)) if a.negatives > 0 else None
            loss = model.loss(groups, negs)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            value = loss.item()  # localrec reads every batch's loss back too (NaN check)
            if not math.isfinite(value):
                raise SystemExit(f"loss became {value} in epoch {epoch}")
            loss_sum += value
        seconds = time.perf_counter() - t0
        curve.append({"epoch": epoch, "loss": loss_sum / len(batches), "seconds": seconds,
                      "sequences_per_second": len(exs) / seconds})
        print(f"epoch {epoch}: loss {curve[-1]['loss']:.4f}, {curve[-1]['sequences_per_second']:.0f} seq/s",
              file=sys.stderr)
    steady = curve[1:] or curve
    out = {
        "tool": "pytorch",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": a.threads,
        "torch_num_threads": torch.get_num_threads(),
        "data": {"file": os.path.abspath(path), "users": len(users), "items": n_items, "examples": len(exs)},
        "config": {"d_model": a.d_model, "layers": a.layers, "heads": a.heads, "max_len": a.max_len,
                   "dropout": a.dropout, "negatives": a.negatives, "negative_sharing": "sequence",
                   "batch_size": a.batch_size, "lr": a.lr, "seed": a.seed, "layout": a.layout,
                   "batches": "random, encoded in length groups" if a.length_groups else "random, padded to the longest",
                   "attention": "F.scaled_dot_product_attention"},
        "curve": curve,
        "sequences_per_second": len(exs) * len(curve) / sum(e["seconds"] for e in curve),
        "steady_sequences_per_second": len(exs) * len(steady) / sum(e["seconds"] for e in steady),
    }
    if a.eval:
        out["valid"] = evaluate_valid(model, users, a.max_len, n_items)
    print(json.dumps(out, indent=1))


# ---------------------------------------------------------------------------------------------
# ONNX export


def read_lists(header, payload):
    """Format version 7: the per-item lists are a payload section (src/format/lists.rs), LEB128
    columns (popularity, id lengths, then attribute counts and ids when stored) and the ids'
    text; read into the header as earlier versions held them."""
    lists, n = header["lists"], header["config"]["n_items"]
    data, at = bytes(payload[lists["offset"]:lists["offset"] + lists["bytes"]]), 0

    def column(count):
        nonlocal at
        out = []
        for _ in range(count):
            value = shift = 0
            while True:
                byte = data[at]
                at += 1
                value |= (byte & 0x7F) << shift
                shift += 7
                if byte < 0x80:
                    break
            out.append(value)
        return out

    header["popularity"] = column(n)
    lengths = column(n)
    if "attribute_ids" in lists:
        counts, ids = column(n), column(lists["attribute_ids"])
        k, header["attributes"] = 0, []
        for c in counts:
            header["attributes"].append(ids[k:k + c])
            k += c
    items = []
    for length in lengths:
        items.append(data[at:at + length].decode("utf-8"))
        at += length
    header["items"] = items


def read_lrec(path):
    """The header and dequantised f32 weights of a localrec model file (src/format/)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89LREC\r\n\x1a":
        raise SystemExit(f"{path}: not a localrec model file")
    (hlen,) = struct.unpack_from("<Q", data, 12)
    header = json.loads(data[20:20 + hlen])
    (plen,) = struct.unpack_from("<Q", data, 20 + hlen)
    payload = memoryview(data)[28 + hlen:28 + hlen + plen]
    if "lists" in header:
        read_lists(header, payload)
    weights = {}

    def int8_matrix(off, rows, cols):
        # Codes (padded to 4 bytes), then one f32 scale per row; returns the matrix and the end.
        q = np.frombuffer(payload, dtype=np.int8, count=rows * cols, offset=off).reshape(rows, cols)
        soff = off + ((rows * cols + 3) // 4) * 4
        scales = np.frombuffer(payload, dtype="<f4", count=rows, offset=soff)
        return (q.astype(np.float32) * scales[:, None]).astype(np.float32), soff + 4 * rows

    for t in header["tensors"]:
        shape, off = t["shape"], t["offset"]
        if t["dtype"].startswith("rq"):
            # Residual codes (src/format/coded.rs): the exact rows and the codebooks as int8
            # matrices, then the other rows' codes stage by stage; a row is the sum of its stages'
            # centroids.
            rows, cols = shape
            books, exact = int(t["dtype"][2:]), t["exact"]
            head, end = int8_matrix(off, exact, cols)
            centroids, end = int8_matrix(end, books * 256, cols)
            codes = np.frombuffer(payload, dtype=np.uint8, count=books * (rows - exact), offset=end)
            codes = codes.reshape(books, rows - exact)
            coded = np.zeros((rows - exact, cols), dtype=np.float32)
            for j in range(books):
                coded += centroids[j * 256 + codes[j].astype(np.int64)]
            weights[t["name"]] = np.concatenate([head, coded])
        elif t["dtype"] == "i8":
            rows, cols = shape
            q = np.frombuffer(payload, dtype=np.int8, count=rows * cols, offset=off).reshape(rows, cols)
            soff = off + ((rows * cols + 3) // 4) * 4
            scales = np.frombuffer(payload, dtype="<f4", count=rows, offset=soff)
            weights[t["name"]] = (q.astype(np.float32) * scales[:, None]).astype(np.float32)
        elif t["dtype"] == "i4":
            # Two values a byte: byte k of a row is the signed 16 * q[k + half] + q[k].
            rows, cols = shape
            half = (cols + 1) // 2
            e = np.frombuffer(payload, dtype=np.int8, count=rows * half, offset=off).reshape(rows, half).astype(np.int16)
            hi = (e + 8) >> 4
            lo = e - 16 * hi
            q = np.concatenate([lo, hi], axis=1)[:, :cols].astype(np.float32)
            soff = off + ((rows * half + 3) // 4) * 4
            scales = np.frombuffer(payload, dtype="<f4", count=rows, offset=soff)
            weights[t["name"]] = (q * scales[:, None]).astype(np.float32)
        elif t["dtype"] == "f32":
            n = int(np.prod(shape))
            weights[t["name"]] = np.frombuffer(payload, dtype="<f4", count=n, offset=off).reshape(shape).copy()
        else:
            raise SystemExit(f"{path}: tensor {t['name']} has unknown dtype {t['dtype']!r}")
    return header, weights


def attr_tables(rows_attrs, k):
    n = len(rows_attrs)
    ids = torch.zeros(n, k, dtype=torch.long)
    w = torch.zeros(n, k)
    for r, a in enumerate(rows_attrs):
        a = a[:k]
        if a:
            ids[r, :len(a)] = torch.tensor(a)
            w[r, :len(a)] = 1.0 / len(a)
    return ids, w


def export_onnx(a):
    torch.manual_seed(a.seed)
    src = None
    if a.from_lrec:
        header, weights = read_lrec(a.from_lrec)
        c = header["config"]
        if c.get("query_buckets", 0):
            print("note: query embeddings are left out (the benchmark tracks views only)", file=sys.stderr)
        n_items, d, layers, heads, max_len = c["n_items"], c["d_model"], c["layers"], c["heads"], c["max_len"]
        event_types, n_attr, k_attr = c["event_types"], c["n_attributes"], c["max_attributes"]
        layout = c.get("layout", "pre_norm")  # files written before the field are pre-norm
        positions = c.get("positions", "from_newest")
        rows_attrs = [[]] + [list(x) for x in header.get("attributes", [])] if n_attr else None
        src = a.from_lrec
    else:
        if not a.items:
            raise SystemExit("--items or --from-lrec is required")
        n_items, d, layers, heads, max_len = a.items, a.d_model, a.layers, a.heads, a.max_len
        event_types, n_attr, k_attr = a.event_types, a.attributes, a.max_attributes
        layout = a.layout
        positions = "from_newest"
        rows_attrs = None
        if n_attr:
            g = random.Random(a.seed)
            rows_attrs = [[]] + [[g.randint(1, n_attr) for _ in range(g.randint(1, k_attr))] for _ in range(n_items)]
    ids_t = w_t = None
    if n_attr:
        ids_t, w_t = attr_tables(rows_attrs, k_attr)
    model = SASRec(n_items, d, layers, heads, max_len, 0.0, event_types, n_attr, ids_t, w_t, layout, positions)
    if src:
        sd = {"item_emb.weight": weights["item_emb"],
              "ln_final.weight": weights["ln_final.gamma"], "ln_final.bias": weights["ln_final.beta"]}
        if positions == "relative":
            sd["pos_bias"] = weights["pos_bias"]
        else:
            sd["pos_emb.weight"] = weights["pos_emb"]
        if event_types:
            sd["event_emb.weight"] = weights["event_emb"]
        if n_attr:
            sd["attr_emb.weight"] = weights["attr_emb"]
        for l in range(layers):
            p = f"blocks.{l}"
            for ln in ("ln1", "ln2"):
                sd[f"{p}.{ln}.weight"] = weights[f"{p}.{ln}.gamma"]
                sd[f"{p}.{ln}.bias"] = weights[f"{p}.{ln}.beta"]
            for lin, b in (("wqkv", "bqkv"), ("wo", "bo"), ("w1", "b1"), ("w2", "b2")):
                sd[f"{p}.{lin}.weight"] = weights[f"{p}.{lin}"].T  # burn stores [in, out]
                sd[f"{p}.{lin}.bias"] = weights[f"{p}.{b}"]
        state = {k: torch.from_numpy(np.ascontiguousarray(v)).reshape(model.state_dict()[k].shape)
                 for k, v in sd.items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [m for m in missing if m not in ("item_attrs", "item_attr_w")]
        if missing or unexpected:
            raise SystemExit(f"weights do not fit: missing {missing}, unexpected {unexpected}")
    model.eval()
    net = Inference(model).eval()
    ids = torch.zeros(1, max_len, dtype=torch.long)
    ids[0, -3:] = torch.tensor([1, 2, 3])
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with torch.no_grad():
        expected = net(ids)
        kwargs = dict(input_names=["ids"], output_names=["scores"], opset_version=a.opset,
                      do_constant_folding=True)
        try:
            torch.onnx.export(net, (ids,), a.out, dynamo=False, **kwargs)
            exporter = "torchscript"
        except TypeError:
            torch.onnx.export(net, (ids,), a.out, **kwargs)
            exporter = "default"
    import onnx
    from onnx import helper, numpy_helper
    m = onnx.load(a.out)
    # The tracer turns F.linear(h, table) into MatMul(h, table^T) with the transposed table folded
    # into a second initializer: the file would hold the item table twice. Point the last node back
    # at the table itself with Gemm(transB=1).
    inits = {i.name: i for i in m.graph.initializer}
    last = next(n for n in m.graph.node if "scores" in n.output)
    table = next(n.input[0] for n in m.graph.node
                 if n.op_type == "Gather" and n.input[0] in inits and list(inits[n.input[0]].dims) == [n_items + 1, d])
    if last.op_type == "MatMul" and last.input[1] in inits and last.input[1] != table:
        folded = last.input[1]
        assert list(inits[folded].dims) == [d, n_items + 1], inits[folded].dims
        gemm = helper.make_node("Gemm", [last.input[0], table], ["scores"], name="score_items", transB=1)
        idx = list(m.graph.node).index(last)
        m.graph.node.remove(last)
        m.graph.node.insert(idx, gemm)
        if not any(folded in n.input for n in m.graph.node):
            m.graph.initializer.remove(inits[folded])
        onnx.save(m, a.out)
    onnx.checker.check_model(a.out)
    max_err = None
    if n_items <= 200_000:
        # Run the written graph with onnx's reference evaluator against PyTorch's output.
        from onnx.reference import ReferenceEvaluator
        got = ReferenceEvaluator(a.out).run(None, {"ids": ids.numpy()})[0]
        max_err = float(np.abs(got - expected.numpy()).max())
        if not max_err < 1e-3 * max(1.0, float(np.abs(expected.numpy()).max())):
            raise SystemExit(f"the ONNX graph disagrees with PyTorch: max abs error {max_err}")
    m = onnx.load(a.out)
    ops = sorted({n.op_type for n in m.graph.node})
    info = {"out": a.out, "bytes": os.path.getsize(a.out), "opset": a.opset, "exporter": exporter,
            "torch": torch.__version__, "onnx": onnx.__version__, "from_lrec": src,
            "config": {"n_items": n_items, "d_model": d, "layers": layers, "heads": heads, "max_len": max_len,
                       "layout": layout, "event_types": event_types, "n_attributes": n_attr, "max_attributes": k_attr},
            "ops": ops, "reference_max_abs_error": max_err, "check_scores_first": [float(x) for x in expected[0, :4]]}
    with open(a.out + ".json", "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info))


if __name__ == "__main__":
    if args.mode == "train-throughput":
        train_throughput(args)
    else:
        export_onnx(args)
