"""Loads ops.yaml and derivatives.yaml into the model, validating as it goes.

Every mistake becomes a SpecError naming the file, line, entry and key; the
caller prints them all and exits non-zero (never a Python traceback for a
user's YAML mistake).
"""
from __future__ import annotations

import os
import re
from typing import Optional

import yaml

from model import (DEVICES, DTYPES, SUPPORTED_TYPES, Arg, Derivative, Formula, Op, Sample, Saved,
                   Signature, SpecError)

# Sample tensor kinds (tests/op_registry.h, tools/golden/make_golden.py): a
# square matrix M drawn uniform in [low, high) becomes M + n I (diagonally
# dominant: invertible and well conditioned) or M Mᵀ + n I (symmetric positive
# definite; the gradient checks symmetrize it, as PyTorch's do for Hermitian
# inputs).
SAMPLE_KINDS = ("well_conditioned", "spd")

OP_KEYS = {"name", "signature", "summary", "variants", "category", "int_to_float", "meta", "view_of",
           "composite", "dtypes", "extra_dtypes", "devices", "kernel", "kernels", "scalar", "operator",
           "differentiable", "samples", "out_dtype", "no_promote", "once_differentiable"}
# The 16-bit floats a floating pointwise op gets on CUDA unless it says
# otherwise (`extra_dtypes: {}`).
HALF_DTYPES = ["float16", "bfloat16"]
# What an expression in `scalar:` may name besides the op's arguments.
SCALAR_WORDS = {"C", "T", "Math", "std", "pwmath", "static_cast", "true", "false"}
DERIV_FIXED_KEYS = {"name", "forward", "not_implemented"}
VARIANTS = ["function", "method", "inplace", "out"]
# C++ operators an op may declare (`operator:`): binary ones take (Tensor,
# Tensor) or (Tensor, Scalar); "-", "~" and "!" on a one-argument op are unary.
OPERATORS = {"+", "-", "*", "/", "%", "&", "|", "^", "==", "!=", "<", "<=", ">", ">=", "~", "!"}
UNARY_OPERATORS = {"-", "~", "!"}
# Tensor attributes a formula may read without keeping the tensor alive.
TENSOR_ATTRS = {"sizes": "std::vector<int64_t>", "strides": "std::vector<int64_t>", "storage_offset": "int64_t",
                "dim": "int64_t", "scalar_type": "ScalarType", "device": "Device"}


# ---------------------------------------------------------------- YAML with lines

class _LineLoader(yaml.SafeLoader):
    """Records the line of every mapping and of each of its keys."""


def _construct_mapping(loader, node, deep=False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__key_lines__"] = {k.value: k.start_mark.line + 1 for k, _ in node.value
                                if isinstance(k, yaml.ScalarNode)}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: str) -> list:
    fname = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_LineLoader)
    except OSError as e:
        raise SpecError(fname, 0, None, None, f"cannot read: {e.strerror}")
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise SpecError(fname, line, None, None, f"not valid YAML: {getattr(e, 'problem', e)}")
    if data is None:
        return []
    if not isinstance(data, list):
        raise SpecError(fname, 1, None, None, "expected a list of entries at the top level")
    return data


def _key_line(entry: dict, key: str) -> int:
    return entry.get("__key_lines__", {}).get(key, entry.get("__line__", 0))


def _user_keys(entry: dict) -> list:
    return [k for k in entry if not str(k).startswith("__")]


def _plain(value):
    """Strips the line bookkeeping from nested YAML values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------- signatures

_ARG_RE = re.compile(r"^(?P<type>[A-Za-z]+(?:\((?P<alias>[a-z]!?)\))?(?:\[\d*\])?\??)\s+"
                     r"(?P<name>[A-Za-z_]\w*)(?:\s*=\s*(?P<default>.+))?$")
_KNOWN_BASE_TYPES = {"Tensor", "Scalar", "int", "float", "bool", "str", "ScalarType", "Generator"}


def _split_top(s: str) -> list:
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _cpp_default(text: str, type_: str) -> str:
    t = text.strip()
    if t == "None":
        return "std::nullopt"
    if t in ("True", "False"):
        return t.lower()
    if t.startswith("[") and t.endswith("]"):
        inner = t[1:-1].strip()
        return "{" + inner + "}" if inner else "{}"
    if re.fullmatch(r"-?\d+(\.\d*)?(e-?\d+)?", t):
        return t
    if type_ == "str" and re.fullmatch(r"'[^'\\]*'|\"[^\"\\]*\"", t):
        return '"' + t[1:-1] + '"'  # C++ string literal -> std::string_view
    raise ValueError(f"default '{t}' is not a number, True/False, None or a [list]")


def parse_signature(text: str) -> Signature:
    """Parses `name(Type arg, ...) -> Return`. Raises ValueError with a reason."""
    m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*\((.*)\)\s*->\s*(.+?)\s*", text or "")
    if not m:
        raise ValueError("expected `name(Type arg, ...) -> ReturnType`")
    name, args_text, ret_text = m.groups()
    args, kwarg_only, seen = [], False, set()
    for part in _split_top(args_text):
        if part == "*":
            kwarg_only = True
            continue
        am = _ARG_RE.match(part)
        if not am:
            raise ValueError(f"cannot parse argument '{part}' (expected `Type name` or `Type name=default`)")
        raw_type, alias, arg_name, default = am.group("type"), am.group("alias"), am.group("name"), am.group("default")
        base = re.sub(r"\(.*?\)", "", raw_type)
        base_name = re.sub(r"[\[\]\d?]", "", base)
        if base_name not in _KNOWN_BASE_TYPES:
            raise ValueError(f"unknown type '{raw_type}' of argument '{arg_name}'")
        norm = re.sub(r"\[\d+\]", "[]", base)   # int[1] accepts a single int too: same C++ type
        if arg_name in seen:
            raise ValueError(f"argument '{arg_name}' appears twice")
        seen.add(arg_name)
        cpp_default = _cpp_default(default, norm) if default is not None else None
        args.append(Arg(arg_name, norm, cpp_default, alias, kwarg_only))
    ret_text = ret_text.strip()
    returns = []
    if ret_text.startswith("("):
        if not ret_text.endswith(")"):
            raise ValueError(f"malformed return '{ret_text}'")
        for part in _split_top(ret_text[1:-1]):
            rm = re.fullmatch(r"(Tensor(?:\([a-z]!?\))?)(?:\s+([A-Za-z_]\w*))?", part)
            if not rm:
                raise ValueError(f"cannot parse return '{part}'")
            returns.append(Arg(rm.group(2) or "", "Tensor", None, _alias_of(rm.group(1))))
    else:
        rm = re.fullmatch(r"(Tensor(?:\([a-z]!?\))?)(\[\])?(?:\s+([A-Za-z_]\w*))?", ret_text)
        if not rm:
            raise ValueError(f"cannot parse return '{ret_text}' (expected Tensor, Tensor[] or (Tensor a, Tensor b))")
        returns.append(Arg(rm.group(3) or "", "Tensor[]" if rm.group(2) else "Tensor", None, _alias_of(rm.group(1))))
    return Signature(name, args, returns)


def _alias_of(t: str) -> Optional[str]:
    m = re.search(r"\(([a-z]!?)\)", t)
    return m.group(1) if m else None


# ---------------------------------------------------------------- ops.yaml

def _check_list_of(fname, entry, name, key, allowed):
    value = entry.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(fname, _key_line(entry, key), name, key, f"expected a list from {allowed}")
    for v in value:
        if v not in allowed:
            raise SpecError(fname, _key_line(entry, key), name, key, f"unknown value '{v}' (expected one of {allowed})")
    return value


def _load_op(fname: str, entry, errors: list) -> Optional[Op]:
    if not isinstance(entry, dict):
        errors.append(SpecError(fname, 0, None, None, "every entry must be a mapping with at least `name`"))
        return None
    line = entry.get("__line__", 0)
    name = entry.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_]\w*(\.\w+)?", name):
        errors.append(SpecError(fname, line, None, "name", f"missing or malformed name {name!r}"))
        return None
    for k in _user_keys(entry):
        if k not in OP_KEYS:
            errors.append(SpecError(fname, _key_line(entry, k), name, k,
                                    f"unknown key (known keys: {', '.join(sorted(OP_KEYS))})"))
    if "signature" not in entry:
        errors.append(SpecError(fname, line, name, "signature", "missing (every op needs a signature)"))
        return None
    try:
        sig = parse_signature(entry["signature"] if isinstance(entry["signature"], str) else "")
    except ValueError as e:
        errors.append(SpecError(fname, _key_line(entry, "signature"), name, "signature", f"malformed signature: {e}"))
        return None
    op = Op(name=name, line=line, sig=sig)
    try:
        _fill_op(fname, entry, op)
    except SpecError as e:
        errors.append(e)
        return None
    return op


def _fill_op(fname: str, entry: dict, op: Op) -> None:
    name = op.name
    kl = lambda k: _key_line(entry, k)  # noqa: E731
    if op.sig.name != op.base:
        raise SpecError(fname, kl("signature"), name, "signature",
                        f"the signature names '{op.sig.name}' but the entry is '{op.base}'")
    for a in op.sig.args:
        if a.type not in SUPPORTED_TYPES:
            raise SpecError(fname, kl("signature"), name, "signature",
                            f"argument '{a.name}' has type '{a.type}', which the generator does not support yet "
                            f"(supported: {', '.join(sorted(SUPPORTED_TYPES))})")
    if not (op.returns_tensor or ((op.returns_tensor_list or op.returns_tuple) and entry.get("composite"))):
        raise SpecError(fname, kl("signature"), name, "signature",
                        "only single-Tensor returns (and Tensor[] or tuples for composite ops) are supported by the "
                        "generator yet")
    if any(a.type in ("Tensor?", "Tensor[]") for a in op.sig.args) and not entry.get("composite"):
        raise SpecError(fname, kl("signature"), name, "signature",
                        "Tensor? and Tensor[] arguments are supported for composite ops only (yet)")
    op.summary = str(entry.get("summary", "")).strip()
    op.category = entry.get("category")
    if op.category not in (None, "pointwise"):
        raise SpecError(fname, kl("category"), name, "category", f"unknown category '{op.category}' (expected pointwise)")
    op.int_to_float = bool(entry.get("int_to_float", False))
    if op.int_to_float and not op.is_pointwise:
        raise SpecError(fname, kl("int_to_float"), name, "int_to_float", "only meaningful with category: pointwise")
    op.meta = entry.get("meta")
    op.view_of = entry.get("view_of")
    op.composite = entry.get("composite")
    op.operator = entry.get("operator")
    op.out_dtype = entry.get("out_dtype")
    if op.out_dtype is not None and (op.out_dtype not in DTYPES or not op.is_pointwise):
        raise SpecError(fname, kl("out_dtype"), name, "out_dtype",
                        f"expected one of {DTYPES} on a category: pointwise op, got {op.out_dtype!r}")
    op.no_promote = entry.get("no_promote", [])
    for a in op.no_promote:
        arg = op.sig.arg(a) if isinstance(a, str) else None
        if arg is None or not arg.is_tensor or not op.is_pointwise:
            raise SpecError(fname, kl("no_promote"), name, "no_promote",
                            f"'{a}' is not a Tensor argument of this pointwise op")
    op.differentiable = bool(entry.get("differentiable", True))
    op.declared_nondifferentiable = not op.differentiable
    once = entry.get("once_differentiable")
    if once is not None and (not isinstance(once, str) or not re.fullmatch(r"[A-Za-z_]\w*(\.\w+)?", once)):
        raise SpecError(fname, kl("once_differentiable"), name, "once_differentiable",
                        f"expected the name of the op whose derivative is not implemented, got {once!r}")
    op.once_differentiable = once
    default_variants = ["function", "method", "inplace", "out"] if op.is_pointwise else ["function", "method"]
    op.variants = _check_list_of(fname, entry, name, "variants", VARIANTS) if "variants" in entry else default_variants
    if op.is_inplace_op:
        if op.sig.mutated_arg is None or op.sig.args[0] is not op.sig.mutated_arg:
            raise SpecError(fname, kl("signature"), name, "signature",
                            f"'{op.base}' ends in '_' (an in-place op): its first argument must be `Tensor(a!) self`")
        bad = [v for v in op.variants if v in ("inplace", "out")]
        if bad:
            raise SpecError(fname, kl("variants"), name, "variants",
                            f"an in-place op has only function and method variants, not {bad}")
    op.dtypes = _check_list_of(fname, entry, name, "dtypes", DTYPES) if "dtypes" in entry else []
    _fill_kernels(fname, entry, op)
    if op.operator is not None and op.operator not in OPERATORS:
        raise SpecError(fname, kl("operator"), name, "operator", f"unknown operator '{op.operator}' (expected one of {' '.join(sorted(OPERATORS))})")

    # What implements the op: kernels (hand-written or generated from
    # `scalar`), a view, or a composite — exactly one of them.
    kinds = [k for k in ("kernel", "view_of", "composite") if entry.get(k) or (k == "kernel" and op.kernels)]
    if len(kinds) != 1:
        raise SpecError(fname, op.line, name, None,
                        "needs exactly one of `kernel`/`kernels`/`scalar`, `view_of` or `composite`" +
                        (f" (has {', '.join(kinds)})" if kinds else ""))
    if op.meta and not re.fullmatch(r"meta::[A-Za-z_]\w*", op.meta):
        raise SpecError(fname, kl("meta"), name, "meta", f"expected a shape rule named meta::<name>, got {op.meta!r}")
    if op.composite and not re.fullmatch(r"composite::[A-Za-z_]\w*", op.composite):
        raise SpecError(fname, kl("composite"), name, "composite",
                        f"expected a body named composite::<name>, got {op.composite!r}")
    if op.composite:
        for k in ("meta", "dtypes", "category"):
            if k in entry:
                raise SpecError(fname, kl(k), name, k, "a composite op takes no `%s` (it is built from other ops)" % k)
        # No node of its own (its gradient comes from the ops it calls),
        # unless derivatives.yaml gives it one: then it is recorded as one
        # node and its body runs with grad mode off (PyTorch's
        # CompositeExplicitAutograd), e.g. mean -> MeanBackward0.
        op.differentiable = False
    if op.view_of:
        if op.sig.arg(op.view_of) is None or not op.sig.arg(op.view_of).is_tensor:
            raise SpecError(fname, kl("view_of"), name, "view_of", f"'{op.view_of}' is not a Tensor argument")
        if not op.meta:
            raise SpecError(fname, op.line, name, "meta", "a view op needs `meta` (returning meta::ViewMeta)")
    if op.kernels:
        if not op.dtypes:
            raise SpecError(fname, op.line, name, "dtypes", "an op with kernels must declare its dtypes")
        for dev in op.devices:
            if dev not in op.kernels:
                raise SpecError(fname, kl("devices"), name, "kernels",
                                f"device {dev} is declared but has no kernel (add `{dev}: {dev}::{op.base}` to kernels)")
        for dev in op.kernels:
            if dev not in op.devices:
                raise SpecError(fname, kl("kernels"), name, "devices",
                                f"a {dev} kernel is given but {dev} is not in devices {op.devices}")
        if not op.is_pointwise and not op.meta and not op.is_inplace_op:
            raise SpecError(fname, op.line, name, "meta",
                            "an op with a kernel needs `meta` (its shape rule) unless it is category: pointwise")
    elif "dtypes" in entry and not op.composite:
        raise SpecError(fname, kl("dtypes"), name, "dtypes", "dtypes are declared but no kernel implements them")
    if ("inplace" in op.variants or "out" in op.variants) and not op.kernels:
        raise SpecError(fname, kl("variants"), name, "variants", "inplace and out variants need a kernel")
    if op.operator and "function" not in op.variants:
        raise SpecError(fname, kl("operator"), name, "operator", "an operator needs the function variant")

    # Samples.
    samples = entry.get("samples", [])
    if not isinstance(samples, list):
        raise SpecError(fname, kl("samples"), name, "samples", "expected a list of maps")
    for s in samples:
        if not isinstance(s, dict):
            raise SpecError(fname, kl("samples"), name, "samples", "each sample must be a map from argument to value")
        values = _plain(s)
        for arg_name, v in values.items():
            arg = op.sig.arg(arg_name)
            if arg is None:
                raise SpecError(fname, s.get("__line__", kl("samples")), name, "samples",
                                f"'{arg_name}' is not an argument of {name} "
                                f"(arguments: {', '.join(a.name for a in op.sig.args)})")
            _check_sample_value(fname, s.get("__line__", 0), name, arg, v)
        for a in op.sig.args:
            if a.name not in values and a.default is None:
                raise SpecError(fname, s.get("__line__", kl("samples")), name, "samples",
                                f"sample gives no value for '{a.name}', which has no default")
        op.samples.append(Sample(values, s.get("__line__", 0)))


def _fill_kernels(fname: str, entry: dict, op: Op) -> None:
    """devices, kernels, the generated scalar kernels and extra_dtypes, with
    the family defaults: `kernel: name` names every device's kernel, `scalar`
    generates the kernel of every device without one, devices default to all
    of them, and a floating pointwise op gets CUDA's 16-bit dtypes."""
    name = op.name
    kl = lambda k: _key_line(entry, k)  # noqa: E731
    kernels = entry.get("kernels", {})
    if not isinstance(kernels, dict):
        raise SpecError(fname, kl("kernels"), name, "kernels", "expected a map from device to kernel name")
    op.kernels = dict(_plain(kernels))
    for dev, kname in op.kernels.items():
        if dev not in DEVICES:
            raise SpecError(fname, kl("kernels"), name, "kernels", f"unknown device '{dev}' (expected {DEVICES})")
        if not isinstance(kname, str) or not re.fullmatch(rf"{dev}::[A-Za-z_]\w*", kname):
            raise SpecError(fname, kl("kernels"), name, "kernels",
                            f"kernel for {dev} must be a name in namespace {dev}:: (like {dev}::{op.base}), got {kname!r}")
    one = entry.get("kernel")
    if one is not None and (not isinstance(one, str) or not re.fullmatch(r"[A-Za-z_]\w*", one)):
        raise SpecError(fname, kl("kernel"), name, "kernel",
                        f"expected a kernel name (each device's namespace is added: cpu::{op.base}), got {one!r}")
    scalar = entry.get("scalar")
    if scalar is not None:
        _check_scalar(fname, kl("scalar"), op, scalar)
    # The devices an op runs on: listed, or those its kernels name, or all
    # when a kernel name or scalar function serves every device.
    if "devices" in entry:
        op.devices = _check_list_of(fname, entry, name, "devices", DEVICES)
    elif one is not None or scalar is not None:
        op.devices = list(DEVICES)
    else:
        op.devices = [d for d in DEVICES if d in op.kernels] or ["cpu"]
    if one is not None:
        for dev in op.devices:
            op.kernels.setdefault(dev, f"{dev}::{one}")
    if scalar is not None:
        generated = [d for d in op.devices if d not in op.kernels]
        if not generated:
            raise SpecError(fname, kl("scalar"), name, "scalar",
                            f"every device of {op.devices} has a hand-written kernel: the scalar function is unused")
        for dev in generated:
            op.kernels[dev] = f"{dev}::{op.ident.lower()}"
        op.generated_kernels = generated
    extra = entry.get("extra_dtypes")
    if extra is None:
        floating = any(d in ("float32", "float64") for d in op.dtypes)
        extra = {"cuda": list(HALF_DTYPES)} if op.is_pointwise and floating and "cuda" in op.kernels else {}
    if not isinstance(extra, dict):
        raise SpecError(fname, kl("extra_dtypes"), name, "extra_dtypes",
                        "expected a map from device to a list of dtypes (like {cuda: [float16, bfloat16]})")
    for dev, lst in _plain(extra).items():
        if dev not in op.kernels:
            raise SpecError(fname, kl("extra_dtypes"), name, "extra_dtypes",
                            f"device '{dev}' has no kernel in `kernels` {sorted(op.kernels)}")
        if not isinstance(lst, list) or not lst or any(d not in DTYPES for d in lst):
            raise SpecError(fname, kl("extra_dtypes"), name, "extra_dtypes",
                            f"expected a non-empty list of dtypes from {DTYPES} for {dev}, got {lst!r}")
        both = [d for d in lst if d in op.dtypes]
        if both:
            raise SpecError(fname, kl("extra_dtypes"), name, "extra_dtypes",
                            f"{both} already in `dtypes` (extra_dtypes lists only what {dev} adds)")
        op.extra_dtypes[dev] = list(lst)


def _check_scalar(fname: str, line: int, op: Op, scalar) -> None:
    """`scalar:` is a functor's name (pwmath::Exp) or a C++ expression of the
    op's arguments; either way the generator writes the op's kernels."""
    name = op.name
    if not op.is_pointwise:
        raise SpecError(fname, line, name, "scalar", "only a category: pointwise op has a scalar function")
    if op.no_promote:
        raise SpecError(fname, line, name, "scalar",
                        f"the generated kernels read every input in the compute dtype, but {op.no_promote} keep "
                        f"their own: write the kernels (`kernel:`)")
    if not isinstance(scalar, str) or not scalar.strip():
        raise SpecError(fname, line, name, "scalar", "expected a functor name (pwmath::Name) or a C++ expression")
    text = scalar.strip()
    if re.fullmatch(r"[A-Za-z_]\w*(::[A-Za-z_]\w*)+", text):
        op.scalar, op.scalar_is_expr = text, False
        return
    for a in op.sig.args:
        if not a.is_tensor and a.type not in ("Scalar", "int", "float", "bool"):
            raise SpecError(fname, line, name, "scalar",
                            f"argument '{a.name}' ({a.type}) cannot be read by an expression: name a functor that "
                            f"takes it (scalar: pwmath::Name)")
    names = {a.name for a in op.sig.args}
    for m in _IDENT_RE.finditer(_strip_strings(text)):
        ident = m.group(1)
        if ident not in names and ident not in SCALAR_WORDS:
            raise SpecError(fname, line, name, "scalar",
                            f"expression uses '{ident}', which is not an argument of {name} (names an expression "
                            f"may use: {', '.join(a.name for a in op.sig.args)}, C (the compute type), Math "
                            f"(Math::exp, ...), std::, pwmath::)")
    op.scalar, op.scalar_is_expr = text, True


def _is_shape(v) -> bool:
    return isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v)


def _check_sample_value(fname, line, name, arg: Arg, v):
    def bad(msg):
        raise SpecError(fname, line, name, "samples", f"argument '{arg.name}': {msg}")
    if arg.type in ("Tensor?", "Scalar?", "float?", "bool?", "Generator?", "ScalarType?") and v is None:
        return
    if arg.type == "Generator?":
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            bad(f"a Generator sample is a seed (a non-negative int: a generator made from it per call) or null, "
                f"got {v!r}")
        return
    if arg.type == "Tensor[]":
        if not isinstance(v, list) or not v:
            bad("a Tensor[] sample is a non-empty list of tensor samples")
        for item in v:
            _check_sample_value(fname, line, name, Arg(arg.name, "Tensor", None), item)
        return
    if arg.type in ("Tensor", "Tensor?"):
        if isinstance(v, dict):
            unknown = set(v) - {"shape", "low", "high", "transposed", "dtype", "kind", "symmetric", "log_softmax"}
            if unknown:
                bad(f"unknown tensor sample keys {sorted(unknown)} (expected shape, low, high, transposed, dtype, "
                    "kind, symmetric, log_softmax)")
            if v.get("log_softmax") and (v.get("dtype", "float64") != "float64" or not v.get("shape")):
                bad("`log_softmax` needs a floating tensor of at least 1 dimension")
            if "kind" in v:
                if v["kind"] not in SAMPLE_KINDS:
                    bad(f"a sample tensor's kind is one of {list(SAMPLE_KINDS)}, got {v['kind']!r}")
                shp = v.get("shape")
                if not (_is_shape(shp) and len(shp) >= 2 and shp[-1] == shp[-2]) or v.get("dtype", "float64") != "float64":
                    bad(f"kind {v['kind']} needs a float64 batch of square matrices (..., n, n), got {shp!r}")
            if v.get("dtype", "float64") not in ("float64", "int64", "bool"):
                bad("a sample tensor's dtype is float64 (default, gradient-checked), int64 or bool")
            if not _is_shape(v.get("shape")):
                bad("`shape` must be a list of non-negative ints")
            if v.get("transposed") and len(v["shape"]) < 2:
                bad("`transposed` needs at least 2 dimensions")
            if v.get("symmetric") and (len(v["shape"]) < 2 or v["shape"][-1] != v["shape"][-2]
                                       or v.get("dtype", "float64") != "float64"):
                bad("`symmetric` needs a floating tensor of square matrices (..., n, n)")
        elif not _is_shape(v):
            bad(f"a Tensor sample is a shape like [3, 4] or {{shape: [3], low: 0.5, high: 2}}, got {v!r}")
    elif arg.type in ("Scalar", "Scalar?", "float", "float?"):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            bad(f"expected a number, got {v!r}")
    elif arg.type in ("int", "int?"):
        if v is None and arg.type == "int?":
            return
        if isinstance(v, bool) or not isinstance(v, int):
            bad(f"expected an int{' or null' if arg.type == 'int?' else ''}, got {v!r}")
    elif arg.type == "int[]":
        if not (isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)):
            bad(f"expected a list of ints, got {v!r}")
    elif arg.type in ("bool", "bool?"):
        if not isinstance(v, bool):
            bad(f"expected true or false, got {v!r}")
    elif arg.type == "str":
        if not isinstance(v, str):
            bad(f"expected a string, got {v!r}")
    elif arg.type == "ScalarType?":
        if v not in DTYPES:
            bad(f"expected a dtype name from {DTYPES} or null, got {v!r}")


# ---------------------------------------------------------------- derivatives.yaml

_IDENT_RE = re.compile(r"(?<![\w.:])([A-Za-z_]\w*)\b(?!\s*\()")
_ATTR_RE = re.compile(r"\b([A-Za-z_]\w*)\.(sizes|strides|storage_offset|dim|scalar_type|device)\(\)")
CPP_WORDS = {"true", "false", "nullptr", "std", "dg", "static_cast", "int64_t", "kFloat32", "kFloat64",
             "kInt64", "kBool", "kInt32", "kInt16", "kInt8", "kUInt8"}


def _strip_strings(text: str) -> str:
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def _analyse_formula(text: str, op: Op, allowed_extra: set) -> tuple[str, set, list]:
    """Returns (cpp, uses, unknown names). `x.sizes()` of a Tensor input becomes
    the member `x_sizes`, so the tensor itself need not be saved."""
    tensor_inputs = {a.name for a in op.sig.tensor_args}

    def attr(m):
        var, what = m.group(1), m.group(2)
        return f"{var}_{what}" if var in tensor_inputs else m.group(0)

    cpp = _ATTR_RE.sub(attr, text)
    uses, unknown = set(), []
    arg_names = {a.name for a in op.sig.args}
    attr_names = {f"{t}_{w}" for t in tensor_inputs for w in TENSOR_ATTRS}
    for m in _IDENT_RE.finditer(_strip_strings(cpp)):
        ident = m.group(1)
        if ident in ("grad",) or ident in CPP_WORDS or ident in allowed_extra:
            continue
        if (ident == "result" and not op.returns_tuple) or ident in arg_names or ident in attr_names:
            uses.add(ident)
        elif op.returns_tuple and re.fullmatch(r"result\d+", ident) and int(ident[6:]) < len(op.sig.returns):
            uses.add(ident)  # the outputs of a several-output op: result0, result1, ...
        elif ident not in unknown:
            unknown.append(ident)
    return cpp, uses, unknown


def _load_derivative(fname: str, entry, ops_by_name: dict, errors: list) -> None:
    if not isinstance(entry, dict):
        errors.append(SpecError(fname, 0, None, None, "every entry must be a mapping with at least `name`"))
        return
    line = entry.get("__line__", 0)
    name = entry.get("name")
    if not isinstance(name, str):
        errors.append(SpecError(fname, line, None, "name", f"missing or malformed name {name!r}"))
        return
    op = ops_by_name.get(name)
    if op is None:
        errors.append(SpecError(fname, line, name, "name", f"no op named '{name}' in ops.yaml"))
        return
    if op.derivative is not None:
        errors.append(SpecError(fname, line, name, "name", f"duplicate entry (first at line {op.derivative.line})"))
        return
    if op.composite and not op.declared_nondifferentiable:
        if not (op.returns_tensor or op.returns_tuple):
            errors.append(SpecError(fname, line, name, None,
                                    f"'{name}' is a composite returning Tensor[]: only a composite returning one "
                                    "Tensor or a tuple can be recorded as one node"))
            return
        op.differentiable = True  # a composite with its own node
    if not op.differentiable:
        why = "a composite marked differentiable: false" if op.composite else "marked differentiable: false"
        errors.append(SpecError(fname, line, name, None, f"'{name}' is {why} in ops.yaml and takes no derivative entry"))
        return
    tensor_args = op.sig.tensor_args
    formulas = []
    formula_keys = [k for k in _user_keys(entry) if k not in DERIV_FIXED_KEYS]
    not_implemented = entry.get("not_implemented", False)
    if not isinstance(not_implemented, bool):
        errors.append(SpecError(fname, _key_line(entry, "not_implemented"), name, "not_implemented",
                                f"expected true or false, got {not_implemented!r}"))
        return
    if not_implemented:
        if formula_keys or "forward" in entry or not op.returns_tensor:
            errors.append(SpecError(fname, _key_line(entry, "not_implemented"), name, "not_implemented",
                                    "an op whose derivative is not implemented returns one Tensor and takes no "
                                    "formulas" + (f" (has {', '.join(formula_keys)})" if formula_keys else "")))
            return
        op.derivative = Derivative(name, line, [], None, not_implemented=True)
        return
    for key in formula_keys:
        kline = _key_line(entry, key)
        idx = next((i for i, a in enumerate(tensor_args) if a.name == key), None)
        if idx is None:
            known = [a.name for a in tensor_args] + sorted(DERIV_FIXED_KEYS)
            errors.append(SpecError(fname, kline, name, key,
                                    f"unknown key: not a Tensor input of {name} (known keys: {', '.join(known)})"))
            continue
        text = entry[key]
        if not isinstance(text, str) or not text.strip():
            errors.append(SpecError(fname, kline, name, key, "expected a C++ expression"))
            continue
        cpp, uses, unknown = _analyse_formula(text, op, set())
        if unknown:
            errors.append(SpecError(fname, kline, name, key,
                                    f"formula uses '{unknown[0]}', which is not an argument of {name} "
                                    f"(names a formula may use: grad, result, "
                                    f"{', '.join(a.name for a in op.sig.args)})"))
            continue
        if op.is_inplace_op and "result" in uses:
            errors.append(SpecError(fname, kline, name, key, "an in-place op's formula cannot use `result` (use self)"))
            continue
        formulas.append(Formula(key, idx, text.strip(), cpp.strip(), uses))
    forward = entry.get("forward")
    if forward == "auto_element_wise":
        # An element-wise op (real dtypes): its Jacobian is diagonal, so each
        # input's contribution to the tangent is its backward formula with
        # the tangent in place of grad (PyTorch's auto_element_wise).
        forward = " + ".join("(" + re.sub(r"\bgrad\b", f"({key}_t)", str(entry[key]).strip()) + ")"
                             for key in formula_keys if isinstance(entry.get(key), str))
    if forward is not None:
        tangents = {f"{a.name}_t" for a in tensor_args}
        _, _, unknown = _analyse_formula(str(forward), op, tangents)
        if unknown:
            errors.append(SpecError(fname, _key_line(entry, "forward"), name, "forward",
                                    f"formula uses '{unknown[0]}', which is neither an argument of {name} "
                                    f"nor a tangent ({', '.join(sorted(tangents))})"))
    if not formula_keys:
        errors.append(SpecError(fname, line, name, None, "no formula for any input"))
    if len(formulas) != len(formula_keys):
        return  # each bad formula has its own error
    op.derivative = Derivative(name, line, formulas, forward)
    op.derivative.saved = _saved_for(op)


def _saved_for(op: Op) -> list:
    """What the node keeps, and which inputs' formulas need each."""
    d = op.derivative
    tensor_names = {a.name for a in op.sig.tensor_args}
    saved = []
    order = []
    for f in d.formulas:
        for u in sorted(f.uses):
            if u not in order:
                order.append(u)
    for u in order:
        needed_by = sorted(f.index for f in d.formulas if u in f.uses)
        if u == "result":
            saved.append(Saved("result", "result", "SavedVariable", "result", needed_by))
        elif re.fullmatch(r"result\d+", u):
            saved.append(Saved(u, "result", "SavedVariable", f"std::get<{u[6:]}>(result)", needed_by))
        elif u in tensor_names:
            saved.append(Saved(u, "tensor", "SavedVariable", u, needed_by))
        elif op.sig.arg(u) is not None and op.sig.arg(u).type == "Tensor?":
            # An optional tensor is saved as a (possibly undefined) tensor;
            # the formula sees a Tensor, which converts back to the optional.
            saved.append(Saved(u, "tensor", "SavedVariable", f"({u} ? *{u} : Tensor())", needed_by))
        elif any(u == f"{t}_{w}" for t in tensor_names for w in TENSOR_ATTRS):
            t, w = next((t, w) for t in tensor_names for w in TENSOR_ATTRS if u == f"{t}_{w}")
            src = f"{t}.{w}().vec()" if w in ("sizes", "strides") else f"{t}.{w}()"
            saved.append(Saved(u, "attr", TENSOR_ATTRS[w], src, needed_by))
        else:
            arg = op.sig.arg(u)
            src = f"{u}.vec()" if arg.type == "int[]" else u
            saved.append(Saved(u, "arg", arg.member_type, src, needed_by))
    return saved


# ---------------------------------------------------------------- entry point

def load(ops_path: str, derivatives_path: str, warnings: Optional[list] = None) -> list:
    """Returns the list of Ops (with derivatives attached). Raises a list of
    SpecErrors via SpecErrors when anything is wrong; appends what is only
    untidy (derivatives out of the ops' order) to `warnings` as SpecErrors."""
    ops_file, der_file = os.path.basename(ops_path), os.path.basename(derivatives_path)
    errors: list = []
    ops: list = []
    by_name: dict = {}
    try:
        raw_ops = _read_yaml(ops_path)
    except SpecError as e:
        raise SpecErrors([e])
    for entry in raw_ops:
        op = _load_op(ops_file, entry, errors)
        if op is None:
            continue
        if op.name in by_name:
            errors.append(SpecError(ops_file, op.line, op.name, "name",
                                    f"duplicate entry (first at line {by_name[op.name].line})"))
            continue
        by_name[op.name] = op
        ops.append(op)
    _check_overloads(ops_file, ops, errors)
    try:
        raw_der = _read_yaml(derivatives_path)
    except SpecError as e:
        raise SpecErrors(errors + [e])
    for entry in raw_der:
        _load_derivative(der_file, entry, by_name, errors)
    for op in ops:
        if op.differentiable and op.derivative is None and not any(
                e.entry == op.name and e.file == der_file for e in errors):
            errors.append(SpecError(ops_file, op.line, op.name, None,
                                    "differentiable op has no entry in derivatives.yaml "
                                    "(add one, or mark the op `differentiable: false`)"))
    for op in ops:
        if op.once_differentiable is None:
            continue
        target = by_name.get(op.once_differentiable)
        if target is None or target.derivative is None or not target.derivative.not_implemented:
            errors.append(SpecError(ops_file, op.line, op.name, "once_differentiable",
                                    f"'{op.once_differentiable}' is not an op whose derivative is not implemented "
                                    f"(derivatives.yaml `not_implemented: true`)"))
    if errors:
        raise SpecErrors(errors)
    if warnings is not None:
        warnings += _order_warnings(der_file, ops_file, ops)
    return ops


def _order_warnings(der_file: str, ops_file: str, ops: list) -> list:
    """derivatives.yaml keeps the families in ops.yaml's order, so that an
    op's two records are found at the same place in both files."""
    position = {op.name: i for i, op in enumerate(ops)}
    entries = sorted((op.derivative for op in ops if op.derivative), key=lambda d: d.line)
    out = []
    for prev, cur in zip(entries, entries[1:]):
        if position[cur.name] < position[prev.name]:
            out.append(SpecError(der_file, cur.line, cur.name, None,
                                 f"comes after '{prev.name}' here but before it in {ops_file}: keep "
                                 f"{der_file} in the order of {ops_file} (families, then ops)"))
    return out


def _check_overloads(fname: str, ops: list, errors: list) -> None:
    """Numbers overloads (node names MulBackward0, MulBackward1) and checks that
    overloads sharing a kernel name agree on its signature."""
    counts: dict = {}
    kernel_sigs: dict = {}
    for op in ops:
        op.overload_index = counts.get(op.base, 0)
        counts[op.base] = op.overload_index + 1
        for dev, k in op.kernels.items():
            sig = tuple(a.type for a in op.sig.args) + (op.is_inplace_op,)
            if k in kernel_sigs and kernel_sigs[k][0] != sig:
                errors.append(SpecError(fname, op.line, op.name, "kernels",
                                        f"kernel {k} is also used by '{kernel_sigs[k][1]}' with other argument types"))
            kernel_sigs.setdefault(k, (sig, op.name))


class SpecErrors(Exception):
    def __init__(self, errors: list):
        self.errors = sorted(errors, key=lambda e: (e.file, e.line))
        super().__init__("\n".join(str(e) for e in self.errors))
