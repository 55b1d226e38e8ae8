"""mlx_quant_ref.py: an independent re-implementation of MLX's affine quantization,
packing and mlx_lm naming, to check a folder written by `swan quantize` byte for byte.

Written from SWAN-METRICS.md sections 7-8 and ml-explore/mlx's CPU kernel
(mlx/backend/cpu/quantized.cpp, quantize<T, U>) with numpy, sharing nothing with the C
code: float32 arithmetic per group, np.rint (half to even), the packing as one
little-endian bit stream per row (value k at bit k*b), scales and biases converted to
the source dtype by numpy (F16) or by explicit round-to-nearest-even (BF16).

Packed 3-D experts (qwen3_moe `mlp.experts.gate_up_proj` + `mlp.experts.down_proj`) are
turned into switch_mlp.{gate,up,down}_proj [E, out, in] the way mlx_lm's own sanitize
functions do it, with numpy: the [E, hidden, 2*inter] layout as llama4.py does
(np.split of the last axis in two halves, then swapaxes(1, 2)), the [E, 2*inter, hidden]
layout as qwen3_5_moe.py's _normalize_experts does (first half of axis -2 is gate_proj);
which layout from config.json's hidden_size (the C code reads it off the pair of
shapes instead).

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

def native(dtype, buf, shape):
    """The stored elements (BF16 as uint16), shaped."""
    return np.frombuffer(buf, dtype={"BF16": "<u2", "F16": "<f2", "F32": "<f4"}[dtype]).reshape(shape)

def to_f32(dtype, a):
    if dtype == "BF16":
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float32)

def unpack_experts(src, cfg, gate_up, down):
    """mlx_lm's sanitize of one packed layer: {proj: [E, out, in] native array}."""
    H = cfg["hidden_size"]
    dt, gshape, gbuf = src[gate_up]
    _, dshape, dbuf = src[down]
    gu, dn = native(dt, gbuf, gshape), native(dt, dbuf, dshape)
    in_out = dshape[2] == H and (dshape[1] != H or gshape[1] == H)
    if in_out:  # llama4.py: mx.split(v, 2, axis=-1); mx.swapaxes(.., 1, 2)
        gate, up = np.split(gu, 2, axis=-1)
        return {"gate_proj": gate.swapaxes(1, 2), "up_proj": up.swapaxes(1, 2),
                "down_proj": dn.swapaxes(1, 2)}
    mid = gshape[1] // 2  # qwen3_5_moe.py: gate_up[..., :middle, :], gate_up[..., middle:, :]
    return {"gate_proj": gu[:, :mid, :], "up_proj": gu[:, mid:, :], "down_proj": dn}

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
    """mlx_lm names: {out_name: ("q"|"copy", dtype, [matrices], stacked, bits, group)}."""
    arch = cfg["model_type"]
    tied = bool(cfg.get("tie_word_embeddings", False))
    stacks, out, packed = {}, {}, {}
    pat = {"qwen3_moe": r"^(.*)\.mlp\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$",
           "deepseek_v3": r"^(.*)\.mlp\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$",
           "mixtral": r"^(.*)\.block_sparse_moe\.experts\.(\d+)\.(w1|w2|w3)\.weight$"}.get(arch)
    mix = {"w1": "gate_proj", "w2": "down_proj", "w3": "up_proj"}
    for name in src:
        if "rotary_emb.inv_freq" in name or (tied and name == "lm_head.weight"):
            continue
        m = re.match(r"^(.*)\.mlp\.experts\.(gate_up_proj|down_proj)$", name)
        if m and arch == "qwen3_moe":
            packed.setdefault(m.group(1), {})[m.group(2)] = name
            continue
        m = re.match(pat, name) if pat else None
        if m:
            sub = "block_sparse_moe" if arch == "mixtral" else "mlp"
            proj = mix.get(m.group(3), m.group(3))
            stacks.setdefault(f"{m.group(1)}.{sub}.switch_mlp.{proj}", {})[int(m.group(2))] = name
            continue
        out[name] = [name]
    mats = {}
    for name, srcs in out.items():
        dt, shape, data = src[srcs[0]]
        mats[name] = (dt, [native(dt, data, shape)], False)
    for path, ex in stacks.items():
        dt = src[ex[0]][0]
        mats[path + ".weight"] = (dt, [native(src[ex[e]][0], src[ex[e]][2], src[ex[e]][1])
                                       for e in range(len(ex))], True)
    for prefix, pair in packed.items():
        dt = src[pair["gate_up_proj"]][0]
        for proj, a in unpack_experts(src, cfg, pair["gate_up_proj"], pair["down_proj"]).items():
            mats[f"{prefix}.mlp.switch_mlp.{proj}.weight"] = (dt, list(a), True)
    plan = {}
    for name, (dt, ms, stacked) in mats.items():
        shape = ms[0].shape
        b, g = bits, group
        if arch == "qwen3_moe" and name.endswith("mlp.gate.weight") and b < 8:
            b, g = 8, 64
        if name.endswith(".weight") and len(shape) == 2 and shape[1] % g == 0:
            plan[name] = ("q", dt, ms, stacked, b, g)
        else:
            plan[name] = ("copy", dt, ms, stacked, 0, 0)
    return plan

def main():
    src_dir, out_dir, bits, group = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    cfg = json.load(open(os.path.join(src_dir, "config.json")))
    src, got = read_folder(src_dir), read_folder(out_dir)
    plan = expected_layout(src, cfg, bits, group)
    want_names = set()
    for name, (kind, dt, ms, stacked, b, g) in plan.items():
        if kind == "copy":
            want = (dt, ((len(ms),) if stacked else ()) + ms[0].shape,
                    b"".join(np.ascontiguousarray(m).tobytes() for m in ms))
            want_names.add(name)
            if got.get(name) != want:
                sys.exit(f"{name}: kept tensor differs (got {got.get(name, ('missing',))[:2]}, want {want[:2]})")
            continue
        p = name[: -len(".weight")]
        wb, sb, bb = [], [], []
        for m in ms:
            packed, sc, bi = quantize(np.ascontiguousarray(to_f32(dt, m)), b, g)
            wb.append(packed); sb.append(store(dt, sc)); bb.append(store(dt, bi))
        rows, cols = ms[0].shape
        lead = (len(ms),) if stacked else ()
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
        for name, (kind, dt, ms, stacked, b, g) in plan.items():
            path = name[: -len(".weight")]
            if kind == "q" and blk.get(path) != {"group_size": g, "bits": b}:
                sys.exit(f"config.json {key}: {path} is {blk.get(path)}, want bits {b} group {g}")
    idx = json.load(open(os.path.join(out_dir, "model.safetensors.index.json")))
    if set(idx["weight_map"]) != want_names:
        sys.exit("index weight_map does not list exactly the output tensors")
    print(f"ok: {len(want_names)} tensors identical ({bits} bits, group {group})")

main()
