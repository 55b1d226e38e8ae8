#!/usr/bin/env python3
"""bench/make_huge_header.py: safetensors checkpoints with very many tensors, for
bench/huge_header_bench.sh (issue 8: the coordinator's memory against header bytes).

    make_huge_header.py OUT --tensors N [--shards S] [--header-bytes B]

Every tensor is an F16 32 x 32 matrix (so the plan analyzes it) named like a
per-expert MoE weight. The data section is a hole (the file is extended with
truncate), so a million tensors cost no disk space: only headers are read by the
commands measured. With --shards > 1 an index (model.safetensors.index.json) names
every tensor's shard. --header-bytes pads a single shard's header with a
__metadata__ string to exactly B bytes (e.g. just under the 100,000,000-byte limit).
Standard library only.
"""
import argparse
import json
import os
import struct

TENSOR_BYTES = 32 * 32 * 2
PROJS = ("gate_proj", "up_proj", "down_proj")


def names(n):
    # 512 experts x 3 projections per layer, like a large MoE.
    per_layer = 512 * len(PROJS)
    for i in range(n):
        layer, r = divmod(i, per_layer)
        expert, p = divmod(r, len(PROJS))
        yield f"model.layers.{layer}.mlp.experts.{expert}.{PROJS[p]}.weight"


def header_text(tensor_names, pad_to=None):
    parts = []
    for k, name in enumerate(tensor_names):
        b = k * TENSOR_BYTES
        parts.append(f'"{name}":{{"dtype":"F16","shape":[32,32],"data_offsets":[{b},{b + TENSOR_BYTES}]}}')
    body = ",".join(parts)
    text = "{" + body + "}"
    if pad_to is not None:
        meta_fixed = len('{"__metadata__":{"pad":""},') + len(body) + 1
        fill = pad_to - meta_fixed
        if fill < 0:
            raise SystemExit(f"--header-bytes {pad_to}: the tensors alone need {meta_fixed}")
        text = '{"__metadata__":{"pad":"' + "x" * fill + '"},' + body + "}"
        assert len(text) == pad_to
    return text.encode()


def write_shard(path, tensor_names, pad_to=None):
    h = header_text(tensor_names, pad_to)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        f.truncate(8 + len(h) + len(tensor_names) * TENSOR_BYTES)
    return len(h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tensors", type=int, required=True)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--header-bytes", type=int)
    a = ap.parse_args()
    if a.header_bytes is not None and a.shards != 1:
        raise SystemExit("--header-bytes needs --shards 1")
    os.makedirs(a.out, exist_ok=True)
    all_names = list(names(a.tensors))
    per = -(-a.tensors // a.shards)
    weight_map = {}
    total = 0
    for s in range(a.shards):
        chunk = all_names[s * per:(s + 1) * per]
        fname = (f"model-{s + 1:05d}-of-{a.shards:05d}.safetensors" if a.shards > 1
                 else "model.safetensors")
        total += write_shard(os.path.join(a.out, fname), chunk, a.header_bytes)
        for n in chunk:
            weight_map[n] = fname
    if a.shards > 1:
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": a.tensors * TENSOR_BYTES},
                       "weight_map": weight_map}, f)
    cfg = {"model_type": "qwen3_moe", "architectures": ["Qwen3MoeForCausalLM"]}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f)
    print(f"{a.out}: {a.tensors} tensors, {a.shards} shard(s), {total} header bytes")


if __name__ == "__main__":
    main()
