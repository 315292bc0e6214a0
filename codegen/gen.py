#!/usr/bin/env python3
"""dynagrad's generator: ops.yaml + derivatives.yaml -> generated/.

    gen.py --ops ops.yaml --derivatives derivatives.yaml --out generated [--check]

Loads and validates the two files into the model (load.py), derives the small
strings the templates need (here), and renders codegen/templates/*.j2. Files
are only rewritten when their content changes, so a no-op regeneration does
not trigger a rebuild. --check writes nothing and exits 1 if generated/ is not
what a fresh regeneration would produce.
"""
from __future__ import annotations

import argparse
import os
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import jinja2
    import yaml  # noqa: F401  (load.py needs it; fail here with one message)
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.stderr.write(f"dynagrad codegen: {e}. Install Debian's python3-jinja2 and python3-yaml "
                     f"(apt-get install python3-jinja2 python3-yaml) and run with /usr/bin/python3.\n")
    sys.exit(2)

from load import SpecErrors, load  # noqa: E402
from model import CPP_DTYPE, DEVICES, DTYPES, Op  # noqa: E402

# The macro a device's kernels are compiled under (CMakeLists.txt defines it).
DEVICE_BUILD_GUARD = {"cuda": "DG_WITH_CUDA"}

# template -> output path under --out
OUTPUTS = {
    "ops.h.j2": "dynagrad/ops.h",
    "tensor_methods.h.j2": "dynagrad/tensor_methods.h",
    "tensor_methods_inl.h.j2": "dynagrad/tensor_methods_inl.h",
    "kernel_decls.h.j2": "kernel_decls.h",
    "dispatch.h.j2": "dispatch.h",
    "backward_nodes.h.j2": "backward_nodes.h",
    "op_registry.cpp.j2": "op_registry.cpp",
    "ops.md.j2": "ops.md",
}
# The per-op C++ bodies are split into shards, an op's shard fixed by a hash
# of its name: adding or changing one op recompiles one shard, not all ops,
# and the shards build in parallel.
NUM_SHARDS = 6
SHARDED_OUTPUTS = {
    "dispatch.cpp.j2": "dispatch_{}.cpp",
    "backward_nodes.cpp.j2": "backward_nodes_{}.cpp",
    "autograd.cpp.j2": "autograd_{}.cpp",
    "op_registry_shard.cpp.j2": "op_registry_{}.cpp",
}


def shard_of(op: Op) -> int:
    return zlib.crc32(op.name.encode()) % NUM_SHARDS


def all_outputs() -> list:
    outs = list(OUTPUTS.values())
    for pattern in SHARDED_OUTPUTS.values():
        outs += [pattern.format(i) for i in range(NUM_SHARDS)]
    return outs


# ---------------------------------------------------------------- derived strings

def _args(args, with_default=True):
    return ", ".join(a.decl(with_default) for a in args)


def _names(args):
    return ", ".join(a.name for a in args)


def _kernel_params(op: Op, qualified: bool) -> list:
    t = (lambda a: a.cpp_qualified_type) if qualified else (lambda a: a.cpp_type)
    params = [] if op.is_inplace_op else [("const dg::Tensor&" if qualified else "const Tensor&") + " out"]
    return params + [f"{t(a)} {a.name}" for a in op.sig.args]


def _sample_literal(arg, value) -> str:
    if value is None:
        return "std::nullopt"
    if arg.type in ("Scalar", "Scalar?"):
        return f"Scalar({_num(value)})"
    if arg.type in ("float", "float?"):
        return f"double({_num(value)})"
    if arg.type in ("int", "int?"):
        return "std::nullopt" if value is None else f"int64_t({value})"
    if arg.type == "int[]":
        return "std::vector<int64_t>{" + ", ".join(str(v) for v in value) + "}"
    if arg.type == "bool":
        return "true" if value else "false"
    if arg.type == "str":
        return f'std::string_view("{value}")'
    raise AssertionError(arg.type)


def _num(v) -> str:
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        name = "quiet_NaN" if v != v else "infinity"
        return ("-" if v < 0 else "") + f"std::numeric_limits<double>::{name}()"
    if isinstance(v, float):
        r = repr(v)
        return r if ("." in r or "e" in r or "inf" in r or "nan" in r) else r + ".0"
    return str(v)


def _tensor_spec(value) -> str:
    if isinstance(value, dict):
        shape, low, high = value["shape"], value.get("low", -1.0), value.get("high", 1.0)
        transposed = bool(value.get("transposed", False))
        dtype = value.get("dtype", "float64")
    else:
        shape, low, high, transposed, dtype = value, -1.0, 1.0, False, "float64"
    dims = ", ".join(str(s) for s in shape)
    cpp_dtype = {"float64": "kFloat64", "int64": "kInt64", "bool": "kBool"}[dtype]
    return (f"TensorSpec{{{{{dims}}}, {_num(float(low))}, {_num(float(high))}, "
            f"{'true' if transposed else 'false'}, {cpp_dtype}}}")


def _shape_of(value) -> list:
    return list(value["shape"]) if isinstance(value, dict) else list(value)


def _broadcast(shapes: list) -> list:
    n = max(len(s) for s in shapes)
    out = [1] * n
    for s in shapes:
        for i, d in enumerate(s):
            j = n - len(s) + i
            out[j] = d if out[j] == 1 else out[j]
    return out


def op_context(op: Op) -> dict:
    sig = op.sig
    args = sig.args
    tensors = sig.tensor_args
    self_arg = args[0] if args else None
    method_args = args[1:]
    has_function = "function" in op.variants
    fn_ns = "dg" if has_function else "dg::detail"
    ctx = {
        "op": op,
        "name": op.name,
        "base": op.base,
        "ident": op.ident,
        "summary": op.summary,
        "fn_ns": fn_ns,
        "ret": op.cpp_return,
        "unary_operator": op.operator == "-" and len(args) == 1,
        "has_function": has_function,
        "has_method": "method" in op.variants and self_arg is not None and self_arg.is_tensor,
        "has_inplace": "inplace" in op.variants,
        "has_out": "out" in op.variants,
        "is_inplace_op": op.is_inplace_op,
        "decl": _args(args),
        "defn": _args(args, False),
        "call": _names(args),
        "method_decl": _args(method_args),
        "method_defn": _args(method_args, False),
        "method_call": ", ".join(["*this"] + [a.name for a in method_args]),
        "tensor_names": [a.name for a in tensors],
        "tensor_list": ", ".join(a.name for a in tensors),
        "dtypes_text": op.dtypes_text,
        "dtype_strings": ", ".join(f'"{d}"' for d in op.dtypes),
        "kernel_device_strings": ", ".join(f'"{d}"' for d in DEVICES if d in op.kernels),
        "cuda_extra_dtype_strings": ", ".join(f'"{d}"' for d in op.extra_dtypes.get("cuda", [])),
        "kind": "composite" if op.composite else "view" if op.view_of else "kernel",
        "composite": op.composite,
        "meta": op.meta,
        "view_of": op.view_of,
        "pointwise": op.is_pointwise,
        "int_to_float": "true" if op.int_to_float else "false",
        "node": op.node_name if op.derivative else None,
        "operator": op.operator,
    }
    # Dispatch.
    if op.kernels:
        ctx["kernel_params"] = ", ".join(_kernel_params(op, False))
        ctx["kernel_types"] = ", ".join(p.rsplit(" ", 1)[0] for p in _kernel_params(op, False))
        rows = []
        null_row = "{" + ", ".join("nullptr" for _ in DTYPES) + "}"
        for dev in DEVICES:
            k = op.kernels.get(dev)
            on = op.dtypes_on(dev)
            text = "{" + ", ".join(f"&{k}<{CPP_DTYPE[d]}>" if k and d in on else "nullptr" for d in DTYPES) + "}"
            # A build without CUDA (DG_WITH_CUDA undefined) compiles no CUDA
            # kernels: its CUDA row names none.
            guard = DEVICE_BUILD_GUARD.get(dev) if k else None
            rows.append({"text": text, "guard": guard, "null": null_row})
        ctx["table_rows"] = rows
        ctx["kernel_call_args"] = ", ".join(
            (f"detail::cast_for_compute({a.name}, dtype)"
             if (a.is_tensor and op.is_pointwise and a.name not in op.no_promote) else a.name)
            for a in args)
        # Kernels are chosen by the compute dtype: the promoted one for
        # pointwise ops, else the first Tensor argument's (argmax of float32
        # runs the float kernel and writes int64).
        ctx["kernel_dtype"] = "m.dtype" if op.is_pointwise else f"{tensors[0].name}.dtype()"
    ctx["out_dtype"] = {"float32": "kFloat32", "float64": "kFloat64", "int64": "kInt64", "bool": "kBool"}.get(
        op.out_dtype or "", "")
    if op.is_pointwise:
        ctx["meta_tensors"] = ", ".join(
            f'{{"{a.name}", &{a.name}{", false" if a.name in op.no_promote else ""}}}' for a in tensors)
        ctx["meta_scalars"] = ", ".join(f"&{a.name}" for a in args if a.type == "Scalar")
    ctx["meta_args"] = _names(args)
    # The meta call with @OP@ for the op's name as the error messages spell it
    # (mul, mul_ or mul_out).
    if op.is_pointwise:
        ctx["meta_call"] = (f'meta::pointwise("@OP@", {{{ctx["meta_tensors"]}}}, {{{ctx["meta_scalars"]}}}, '
                            f'{ctx["int_to_float"]})')
    elif op.meta:
        ctx["meta_call"] = f'{op.meta}("@OP@", {ctx["meta_args"]})'
    # Autograd.
    d = op.derivative
    if d:
        saves_pre, saves_pre_inplace, saves_post = [], [], []
        for s in d.saved:
            guard = "if (" + " || ".join(f"node->needs_input_grad({i})" for i in s.needed_by) + ") "
            if s.kind == "result":
                saves_post.append(f"{guard}node->result_ = SavedVariable(result, true);")
            elif s.kind == "tensor":
                # An in-place write destroys self's old value: save a (recorded) copy.
                before_write = f"{s.name}.clone()" if s.name == sig.args[0].name else s.name
                plain = before_write if op.is_inplace_op else s.name
                saves_pre.append(f"{guard}node->{s.name}_ = SavedVariable({plain}, false);")
                saves_pre_inplace.append(f"{guard}node->{s.name}_ = SavedVariable({before_write}, false);")
            else:
                saves_pre.append(f"node->{s.name} = {s.source};")
                saves_pre_inplace.append(f"node->{s.name} = {s.source};")
        ctx["saves_pre_inplace"] = saves_pre_inplace
        ctx["saves_pre"] = saves_pre
        ctx["saves_post"] = saves_post
        ctx["members"] = [{"type": s.cpp_type, "name": s.name + ("_" if s.kind in ("tensor", "result") else "")}
                          for s in d.saved]
        ctx["released"] = [s.name + "_" for s in d.saved if s.kind in ("tensor", "result")]
        formulas = []
        for f in d.formulas:
            unpack = [s.name for s in d.saved if s.kind in ("tensor", "result") and s.name in f.uses]
            formulas.append({"index": f.index, "input": f.input, "cpp": f.cpp, "text": f.text, "unpack": unpack})
        ctx["formulas"] = formulas
        ctx["num_tensor_inputs"] = len(tensors)
    # Samples.
    samples = []
    for s in op.samples:
        specs, call_args = [], []
        ti = 0
        for a in args:
            if a.type == "Tensor?" and s.values.get(a.name) is None:
                call_args.append("std::nullopt" if a.name in s.values else None)
            elif a.type in ("Tensor", "Tensor?"):
                specs.append(_tensor_spec(s.values[a.name]))
                call_args.append(f"in[{ti}]")
                ti += 1
            elif a.type == "Tensor[]":
                items = s.values[a.name]
                specs += [_tensor_spec(v) for v in items]
                call_args.append(f"variable_list(in.begin() + {ti}, in.begin() + {ti + len(items)})")
                ti += len(items)
            elif a.name in s.values:
                call_args.append(_sample_literal(a, s.values[a.name]))
            else:
                call_args.append(None)  # default
        # Trailing defaults are left out; a default before a given value is spelled.
        while call_args and call_args[-1] is None:
            call_args.pop()
        call_args = [c if c is not None else args[i].default for i, c in enumerate(call_args)]
        # An in-place variant needs self to hold the broadcast result.
        shapes = [_shape_of(s.values[a.name]) for a in tensors if s.values.get(a.name) is not None]
        inplace_ok = not shapes or _broadcast(shapes) == shapes[0]
        samples.append({"specs": ", ".join(specs), "args": call_args, "line": s.line, "inplace_ok": inplace_ok})
    ctx["samples"] = samples
    return ctx


def sample_calls(ctx: dict) -> list:
    """For each sample: the registry rows (variant, C++ lambda body)."""
    rows = []
    for i, s in enumerate(ctx["samples"]):
        a = s["args"]
        if ctx["has_function"]:
            fn_call = f"dg::{ctx['base']}({', '.join(a)})"
        else:
            fn_call = f"{a[0]}.{ctx['base']}({', '.join(a[1:])})"
        if ctx["is_inplace_op"]:
            body = f"auto self = {a[0]}.clone(); self.{ctx['base']}({', '.join(a[1:])}); return {{self}};"
            rows.append({"sample": i, "variant": "inplace", "body": body, "specs": s["specs"],
                         "grad": ctx["op"].derivative is not None})
            continue
        op = ctx["op"]
        if op.returns_tensor_list:
            ret = f"return {fn_call};"
        elif op.returns_tuple:
            gets = ", ".join(f"std::get<{k}>(r)" for k in range(len(op.sig.returns)))
            ret = f"auto r = {fn_call}; return {{{gets}}};"
        else:
            ret = f"return {{{fn_call}}};"
        # Ops without a gradient (comparisons, argmax) are only run forward.
        differentiable = op.derivative is not None or ctx["kind"] != "kernel"
        rows.append({"sample": i, "variant": "function" if ctx["has_function"] else "method",
                     "body": ret, "specs": s["specs"], "grad": differentiable})
        if ctx["has_inplace"] and s["inplace_ok"]:
            body = f"auto self = {a[0]}.clone(); self.{ctx['base']}_({', '.join(a[1:])}); return {{self}};"
            rows.append({"sample": i, "variant": "inplace", "body": body, "specs": s["specs"], "grad": differentiable})
        if ctx["has_out"]:
            body = (f"auto expected = {fn_call}; auto out = dg::empty({{0}}, expected.options()); "
                    f"dg::{ctx['base']}_out(out, {', '.join(a)}); return {{out, expected}};")
            rows.append({"sample": i, "variant": "out", "body": body, "specs": s["specs"], "grad": False})
    return rows


# ---------------------------------------------------------------- rendering

def render_all(ops: list, yaml_names: tuple) -> dict:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(HERE, "templates")),
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    ctxs = [op_context(op) for op in ops]
    for c in ctxs:
        c["registry_rows"] = sample_calls(c)
    kernels = {}
    for op, c in zip(ops, ctxs):
        for dev, k in op.kernels.items():
            if k in kernels:
                continue
            kernels[k] = {
                "ns": dev, "name": k.split("::")[1], "ident": k.replace("::", "_"),
                "params": ", ".join(_kernel_params(op, False)),
                "qualified_types": ", ".join(p.rsplit(" ", 1)[0] for p in _kernel_params(op, True)),
                "cpp_types": [CPP_DTYPE[d] for d in op.dtypes_on(dev)], "op": op.name,
            }
    data = {"ops": ctxs, "kernels": list(kernels.values()), "sources": yaml_names, "num_shards": NUM_SHARDS,
            "header": "// @generated by codegen/gen.py from {} and {}. Do not edit: change the YAML, the\n"
                      "// templates or the generator, then rebuild.".format(*yaml_names)}
    files = {out: env.get_template(tpl).render(**data) for tpl, out in OUTPUTS.items()}
    for tpl, pattern in SHARDED_OUTPUTS.items():
        for i in range(NUM_SHARDS):
            shard = dict(data, ops=[c for op, c in zip(ops, ctxs) if shard_of(op) == i], shard=i)
            files[pattern.format(i)] = env.get_template(tpl).render(**shard)
    return files


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ops", required=True)
    p.add_argument("--derivatives", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--check", action="store_true", help="compare with --out instead of writing")
    p.add_argument("--list-outputs", action="store_true", help="print the files it writes and exit")
    args = p.parse_args(argv)
    if args.list_outputs:
        print(";".join(os.path.join(args.out, o) for o in all_outputs()))
        return 0
    try:
        ops = load(args.ops, args.derivatives)
    except SpecErrors as e:
        for err in e.errors:
            sys.stderr.write(f"{err}\n")
        sys.stderr.write(f"dynagrad codegen: {len(e.errors)} error(s); nothing was generated.\n")
        return 1
    files = render_all(ops, (os.path.basename(args.ops), os.path.basename(args.derivatives)))
    stale = []
    for rel, text in files.items():
        path = os.path.join(args.out, rel)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old == text:
            continue
        stale.append(rel)
        if not args.check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    # Files a previous generator version wrote but this one does not.
    wanted = set(files)
    for name in sorted(os.listdir(args.out)) if os.path.isdir(args.out) else []:
        if name.endswith(".cpp") and name not in wanted:
            stale.append(name)
            if not args.check:
                os.remove(os.path.join(args.out, name))
    if args.check and stale:
        sys.stderr.write("dynagrad codegen: generated/ differs from a fresh regeneration in: "
                         f"{', '.join(stale)}. Rebuild (or run tools/regen.sh) and commit generated/.\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
