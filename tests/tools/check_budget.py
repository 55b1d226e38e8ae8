#!/usr/bin/env python3
"""check_budget.py MANIFEST TARGET_BPW: checks a --target-bpw manifest on its own terms.

Independently of swan's solver, from the per-tensor data in the manifest:
  * the effective bits per weight (MLX storage: b + 32/g per quantized weight, 16 per
    weight of a matrix kept, the stored width for other tensors) is <= TARGET and
    within 0.02 of it, and equals summary.effective_bpw;
  * every expert stack shares one (bits, group size), and every group size divides
    the matrix's columns;
  * the expected damage sum (1 + 3 S) n e(b,g)^2 is not above that of any uniform
    (bits, group size) allocation of the same or smaller size (a uniform allocation
    gives every quantizable matrix, stack by stack, that width; the largest smaller
    group where g does not divide; 16 bits where none does).
A module with a floor in mlx_lm's own predicate (qwen3_moe's mlp.gate: 8 bits, group
64) takes the floor in a uniform allocation whose width is below it.
e(b,g) is raw.mlx_nrmse when the manifest has it, else the documented estimate from
M4 (docs/allocation.md). Prints one line; exit 1 on any failure.
"""
import json, math, sys

DT_BITS = {"F64": 64, "F32": 32, "F16": 16, "BF16": 16, "I64": 64, "I32": 32, "I16": 16,
           "I8": 8, "U64": 64, "U32": 32, "U16": 16, "U8": 8, "BOOL": 8, "F8_E4M3": 8, "F8_E5M2": 8}
BITS = [2, 3, 4, 5, 6, 8]
GROUPS = [32, 64, 128]


def err(t, b, g):
    raw = t["raw"]
    cols = raw["matrix"][1]
    if cols % g:
        return None
    tab = raw.get("mlx_nrmse")
    if tab and any(v > 0 for gs in tab.values() for v in gs.values()):
        v = tab.get(str(b), {}).get(str(g))
        return None if v is None or v < 0 else v
    return raw["rtn_nrmse_4b_g128"] * (15.0 / (2 ** b - 1)) * math.sqrt(math.log(g) / math.log(128))


def main():
    m = json.load(open(sys.argv[1]))
    target = float(sys.argv[2])
    qp = m["swan"]["quantize_protected"]
    arch = (m.get("config") or {}).get("model_type")

    def floor(name):
        if arch == "qwen3_moe" and name.endswith(".mlp.gate.weight"):
            return (8, 64)
        return None
    tensors = [t for sh in m["shards"].values() for t in sh["tensors"].items()]
    total = sum(t["num_params"] for _, t in tensors)
    fixed = 0.0
    units = {}
    cost = 0.0
    damage = 0.0
    problems = []
    for name, t in tensors:
        d = t["decision"]
        n = t["num_params"]
        b = d["bits"]
        s = 1 + 3 * t["composite_score"]
        if b < 16:
            g = d["group_size"]
            if t["raw"]["matrix"][1] % g:
                problems.append("%s: group %d does not divide" % (name, g))
            cost += n * (b + 32.0 / g)
            damage += s * n * err(t, b, g) ** 2
        elif t["kind"] == "matrix":
            cost += 16.0 * n
        else:
            cost += n * DT_BITS[t["dtype"]]
        quantizable = (t["kind"] == "matrix" and "raw" in t and (qp or t["classification"] != "protected"))
        if quantizable:
            key = ("s", t["stack"]) if "stack" in t else ("t", name)
            units.setdefault(key, []).append((name, t, s))
        elif t["kind"] == "matrix":
            fixed += 16.0 * n
        else:
            fixed += n * DT_BITS[t["dtype"]]
    for key, mem in units.items():
        widths = {(t["decision"]["bits"], t["decision"].get("group_size")) for _, t, _ in mem}
        if len(widths) != 1:
            problems.append("stack %s has widths %s" % (key, sorted(widths)))
        for nm, t, _ in mem:
            fl = floor(nm)
            if fl and t["decision"]["bits"] < fl[0]:
                problems.append("%s below its mlx_lm floor" % nm)
    bpw = cost / total
    if abs(bpw - m["summary"]["effective_bpw"]) > 1e-6:
        problems.append("effective bpw %.6f but summary says %.6f" % (bpw, m["summary"]["effective_bpw"]))
    if not (bpw <= target + 1e-9 and bpw >= target - 0.02):
        problems.append("effective bpw %.6f not in [%.2f, %.2f]" % (bpw, target - 0.02, target))
    worst = None
    for b in BITS:
        for g in GROUPS:
            ucost, udmg = fixed, 0.0
            for mem in units.values():
                gg = None
                ub, ug = b, g
                fl = max((floor(nm) for nm, _, _ in mem if floor(nm)), default=None)
                if fl and b < fl[0]:
                    ub, ug = fl
                for cand in [x for x in GROUPS if x <= ug][::-1]:
                    if all(err(t, ub, cand) is not None for _, t, _ in mem):
                        gg = cand
                        break
                for _, t, s in mem:
                    n = t["num_params"]
                    if gg is None:
                        ucost += 16.0 * n
                    else:
                        ucost += n * (ub + 32.0 / gg)
                        udmg += s * n * err(t, ub, gg) ** 2
            if ucost <= cost * (1 + 1e-12) and udmg < damage * (1 - 1e-9) - 1e-300:
                problems.append("uniform %d-bit g%d: %.6f bpw, damage %.6g < ours %.6g"
                                % (b, g, ucost / total, udmg, damage))
            if ucost <= cost and (worst is None or udmg < worst[0]):
                worst = (udmg, b, g)
    if problems:
        print("FAIL: target %.2f: %s" % (target, "; ".join(problems[:5])))
        return 1
    best = "best uniform that fits: %d-bit g%d damage %.6g" % (worst[1], worst[2], worst[0]) if worst else "no uniform fits"
    print("target %.2f: %.4f bpw, damage %.6g, %d units; %s" % (target, bpw, damage, len(units), best))
    return 0


sys.exit(main())
