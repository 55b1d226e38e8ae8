#!/usr/bin/env python3
"""make_formats_fixture.py: test checkpoints for the input-format layer (stdlib only).

  fp8 OUT_FP8 OUT_BF16 [--break missing|shape|block]
      OUT_FP8: an FP8 checkpoint like DeepSeek-V3's: E4M3 weights with 128x128 block
      scales `<name>_scale_inv` (including partial edge blocks), an E5M2 weight with
      block scales, an E4M3 weight with a per-tensor `<name>_scale`, a BF16 norm and a
      config.json with quantization_config.weight_block_size.
      OUT_BF16: its BF16 upcast, each value bf16(fp8 * scale) (float32 product, round
      to nearest even into BF16), computed here independently of swan's C code.
      --break writes a malformed OUT_FP8: a missing scale, a misshapen one, or a bad
      weight_block_size.
  gguf OUT_GGUF_FILE OUT_ST_DIR [--split N]
      The same float tensors as a GGUF v3 file (llama.cpp names, dims innermost first,
      F32/F16/BF16 data, plus a Q4_0 tensor recorded as is) and as a safetensors
      checkpoint (Hugging Face names); --split N writes OUT_GGUF_FILE-0000i-of-0000N.gguf
      parts instead (--count-lie K: their split.tensors.count says K tensors too many).
      Prints the name map (gguf_name hf_name) on stdout.
  gguf-bad OUT_DIR
      Malformed GGUF headers, one file per case, named after the case.
"""
import json
import math
import os
import random
import struct
import sys


# ---- numbers ------------------------------------------------------------------------

def fp8_value(b, ebits):
    """Exact value of an FP8 byte (E4M3 'fn' when ebits == 4, else E5M2)."""
    mbits = 7 - ebits
    bias = (1 << (ebits - 1)) - 1
    s = -1.0 if b & 0x80 else 1.0
    e = (b >> mbits) & ((1 << ebits) - 1)
    m = b & ((1 << mbits) - 1)
    if ebits == 4 and e == 15 and m == 7:
        return math.nan
    if ebits == 5 and e == 31:
        return math.nan if m else s * math.inf
    if e == 0:
        return s * m / (1 << mbits) * 2.0 ** (1 - bias)
    return s * (1 + m / (1 << mbits)) * 2.0 ** (e - bias)


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def bf16_bits(x):
    """Round a float32 value (given as a Python float) to BF16, nearest even."""
    u = f32_bits(x)
    lsb = (u >> 16) & 1
    return ((u + 0x7FFF + lsb) >> 16) & 0xFFFF


def bf16_to_float(h):
    return struct.unpack("<f", struct.pack("<I", h << 16))[0]


def f16_bits(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


class Fp8Encoder:
    """Nearest finite FP8 byte for a value (ties to the even byte)."""

    def __init__(self, ebits):
        self.ebits = ebits
        pos = [(fp8_value(b, ebits), b) for b in range(128)]
        self.table = sorted(p for p in pos if math.isfinite(p[0]))

    def encode(self, x):
        a = abs(x)
        lo, hi = 0, len(self.table) - 1
        if a >= self.table[hi][0]:
            b = self.table[hi][1]
        else:
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if self.table[mid][0] <= a:
                    lo = mid
                else:
                    hi = mid
            dl, dh = a - self.table[lo][0], self.table[hi][0] - a
            b = self.table[lo][1] if dl < dh or (dl == dh and self.table[lo][1] % 2 == 0) else self.table[hi][1]
        return b | (0x80 if x < 0 and b else 0)


# ---- safetensors --------------------------------------------------------------------

def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, offset = {}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, _, data in tensors:
            f.write(data)


# ---- FP8 --------------------------------------------------------------------------

def fp8_weight(rng, rows, cols, ebits, block, mode):
    """(fp8 bytes, scales grid as list of rows, upcast bf16 bytes); mode is "block",
    "tensor" (one scale) or "row" (one scale per row)."""
    enc = Fp8Encoder(ebits)
    fmax = enc.table[-1][0]
    bm, bn = {"block": block, "tensor": (rows, cols), "row": (1, cols)}[mode]
    srows, scols = -(-rows // bm), -(-cols // bn)
    # Each block gets its own scale (as real FP8 checkpoints: max|w| / fmax).
    scales = [[struct.unpack("<f", struct.pack("<f", rng.uniform(0.5, 2.0) * 0.02 / fmax))[0]
               for _ in range(scols)] for _ in range(srows)]
    q = bytearray(rows * cols)
    up = bytearray(2 * rows * cols)
    for r in range(rows):
        for c in range(cols):
            s = scales[r // bm][c // bn]
            w = rng.gauss(0.0, 0.006) if (r + c) % 97 else rng.gauss(0.0, 0.05)  # some outliers
            b = enc.encode(w / s)
            q[r * cols + c] = b
            # float32 product of two exact values: Python's double product is exact
            # (4 + 24 significant bits), so one rounding to float32, then to BF16.
            h = bf16_bits(fp8_value(b, ebits) * s)
            struct.pack_into("<H", up, 2 * (r * cols + c), h)
    return bytes(q), scales, bytes(up)


def scales_bytes(scales):
    return b"".join(struct.pack("<f", v) for row in scales for v in row)


def make_fp8(out_fp8, out_bf16, brk=None):
    rng = random.Random(20260130)
    os.makedirs(out_fp8, exist_ok=True)
    os.makedirs(out_bf16, exist_ok=True)
    block = (128, 128)
    specs = [
        # name, rows, cols, ebits, scale mode
        ("model.layers.0.mlp.down_proj.weight", 300, 520, 4, "block"),    # partial edge blocks
        ("model.layers.0.mlp.up_proj.weight", 256, 384, 5, "block"),      # E5M2, whole blocks
        ("model.layers.0.self_attn.q_proj.weight", 200, 136, 4, "tensor"),  # scalar weight_scale
        ("model.layers.0.self_attn.o_proj.weight", 160, 200, 4, "row"),     # per-row weight_scale
    ]
    fp8_t, bf16_t = [], []
    for name, rows, cols, ebits, mode in specs:
        q, scales, up = fp8_weight(rng, rows, cols, ebits, block, mode)
        dt = "F8_E4M3" if ebits == 4 else "F8_E5M2"
        fp8_t.append((name, dt, (rows, cols), q))
        if mode == "tensor":
            fp8_t.append((name + "_scale", "F32", (), scales_bytes(scales)))
        elif mode == "row":
            fp8_t.append((name + "_scale", "F32", (rows, 1), scales_bytes(scales)))
        else:
            srows, scols = len(scales), len(scales[0])
            if brk == "shape" and ebits == 4:
                fp8_t.append((name + "_scale_inv", "F32", (srows, scols - 1),
                              scales_bytes([row[:-1] for row in scales])))
            elif brk == "missing" and ebits == 5:
                pass
            else:
                fp8_t.append((name + "_scale_inv", "F32", (srows, scols), scales_bytes(scales)))
        bf16_t.append((name, "BF16", (rows, cols), up))
    norm = b"".join(struct.pack("<H", bf16_bits(1.0 + 0.01 * i)) for i in range(520))
    for t in (fp8_t, bf16_t):
        t.append(("model.layers.0.post_attention_layernorm.weight", "BF16", (520,), norm))
    write_safetensors(os.path.join(out_fp8, "model.safetensors"), fp8_t)
    write_safetensors(os.path.join(out_bf16, "model.safetensors"), bf16_t)
    qc = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
          "weight_block_size": [128, 128] if brk != "block" else [128, 0]}
    with open(os.path.join(out_fp8, "config.json"), "w") as f:
        json.dump({"model_type": "deepseek_v3", "quantization_config": qc}, f)
    with open(os.path.join(out_bf16, "config.json"), "w") as f:
        json.dump({"model_type": "deepseek_v3"}, f)


# ---- GGUF ---------------------------------------------------------------------------

GGUF_STRING, GGUF_UINT32, GGUF_ARRAY = 8, 4, 9
GGML_F32, GGML_F16, GGML_Q4_0, GGML_BF16 = 0, 1, 2, 30


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return gstr(key) + struct.pack("<I", vtype) + payload


def gguf_bytes(kvs, tensors, alignment=32, version=3, tensor_count=None, kv_count=None):
    """kvs: list of encoded pairs; tensors: list of (name, ggml_type, dims innermost
    first, data, offset or None). Returns the file bytes."""
    head = b"GGUF" + struct.pack("<I", version)
    head += struct.pack("<QQ", len(tensors) if tensor_count is None else tensor_count,
                        len(kvs) if kv_count is None else kv_count)
    head += b"".join(kvs)
    offsets, off = [], 0
    for name, gt, dims, data, fixed in tensors:
        if fixed is None:
            off = -(-off // alignment) * alignment
            offsets.append(off)
            off += len(data)
        else:
            offsets.append(fixed)
    for (name, gt, dims, data, _), o in zip(tensors, offsets):
        head += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", gt, o)
    start = -(-len(head) // alignment) * alignment
    blob = bytearray(head + b"\0" * (start - len(head)))
    end = max([o + len(t[3]) for t, o in zip(tensors, offsets)] + [0])
    blob += b"\0" * end
    for (name, gt, dims, data, _), o in zip(tensors, offsets):
        blob[start + o:start + o + len(data)] = data
    return bytes(blob)


def gguf_model_tensors():
    """(gguf name, hf name, ggml type, rows, cols, data) with the same values both ways."""
    rng = random.Random(7)
    out = []
    layout = [
        ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight", GGML_F16, 256, 192),
        ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight", GGML_BF16, 192, 320),
        ("blk.0.ffn_up.weight", "model.layers.0.mlp.up_proj.weight", GGML_F32, 320, 192),
        ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight", GGML_F32, 1, 192),
    ]
    for gname, hname, gt, rows, cols in layout:
        vals = [rng.gauss(0, 0.02) * (8 if i % 101 == 0 else 1) for i in range(rows * cols)]
        if gt == GGML_F16:
            data = b"".join(struct.pack("<H", f16_bits(v)) for v in vals)
            st = "F16"
        elif gt == GGML_BF16:
            data = b"".join(struct.pack("<H", bf16_bits(v)) for v in vals)
            st = "BF16"
        else:
            data = b"".join(struct.pack("<f", v) for v in vals)
            st = "F32"
        out.append((gname, hname, gt, st, rows, cols, data))
    return out


def base_kvs(extra=()):
    return [kv("general.architecture", GGUF_STRING, gstr("llama")),
            kv("general.alignment", GGUF_UINT32, struct.pack("<I", 32)),
            kv("llama.block_count", GGUF_UINT32, struct.pack("<I", 1)),
            kv("general.file_type", GGUF_UINT32, struct.pack("<I", 1)),
            kv("tokenizer.ggml.tokens", GGUF_ARRAY,
               struct.pack("<IQ", GGUF_STRING, 3) + gstr("<s>") + gstr("a") + gstr("b"))] + list(extra)


def make_gguf(out_file, out_dir, split=1, extra_tensors=0):
    model = gguf_model_tensors()
    os.makedirs(out_dir, exist_ok=True)
    st = [(h, stype, ((rows, cols) if rows > 1 else (cols,)), data)
          for g, h, gt, stype, rows, cols, data in model]
    write_safetensors(os.path.join(out_dir, "model.safetensors"), st)
    tensors = [(g, gt, ([cols, rows] if rows > 1 else [cols]), data, None)
               for g, h, gt, stype, rows, cols, data in model]
    # An already-quantized tensor: Q4_0 [64 x 64] = 128 blocks of 18 bytes.
    tensors.append(("blk.0.attn_k.weight", GGML_Q4_0, [64, 64], bytes(18 * 128), None))
    if split == 1:
        with open(out_file, "wb") as f:
            f.write(gguf_bytes(base_kvs(), tensors))
    else:
        per = -(-len(tensors) // split)
        for i in range(split):
            part = tensors[i * per:(i + 1) * per]
            extra = [kv("split.no", 2, struct.pack("<H", i)), kv("split.count", 2, struct.pack("<H", split)),
                     kv("split.tensors.count", 5, struct.pack("<i", len(tensors) + extra_tensors))]
            with open("%s-%05d-of-%05d.gguf" % (out_file, i + 1, split), "wb") as f:
                f.write(gguf_bytes(base_kvs(extra) if i == 0 else extra, part))
    for g, h, *_ in model:
        print(g, h)


def make_gguf_bad(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    data = struct.pack("<f", 1.0) * 64
    good = [("a.weight", GGML_F32, [8, 8], data, None), ("b.weight", GGML_F32, [8, 8], data, None)]
    cases = {}
    ok = gguf_bytes(base_kvs(), good)
    cases["bad_magic"] = b"GGUX" + ok[4:]
    cases["version1"] = gguf_bytes(base_kvs(), good, version=1)
    cases["tensor_count_huge"] = gguf_bytes(base_kvs(), good, tensor_count=1 << 40)
    cases["kv_count_huge"] = gguf_bytes(base_kvs(), good, kv_count=1 << 40)
    cases["key_length_huge"] = gguf_bytes([struct.pack("<Q", 1 << 62) + b"general.x"], good)
    cases["key_too_long"] = gguf_bytes([kv("k" * 70000, GGUF_UINT32, struct.pack("<I", 1))], good)
    cases["string_length_past_end"] = gguf_bytes(
        [kv("general.name", GGUF_STRING, struct.pack("<Q", 1 << 30) + b"abc")], good)
    cases["array_length_huge"] = gguf_bytes(
        [kv("tokenizer.ggml.scores", GGUF_ARRAY, struct.pack("<IQ", 6, 1 << 50))], good)
    cases["value_type_unknown"] = gguf_bytes([kv("general.x", 77, b"\0" * 8)], good)
    cases["alignment_not_pow2"] = gguf_bytes(
        [kv("general.alignment", GGUF_UINT32, struct.pack("<I", 24))], good, alignment=24)
    cases["misaligned_offset"] = gguf_bytes(base_kvs(), [good[0], ("b.weight", GGML_F32, [8, 8], data, 260)])
    cases["overlapping_offsets"] = gguf_bytes(base_kvs(), [good[0], ("b.weight", GGML_F32, [8, 8], data, 128)])
    cases["duplicate_key"] = gguf_bytes(base_kvs([kv("general.architecture", GGUF_STRING, gstr("x"))]), good)
    cases["unknown_ggml_type"] = gguf_bytes(base_kvs(), [("a.weight", 4, [8, 8], data, None)])
    cases["too_many_dims"] = gguf_bytes(base_kvs(), [("a.weight", GGML_F32, [2, 2, 2, 2, 4], data, None)])
    cases["q4_partial_block"] = gguf_bytes(base_kvs(), [("a.weight", GGML_Q4_0, [48, 2], bytes(36), None)])
    cases["truncated"] = ok[:len(ok) - 100]
    cases["truncated_header"] = ok[:40]
    for name, blob in cases.items():
        with open(os.path.join(out_dir, name + ".gguf"), "wb") as f:
            f.write(blob)


def main(argv):
    if len(argv) >= 3 and argv[0] == "fp8":
        brk = argv[argv.index("--break") + 1] if "--break" in argv else None
        make_fp8(argv[1], argv[2], brk)
    elif len(argv) >= 3 and argv[0] == "gguf":
        split = int(argv[argv.index("--split") + 1]) if "--split" in argv else 1
        lie = int(argv[argv.index("--count-lie") + 1]) if "--count-lie" in argv else 0
        make_gguf(argv[1], argv[2], split, lie)
    elif len(argv) == 2 and argv[0] == "gguf-bad":
        make_gguf_bad(argv[1])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
