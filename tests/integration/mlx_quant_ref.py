"""mlx_quant_ref.py: an independent re-implementation of MLX's affine quantization,
packing and mlx_lm naming, to check a folder written by `swan quantize` byte for byte.

Written from SWAN-METRICS.md sections 7-8 and ml-explore/mlx's CPU kernel
(mlx/backend/cpu/quantized.cpp, quantize<T, U>) with numpy, sharing nothing with the C
code: float32 arithmetic per group, np.rint (half to even), the packing as one
little-endian bit stream per row (value k at bit k*b), scales and biases converted to
the source dtype by numpy (F16) or by explicit round-to-nearest-even (BF16).

usage: mlx_quant_ref.py SRC_DIR OUT_DIR BITS GROUP
Compares every output tensor; exits 1 with the first difference."""
import json, os, re, struct, sys
import numpy as np

def read_folder(d):
    out = {}
    for f in sorted(os.listdir(d)):
        if not f.endswith(".safetensors"):
            continue
        raw = open(os.path.join(d, f), "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        hdr = json.loads(raw[8:8 + n])
        base = 8 + n
        for k, v in hdr.items():
            if k == "__metadata__":
                continue
            b, e = v["data_offsets"]
            out[k] = (v["dtype"], tuple(v["shape"]), raw[base + b: base + e])
    return out

def to_f32(dtype, buf, shape):
    if dtype == "BF16":
        u = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
        return u.view(np.float32).reshape(shape)
    if dtype == "F16":
        return np.frombuffer(buf, dtype="<f2").astype(np.float32).reshape(shape)
    return np.frombuffer(buf, dtype="<f4").reshape(shape).copy()

def store(dtype, x):
    x = x.astype(np.float32)
    if dtype == "BF16":
        u = x.view(np.uint32).astype(np.uint64)
        return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2").tobytes()
    if dtype == "F16":
        return x.astype("<f2").tobytes()
    return x.astype("<f4").tobytes()

def quantize(w, bits, g):
    """w: float32 [rows, cols] -> (packed bytes, scales f32, biases f32)."""
    rows, cols = w.shape
    n_bins = np.float32((1 << bits) - 1)
    W = w.reshape(-1, g)
    wmax, wmin = W.max(axis=1), W.min(axis=1)
    mask = np.abs(wmin) > np.abs(wmax)
    scale = np.maximum((wmax - wmin) / n_bins, np.float32(1e-7))
    scale = np.where(mask, scale, -scale).astype(np.float32)
    edge = np.where(mask, wmin, wmax).astype(np.float32)
    q0 = np.rint(edge / scale)
    nz = q0 != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(nz, edge / q0, scale).astype(np.float32)
    bias = np.where(nz, edge, np.float32(0)).astype(np.float32)
    q = np.clip(np.rint((W - bias[:, None]) / scale[:, None]), 0, n_bins).astype(np.uint8)
    q = q.reshape(rows, cols)
    bitplanes = ((q[:, :, None] >> np.arange(bits, dtype=np.uint8)) & 1).astype(np.uint8)
    packed = np.packbits(bitplanes.reshape(rows, cols * bits), axis=1, bitorder="little")
    return packed.tobytes(), scale, bias

def expected_layout(src, cfg, bits, group):
    """mlx_lm names: {out_name: ("q"|"copy", [source names], bits, group)}."""
    arch = cfg["model_type"]
    tied = bool(cfg.get("tie_word_embeddings", False))
    stacks, out = {}, {}
    pat = {"qwen3_moe": r"^(.*)\.mlp\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$",
           "deepseek_v3": r"^(.*)\.mlp\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$",
           "mixtral": r"^(.*)\.block_sparse_moe\.experts\.(\d+)\.(w1|w2|w3)\.weight$"}.get(arch)
    mix = {"w1": "gate_proj", "w2": "down_proj", "w3": "up_proj"}
    for name in src:
        if "rotary_emb.inv_freq" in name or (tied and name == "lm_head.weight"):
            continue
        m = re.match(pat, name) if pat else None
        if m:
            sub = "block_sparse_moe" if arch == "mixtral" else "mlp"
            proj = mix.get(m.group(3), m.group(3))
            stacks.setdefault(f"{m.group(1)}.{sub}.switch_mlp.{proj}", {})[int(m.group(2))] = name
            continue
        out[name] = [name]
    for path, ex in stacks.items():
        out[path + ".weight"] = [ex[e] for e in range(len(ex))]
    plan = {}
    for name, srcs in out.items():
        dt, shape, _ = src[srcs[0]]
        b, g = bits, group
        if arch == "qwen3_moe" and name.endswith("mlp.gate.weight") and b < 8:
            b, g = 8, 64
        if name.endswith(".weight") and len(shape) == 2 and shape[1] % g == 0:
            plan[name] = ("q", srcs, b, g)
        else:
            plan[name] = ("copy", srcs, 0, 0)
    return plan

def main():
    src_dir, out_dir, bits, group = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    cfg = json.load(open(os.path.join(src_dir, "config.json")))
    src, got = read_folder(src_dir), read_folder(out_dir)
    plan = expected_layout(src, cfg, bits, group)
    want_names = set()
    for name, (kind, srcs, b, g) in plan.items():
        stacked = len(srcs) > 1
        if kind == "copy":
            dt, shape, data = src[srcs[0]]
            want = (dt, ((len(srcs),) if stacked else ()) + shape, b"".join(src[s][2] for s in srcs))
            want_names.add(name)
            if got.get(name) != want:
                sys.exit(f"{name}: kept tensor differs (got {got.get(name, ('missing',))[:2]}, want {want[:2]})")
            continue
        p = name[: -len(".weight")]
        wb, sb, bb = [], [], []
        dt = src[srcs[0]][0]
        for s in srcs:
            sdt, shape, data = src[s]
            packed, sc, bi = quantize(to_f32(sdt, data, shape), b, g)
            wb.append(packed); sb.append(store(sdt, sc)); bb.append(store(sdt, bi))
        rows, cols = src[srcs[0]][1]
        lead = (len(srcs),) if stacked else ()
        checks = {p + ".weight": ("U32", lead + (rows, cols * b // 32), b"".join(wb)),
                  p + ".scales": (dt, lead + (rows, cols // g), b"".join(sb)),
                  p + ".biases": (dt, lead + (rows, cols // g), b"".join(bb))}
        for k, want in checks.items():
            want_names.add(k)
            if k not in got:
                sys.exit(f"{k}: missing from the output")
            if got[k][:2] != want[:2]:
                sys.exit(f"{k}: dtype/shape {got[k][:2]}, want {want[:2]}")
            if got[k][2] != want[2]:
                a = np.frombuffer(got[k][2], np.uint8); w = np.frombuffer(want[2], np.uint8)
                i = int(np.argmax(a != w))
                sys.exit(f"{k}: bytes differ first at byte {i} of {len(w)} ({a[i]} vs {w[i]})")
    extra = set(got) - want_names
    if extra:
        sys.exit(f"unexpected output tensors: {sorted(extra)[:5]}")
    q = json.load(open(os.path.join(out_dir, "config.json")))
    for key in ("quantization", "quantization_config"):
        blk = q.get(key)
        if not isinstance(blk, dict) or blk.get("mode") != "affine":
            sys.exit(f"config.json: no {key} block")
        for name, (kind, srcs, b, g) in plan.items():
            path = name[: -len(".weight")]
            if kind == "q" and blk.get(path) != {"group_size": g, "bits": b}:
                sys.exit(f"config.json {key}: {path} is {blk.get(path)}, want bits {b} group {g}")
    idx = json.load(open(os.path.join(out_dir, "model.safetensors.index.json")))
    if set(idx["weight_map"]) != want_names:
        sys.exit("index weight_map does not list exactly the output tensors")
    print(f"ok: {len(want_names)} tensors identical ({bits} bits, group {group})")

main()
