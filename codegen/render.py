"""The C++ rendering layer: typed views of the model that know how each
generated line is spelled.

load.py turns the YAML into the model (model.py); this module turns each Op
into an OpView whose fields are C++ fragments with names — a function's
declaration, a kernel table row, the statements that save a tensor for
backward — and the templates (codegen/templates/*.j2) only place them. To
find where a generated line comes from, find the OpView field the template
prints; it is computed in one place here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from model import CPP_DTYPE, DEVICES, DTYPES, NARROW_INTS, Arg, Op

# The macro a device's kernels are compiled under (CMakeLists.txt defines it).
DEVICE_BUILD_GUARD = {"cuda": "DG_WITH_CUDA"}
CPP_SCALAR_TYPE = {d: "k" + d[0].upper() + d[1:] for d in DTYPES}  # float32 -> kFloat32
CPP_SCALAR_TYPE["uint8"] = "kUInt8"


# ---------------------------------------------------------------- C++ functions

@dataclass
class Param:
    type: str
    name: str
    default: Optional[str] = None

    def decl(self) -> str:
        return f"{self.type} {self.name}" + (f" = {self.default}" if self.default is not None else "")

    def defn(self) -> str:
        return f"{self.type} {self.name}"


@dataclass
class Fn:
    """One C++ function: `ret name(params)`."""
    ret: str
    name: str
    params: list

    @property
    def decl_params(self) -> str:
        return ", ".join(p.decl() for p in self.params)

    @property
    def defn_params(self) -> str:
        return ", ".join(p.defn() for p in self.params)

    @property
    def call_args(self) -> str:
        return ", ".join(p.name for p in self.params)

    @property
    def types(self) -> str:
        return ", ".join(p.type for p in self.params)


def params_of(args: list) -> list:
    return [Param(a.cpp_type, a.name, a.default) for a in args]


def kernel_params(op: Op, qualified: bool = False) -> list:
    """A kernel's parameters: `out` (unless the op writes its own first
    argument), then the op's arguments, tensors as TensorBase (kernels see no
    op API, so they cannot record history)."""
    def ty(a: Arg) -> str:
        t = a.cpp_qualified_type if qualified else a.cpp_type
        return t.replace("Tensor&", "TensorBase&")
    base = "const dg::TensorBase&" if qualified else "const TensorBase&"
    out = [] if op.is_inplace_op else [Param(base, "out")]
    return out + [Param(ty(a), a.name) for a in op.sig.args]


# ---------------------------------------------------------------- dispatch

@dataclass
class TableRow:
    """One device's row of a [device][dtype] kernel table."""
    entries: str               # "{&cpu::mul<float>, ..., nullptr}"
    guard: Optional[str]       # build macro the row needs (CUDA), or None
    null: str                  # the row without kernels, for builds without the device


@dataclass
class DispatchView:
    kind: str                  # 'kernel', 'view' or 'composite'
    meta: Optional[str]        # the meta function's name (non-pointwise kernel ops, views)
    meta_args: str             # the op's arguments, as the meta function is called with them
    kernel_type: str = ""      # the kernel's function-pointer parameter types
    kernel_params: str = ""    # the _run helper's parameters (the op's own types)
    kernel_call: str = ""      # the kernel's arguments as the _run helper passes them
    kernel_dtype: str = ""     # the dtype the kernel is chosen by
    table: list = field(default_factory=list)
    out_dtype: str = ""        # kBool for comparisons: the output's dtype differs from the compute dtype
    pointwise: bool = False    # category pointwise: meta::pointwise broadcasts and promotes
    pointwise_tensors: str = ""
    pointwise_scalars: str = ""
    int_to_float: str = "false"
    widens: bool = False       # narrow integer dtypes run on the int64 kernel (dispatch_support.h, widen)
    widened_call: str = ""     # the _run helper's arguments for that int64 run

    def meta_call(self, op_label: str) -> str:
        """The shape rule's call, naming the op as its errors should
        (mul, mul_ or mul_out)."""
        if self.pointwise:
            return (f'meta::pointwise("{op_label}", {{{self.pointwise_tensors}}}, {{{self.pointwise_scalars}}}, '
                    f'{self.int_to_float})')
        return f'{self.meta}("{op_label}", {self.meta_args})'


def dispatch_view(op: Op) -> DispatchView:
    args = op.sig.args
    kind = "composite" if op.composite else "view" if op.view_of else "kernel"
    d = DispatchView(kind=kind, meta=op.meta, meta_args=", ".join(a.name for a in args))
    if op.is_pointwise:
        d.pointwise = True
        d.pointwise_tensors = ", ".join(
            f'{{"{a.name}", &{a.name}{", false" if a.name in op.no_promote else ""}}}' for a in op.sig.tensor_args)
        d.pointwise_scalars = ", ".join(f"&{a.name}" for a in args if a.type == "Scalar")
        d.int_to_float = "true" if op.int_to_float else "false"
    d.out_dtype = CPP_SCALAR_TYPE.get(op.out_dtype or "", "")
    if op.kernels:
        # The table holds kernels of TensorBase parameters; the _run helper
        # keeps the op's own types, so a Tensor reaches the kernel by a
        # reference conversion, never a copy of its handle.
        d.kernel_type = ", ".join(p.type for p in kernel_params(op))
        run_params = ([] if op.is_inplace_op else [Param("const Tensor&", "out")]) + params_of(args)
        d.kernel_params = ", ".join(p.defn() for p in run_params)
        d.kernel_call = ", ".join(
            f"detail::cast_for_compute({a.name}, dtype)"
            if (a.is_tensor and op.is_pointwise and a.name not in op.no_promote) else a.name for a in args)
        # Kernels are chosen by the compute dtype: the promoted one for
        # pointwise ops, else the first Tensor argument's (argmax of float32
        # runs the float kernel and writes int64).
        d.kernel_dtype = "m.dtype" if op.is_pointwise else f"{op.sig.tensor_args[0].name}.dtype()"
        has = {t for dev in op.kernels for t in op.dtypes_on(dev)}
        d.widens = "int64" in has and any(t not in has for t in NARROW_INTS)
        d.widened_call = ", ".join(
            ([] if op.is_inplace_op else ["wide_out"]) +
            ["wide_self" if (op.is_inplace_op and a.name == "self") else
             f"detail::widen({a.name})" if a.is_tensor else a.name for a in args])
        null = "{" + ", ".join("nullptr" for _ in DTYPES) + "}"
        for dev in DEVICES:
            k = op.kernels.get(dev)
            on = op.dtypes_on(dev)
            entries = "{" + ", ".join(f"&{k}<{CPP_DTYPE[t]}>" if k and t in on else "nullptr" for t in DTYPES) + "}"
            # A build without CUDA (DG_WITH_CUDA undefined) compiles no CUDA
            # kernels: its CUDA row names none.
            d.table.append(TableRow(entries, DEVICE_BUILD_GUARD.get(dev) if k else None, null))
    return d


# ---------------------------------------------------------------- autograd

@dataclass
class NodeMember:
    type: str
    name: str

    @property
    def decl(self) -> str:
        return f"{self.type} {self.name}" + ("" if self.type == "SavedVariable" else "{}")


@dataclass
class FormulaView:
    index: int                 # the input's position among the op's Tensor arguments
    input: str
    text: str                  # as written in derivatives.yaml
    cpp: str                   # as compiled (attributes read from saved members)
    unpack: list               # saved tensors the formula reads


@dataclass
class NodeView:
    """A backward node class and the forward wrapper's saves."""
    name: str                  # MulBackward0
    members: list
    released: list             # SavedVariable members freed after backward
    formulas: list
    num_inputs: int
    uses_grad: bool
    saves_before: list         # statements before the kernel runs (functional variant)
    saves_before_inplace: list  # the same when the op writes self (saves a copy of self's old value)
    saves_after: list          # statements after (the result)
    saves_after_inplace: list  # the same when the result is self
    output: str = "result"     # what the node is the history of: the first output of a tuple
    not_implemented: Optional[str] = None  # the message of a node whose derivative is not implemented
    saved_values: list = field(default_factory=list)  # (name, C++ SavedValue) for Node::saved_values()


def node_view(op: Op) -> Optional[NodeView]:
    d = op.derivative
    if d is None:
        return None
    sig = op.sig
    before, before_inplace, after, after_inplace = [], [], [], []
    for s in d.saved:
        guard = "if (" + " || ".join(f"node->needs_input_grad({i})" for i in s.needed_by) + ") "
        if s.kind == "result":
            # Of a several-output op only result0 is the node's output (has
            # its history); the others are saved as plain tensors.
            is_output = "true" if s.name in ("result", "result0") else "false"
            after.append(f"{guard}node->{s.name}_ = SavedVariable({s.source}, {is_output});")
            after_inplace.append(f"{guard}node->result_ = SavedVariable(self, true);")
        elif s.kind == "tensor":
            # An in-place write destroys self's old value: save a (recorded) copy.
            before_write = f"{s.name}.clone()" if s.name == sig.args[0].name else s.source
            plain = before_write if op.is_inplace_op else s.source
            before.append(f"{guard}node->{s.name}_ = SavedVariable({plain}, false);")
            before_inplace.append(f"{guard}node->{s.name}_ = SavedVariable({before_write}, false);")
        else:
            before.append(f"node->{s.name} = {s.source};")
            before_inplace.append(f"node->{s.name} = {s.source};")
    if op.is_inplace_op:
        after_inplace = after  # the op itself returns self as `result`
    members = [NodeMember(s.cpp_type, s.name + ("_" if s.kind in ("tensor", "result") else "")) for s in d.saved]
    released = [s.name + "_" for s in d.saved if s.kind in ("tensor", "result")]
    formulas = []
    for f in d.formulas:
        unpack = [s.name for s in d.saved if s.kind in ("tensor", "result") and s.name in f.uses]
        formulas.append(FormulaView(f.index, f.input, f.text, f.cpp, unpack))
    uses_grad = any(re.search(r"\bgrad\b", f.cpp) for f in d.formulas)
    # What user code reads back by PyTorch's names (grad_fn._saved_self):
    # saved tensors unpacked for this node, other members as they are.
    saved_values = [(s.name, f"SavedValue::unpacked({s.name}_, this)" if s.kind in ("tensor", "result")
                     else f"SavedValue({s.name})") for s in d.saved]
    return NodeView(op.node_name, members, released, formulas, len(sig.tensor_args), uses_grad,
                    before, before_inplace, after, after_inplace,
                    output="std::get<0>(result)" if op.returns_tuple else "result",
                    not_implemented=d.not_implemented_message if d.not_implemented else None,
                    saved_values=saved_values)


# ---------------------------------------------------------------- the public API

@dataclass
class ApiView:
    fn_ns: str                 # dg, or dg::detail for ops without the function variant
    function: Fn               # the op's C++ function
    has_function: bool
    has_method: bool
    has_inplace: bool
    has_out: bool
    method_params: list        # the Tensor method's parameters (all but self)
    operator: Optional[str]
    unary_operator: bool
    compound_operator: bool    # also `a op= b` (from the inplace variant)
    mirrored_operator: Optional[str]  # the number-first form: `2 < t` is gt(t, 2)

    @property
    def method_decl(self) -> str:
        return ", ".join(p.decl() for p in self.method_params)

    @property
    def method_defn(self) -> str:
        return ", ".join(p.defn() for p in self.method_params)

    @property
    def method_call(self) -> str:
        return ", ".join(["*this"] + [p.name for p in self.method_params])


def api_view(op: Op) -> ApiView:
    args = op.sig.args
    params = params_of(args)
    has_function = "function" in op.variants
    return ApiView(
        fn_ns="dg" if has_function else "dg::detail",
        function=Fn(op.cpp_return, op.base, params),
        has_function=has_function,
        has_method="method" in op.variants and bool(args) and args[0].is_tensor,
        has_inplace="inplace" in op.variants,
        has_out="out" in op.variants,
        method_params=params[1:],
        operator=op.operator,
        unary_operator=op.operator in ("-", "~", "!") and len(args) == 1,
        compound_operator=op.operator in COMPOUND_OPERATORS and "inplace" in op.variants,
        mirrored_operator=(MIRRORED_OPERATORS.get(op.operator or "")
                           if len(args) >= 2 and args[1].type == "Scalar" else None),
    )


# Operators with an `op=` form, and the operator of the number-first form of
# a (Tensor, Scalar) operator (`2 * t`, `0.5 < t`). "-" and "/" have no
# mirror: dynagrad/operators.h writes their number-first forms.
COMPOUND_OPERATORS = {"+", "-", "*", "/", "%", "&", "|", "^"}
MIRRORED_OPERATORS = {"+": "+", "*": "*", "&": "&", "|": "|", "^": "^", "==": "==", "!=": "!=",
                      "<": ">", "<=": ">=", ">": "<", ">=": "<="}


# ---------------------------------------------------------------- test samples

@dataclass
class SampleRow:
    """One registry row: a variant of an op run on one sample's inputs."""
    sample: int
    variant: str               # function, method, inplace, out
    specs: str                 # the inputs' TensorSpecs
    grad: bool                 # whether gradcheck applies
    body: str                  # the C++ body of the row's lambda
    gradgrad_error: Optional[str] = None  # what gradgradcheck must raise (ops.yaml once_differentiable)


def _num(v) -> str:
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        name = "quiet_NaN" if v != v else "infinity"
        return ("-" if v < 0 else "") + f"std::numeric_limits<double>::{name}()"
    if isinstance(v, float):
        r = repr(v)
        return r if ("." in r or "e" in r or "inf" in r or "nan" in r) else r + ".0"
    return str(v)


def _sample_literal(arg: Arg, value) -> str:
    if value is None:
        return "std::nullopt"
    if arg.type in ("Scalar", "Scalar?"):
        return f"Scalar({_num(value)})"
    if arg.type in ("float", "float?"):
        return f"double({_num(value)})"
    if arg.type in ("int", "int?"):
        return f"int64_t({value})"
    if arg.type == "int[]":
        return "std::vector<int64_t>{" + ", ".join(str(v) for v in value) + "}"
    if arg.type in ("bool", "bool?"):
        return "true" if value else "false"
    if arg.type == "str":
        return f'std::string_view("{value}")'
    if arg.type == "ScalarType?":
        return f"std::optional<ScalarType>({CPP_SCALAR_TYPE[value]})"
    if arg.type == "Generator?":
        # A fresh generator per call: the sample draws the same values every
        # time, so a random op's output is a fixed function for gradcheck.
        return f"std::optional<Generator>(dg::make_generator(uint64_t({value})))"
    raise AssertionError(arg.type)


def _tensor_spec(value) -> str:
    kind = None
    if isinstance(value, dict):
        shape, low, high = value["shape"], value.get("low", -1.0), value.get("high", 1.0)
        transposed = bool(value.get("transposed", False))
        dtype = value.get("dtype", "float64")
        kind = value.get("kind")
    else:
        shape, low, high, transposed, dtype = value, -1.0, 1.0, False, "float64"
    dims = ", ".join(str(s) for s in shape)
    extra = f", SampleKind::{kind}" if kind else ""
    return (f"TensorSpec{{{{{dims}}}, {_num(float(low))}, {_num(float(high))}, "
            f"{'true' if transposed else 'false'}, {CPP_SCALAR_TYPE[dtype]}{extra}}}")


def _is_spd(value) -> bool:
    return isinstance(value, dict) and value.get("kind") == "spd"


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


def sample_rows(op: Op, api: ApiView, kind: str) -> list:
    args = op.sig.args
    rows = []
    gradgrad_error = (f"derivative for {op.once_differentiable.split('.')[0]} is not implemented"
                      if op.once_differentiable else None)
    for i, s in enumerate(op.samples):
        specs, call = [], []
        ti = 0
        for a in args:
            if a.type == "Tensor?" and s.values.get(a.name) is None:
                call.append("std::nullopt" if a.name in s.values else None)
            elif a.type in ("Tensor", "Tensor?"):
                specs.append(_tensor_spec(s.values[a.name]))
                # A symmetric sample is X + X^T of the random input X: a
                # function of X, so gradcheck perturbs symmetric matrices.
                # An spd input is read as (M + Mᵀ) / 2 (the same values): the
                # gradient checks then see the symmetric gradient PyTorch gives.
                # A log_softmax sample is log_softmax(X, -1) of the random X
                # (log-probabilities): gradcheck perturbs the logits X.
                sym = isinstance(s.values[a.name], dict) and s.values[a.name].get("symmetric")
                logp = isinstance(s.values[a.name], dict) and s.values[a.name].get("log_softmax")
                call.append(f"(in[{ti}] + in[{ti}].transpose(-2, -1))" if sym else
                            f"in[{ti}].log_softmax(-1)" if logp else
                            f"symmetrized(in[{ti}])" if _is_spd(s.values[a.name]) else f"in[{ti}]")
                ti += 1
            elif a.type == "Tensor[]":
                items = s.values[a.name]
                specs += [_tensor_spec(v) for v in items]
                call.append(f"variable_list(in.begin() + {ti}, in.begin() + {ti + len(items)})")
                ti += len(items)
            elif a.name in s.values:
                call.append(_sample_literal(a, s.values[a.name]))
            else:
                call.append(None)  # default
        # Trailing defaults are left out; a default before a given value is spelled.
        while call and call[-1] is None:
            call.pop()
        call = [c if c is not None else args[k].default for k, c in enumerate(call)]
        spec_text = ", ".join(specs)
        rest = ", ".join(call[1:])
        fn_call = f"dg::{op.base}({', '.join(call)})" if api.has_function else f"{call[0]}.{op.base}({rest})"
        if op.is_inplace_op:
            body = f"auto self = {call[0]}.clone(); self.{op.base}({rest}); return {{self}};"
            rows.append(SampleRow(i, "inplace", spec_text, op.derivative is not None, body, gradgrad_error))
            continue
        if op.returns_tensor_list:
            ret = f"return {fn_call};"
        elif op.returns_tuple and op.derivative is not None:
            # One node on the first output: the others are not differentiable.
            ret = f"return {{std::get<0>({fn_call})}};"
        elif op.returns_tuple:
            gets = ", ".join(f"std::get<{k}>(r)" for k in range(len(op.sig.returns)))
            ret = f"auto r = {fn_call}; return {{{gets}}};"
        else:
            ret = f"return {{{fn_call}}};"
        # Ops without a gradient (comparisons, argmax) are only run forward,
        # and so are samples with no floating input (unique of int64 values).
        differentiable = (op.derivative is not None or (kind != "kernel" and not op.declared_nondifferentiable)) \
            and "kFloat64" in spec_text and not (op.derivative and op.derivative.not_implemented)
        rows.append(SampleRow(i, "function" if api.has_function else "method", spec_text, differentiable, ret,
                              gradgrad_error))
        # An in-place variant needs self to hold the broadcast result.
        shapes = [_shape_of(s.values[a.name]) for a in op.sig.tensor_args if s.values.get(a.name) is not None]
        if api.has_inplace and (not shapes or _broadcast(shapes) == shapes[0]):
            body = f"auto self = {call[0]}.clone(); self.{op.base}_({rest}); return {{self}};"
            rows.append(SampleRow(i, "inplace", spec_text, differentiable, body, gradgrad_error))
        if api.has_out:
            body = (f"auto expected = {fn_call}; auto out = dg::empty({{0}}, expected.options()); "
                    f"dg::{op.base}_out(out, {', '.join(call)}); return {{out, expected}};")
            rows.append(SampleRow(i, "out", spec_text, False, body))
    return rows


# ---------------------------------------------------------------- kernels

@dataclass
class KernelDecl:
    """A kernel template ops.yaml names, and its instantiation macro."""
    device: str
    name: str
    op: str                    # the first op that names it
    params: str                # its parameter list
    qualified_types: str       # the parameter types spelled outside namespace dg
    cpp_types: list            # the element types it is instantiated for

    @property
    def ident(self) -> str:
        return f"{self.device}_{self.name}"


def kernel_decls(ops: list, generated: bool) -> list:
    """The kernels written by hand (generated=False) or by the generator from
    scalar functions (generated=True). They live in two headers, so that
    adding a pointwise op leaves the hand-written kernels' header, and every
    object that includes it, unchanged."""
    decls, seen = [], set()
    for op in ops:
        for dev, k in op.kernels.items():
            if k in seen or (dev in op.generated_kernels) != generated:
                continue
            seen.add(k)
            decls.append(KernelDecl(
                device=dev, name=k.split("::")[1], op=op.name,
                params=", ".join(p.defn() for p in kernel_params(op)),
                qualified_types=", ".join(p.type for p in kernel_params(op, qualified=True)),
                cpp_types=[CPP_DTYPE[t] for t in op.dtypes_on(dev)]))
    return decls


# ---------------------------------------------------------------- one op

@dataclass
class OpView:
    op: Op
    name: str
    base: str
    ident: str
    summary: str
    kind: str
    api: ApiView
    dispatch: DispatchView
    node: Optional[NodeView]
    composite: Optional[str]
    view_of: Optional[str]
    samples: list
    jvp: Optional[JvpFn]
    fw: Optional[FwView]
    functor: Optional[ScalarFunctor]
    scalar_kernels: list
    dtypes_text: str
    dtype_strings: str
    kernel_device_strings: str
    cuda_extra_dtype_strings: str

    @property
    def tensor_names(self) -> list:
        return [a.name for a in self.op.sig.tensor_args]

    @property
    def tensor_list(self) -> str:
        return ", ".join(self.tensor_names)


def op_view(op: Op) -> OpView:
    api = api_view(op)
    dispatch = dispatch_view(op)
    return OpView(
        op=op, name=op.name, base=op.base, ident=op.ident, summary=op.summary, kind=dispatch.kind,
        api=api, dispatch=dispatch, node=node_view(op), composite=op.composite, view_of=op.view_of,
        samples=sample_rows(op, api, dispatch.kind),
        jvp=jvp_fn(op), fw=fw_view(op), functor=scalar_functor(op), scalar_kernels=scalar_kernels(op),
        dtypes_text=op.dtypes_text,
        dtype_strings=", ".join(f'"{d}"' for d in op.dtypes),
        kernel_device_strings=", ".join(f'"{d}"' for d in DEVICES if d in op.kernels),
        cuda_extra_dtype_strings=", ".join(f'"{d}"' for d in op.extra_dtypes.get("cuda", [])),
    )


# ---------------------------------------------------------------- generated pointwise kernels

# Each device's Math policy for the scalar functions (Math::exp, ...): the CPU's
# vectorisable float32 forms (kernels/cpu/vec_math.h), libm / CUDA's math
# everywhere else (kernels/common/pointwise_math.h).
DEVICE_MATH = {"cpu": "VecMath", "cuda": "pwmath::StdMath"}
# How an expression functor keeps a non-Tensor argument, and from what.
FUNCTOR_MEMBER = {"Scalar": ("C", "{n}.to<C>()"), "int": ("int64_t", "{n}"), "float": ("C", "static_cast<C>({n})"),
                  "bool": ("bool", "{n}")}


def _camel(ident: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in ident.split("_") if p)


@dataclass
class ScalarFunctor:
    """The functor an expression in `scalar:` becomes (generated/kernels/
    pointwise_functors.h): members for the non-Tensor arguments, converted
    once on the host; operator() on the compute type C, host and device."""
    name: str                  # Sinh (in namespace dg::pw)
    op: str
    text: str
    result: str                # C, or bool for comparisons
    members: list              # (type, name, initialiser)
    ctor_params: str
    call_params: str           # "C self, C other"


@dataclass
class ScalarKernel:
    """One device's kernel written from an op's scalar function."""
    device: str
    name: str                  # the kernel's name in dg::<device>
    op: str
    label: str                 # the op's name in CUDA launch errors
    scalar: str                # as written in ops.yaml
    params: str
    out_type: str              # the output's element type: T, or bool
    functor: str               # the functor's construction
    inputs: str                # the Tensor arguments, in order

    @property
    def ident(self) -> str:
        return f"{self.device}_{self.name}"


def scalar_functor(op: Op) -> Optional[ScalarFunctor]:
    if not (op.scalar and op.scalar_is_expr):
        return None
    members = []
    for a in op.sig.args:
        if not a.is_tensor:
            ty, init = FUNCTOR_MEMBER[a.type]
            members.append((ty, a.name, init.format(n=a.name)))
    return ScalarFunctor(
        name=_camel(op.ident), op=op.name, text=op.scalar,
        result="bool" if op.out_dtype == "bool" else "C", members=members,
        ctor_params=", ".join(f"{a.cpp_type} {a.name}" for a in op.sig.args if not a.is_tensor),
        call_params=", ".join(f"C {a.name}" for a in op.sig.tensor_args))


def scalar_kernels(op: Op) -> list:
    out = []
    for dev in op.generated_kernels:
        functor = f"pw::{_camel(op.ident)}" if op.scalar_is_expr else op.scalar
        ctor_args = ", ".join(a.name for a in op.sig.args if not a.is_tensor)
        out.append(ScalarKernel(
            device=dev, name=op.kernels[dev].split("::")[1], op=op.name, label=op.base, scalar=op.scalar,
            params=", ".join(p.defn() for p in kernel_params(op)),
            out_type="bool" if op.out_dtype == "bool" else "T",
            functor=f"{functor}<T, {DEVICE_MATH[dev]}>({ctor_args})",
            inputs=", ".join(a.name for a in op.sig.tensor_args)))
    return out


# ---------------------------------------------------------------- the hand-written halves

@dataclass
class BodyDecl:
    """The declaration of a function a human writes the body of: a shape rule
    (ops/meta/*.cpp) or a composite (ops/composite/*.cpp), from the
    signature of the op(s) that name it."""
    ret: str
    name: str
    params: str
    ops: list                  # the ops naming it, for the comment


def _dedupe(decls: list) -> list:
    out = {}
    for d in decls:
        key = (d.name, d.params)
        if key in out:
            out[key].ops += d.ops
        else:
            out[key] = d
    return list(out.values())


def meta_decls(ops: list) -> list:
    decls = []
    for op in ops:
        if not op.meta:
            continue
        ret = "ViewMeta" if op.view_of else "void" if op.is_inplace_op else "TensorMeta"
        params = ", ".join(["const char* op"] + [p.defn() for p in params_of(op.sig.args)])
        decls.append(BodyDecl(ret, op.meta.split("::", 1)[1], params, [op.name]))
    return _dedupe(decls)


def composite_decls(ops: list) -> list:
    return _dedupe([BodyDecl(op.cpp_return, op.composite.split("::", 1)[1],
                             ", ".join(p.defn() for p in params_of(op.sig.args)), [op.name])
                    for op in ops if op.composite])


# ---------------------------------------------------------------- forward-mode formulas

@dataclass
class JvpFn:
    """An op's forward-mode (JVP) formula from derivatives.yaml, compiled as a
    function of the op's arguments, their tangents (`<input>_t`, undefined
    for an input without one) and its result; the op's wrapper calls it."""
    name: str                  # mul_Tensor, in namespace dg::generated::jvp
    op: str
    params: str
    text: str                  # as written in derivatives.yaml
    body: str = ""             # the function's statements


def _split_terms(text: str) -> Optional[list]:
    """A formula's top-level additive terms as (sign, text), or None when it
    is not a plain sum (a top-level ?: or comparison)."""
    terms, depth, start, sign = [], 0, 0, "+"
    i = 0
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and c in "?<>=&|":
            return None
        elif depth == 0 and c in "+-":
            before = text[:i].rstrip()
            binary = bool(before) and (before[-1].isalnum() or before[-1] in "_)].") and \
                not re.search(r"(?<![A-Za-z_])\d+(\.\d*)?[eE]$", before)
            if binary:
                terms.append((sign, text[start:i].strip()))
                sign, start = c, i + 1
        i += 1
    terms.append((sign, text[start:].strip()))
    return terms


def _jvp_body(op: Op, text: str) -> str:
    """Statements computing the tangent. The formula is linear in the
    tangents, so a term whose only tangent is undefined (an input without
    one) is zero and left out; a term with several reads zeros for the
    undefined ones. Most ops then cost one formula term per dual input."""
    names = [a.name for a in op.sig.tensor_args]

    def tangents_in(t: str) -> list:
        return [n for n in names if re.search(rf"\b{n}_t\b", t)]

    def with_zeros(t: str) -> str:
        for n in tangents_in(t):
            t = re.sub(rf"\b{n}_t\b", f"({n}_t.defined() ? {n}_t : zeros_like({n}))", t)
        return t

    terms = _split_terms(text)
    if terms is None or len(terms) == 1 or any(len(tangents_in(t)) != 1 for _, t in terms):
        # One term: no tangent it reads is defined -> no tangent (zero).
        used = tangents_in(text)
        guard = ("if (!(" + " || ".join(f"{n}_t.defined()" for n in used) + ")) return Tensor(); ") if used else ""
        return guard + f"return {with_zeros(text) if len(used) > 1 else text};"
    lines = ["Tensor r;"]
    for sign, t in terms:
        n = tangents_in(t)[0]
        acc = f"r = r.defined() ? r {sign} ({t}) : " + (f"({t})" if sign == "+" else f"-({t})")
        lines.append(f"if ({n}_t.defined()) {acc};")
    lines.append("return r;")
    return " ".join(lines)


def jvp_fn(op: Op) -> Optional[JvpFn]:
    d = op.derivative
    if d is None or d.forward is None:
        return None
    params = [p.defn() for p in params_of(op.sig.args)]
    params += [f"const Tensor& {a.name}_t" for a in op.sig.tensor_args]
    if op.returns_tuple:
        params += [f"const Tensor& result{k}" for k in range(len(op.sig.returns))]
    else:
        params.append("const Tensor& result")
    text = " ".join(str(d.forward).split())
    return JvpFn(op.ident, op.name, ", ".join(params), text, _jvp_body(op, text))


@dataclass
class FwView:
    """How an op's wrapper propagates forward-mode tangents: when forward mode
    is on and an input has a tangent, the output's tangent is the op's
    `forward:` formula (dg::generated::jvp::<op>) of the inputs, their
    tangents (zeros for inputs without one) and the output."""
    condition: str             # whether to compute a tangent (cheap when forward mode is off)
    tangents: list             # statements binding each input's tangent
    tangent_ptrs: str          # {&self, ...}: the inputs whose tangents an output's may share
    call: str                  # the formula's call, out-of-place: reads `result`
    inplace_call: str          # the same for an in-place variant: self's old value is `fw_self`
    reads_self: bool           # whether the in-place variant needs self's old value
    setter: str                # set_tangent for views (a view's tangent is the same view), else set_output_tangent
    output: str                # the tensor whose tangent is set
    scoped_body: bool          # composites: the body's own ops need not propagate (the formula does)
    unsupported: bool = False  # no formula: an input with a tangent is an error (PyTorch's)


def fw_view(op: Op) -> Optional[FwView]:
    d = op.derivative
    if d is None:
        return None
    tensors = [a.name for a in op.sig.tensor_args]
    if not tensors:
        return None
    cond = "fw::enabled() && fw::any_tangent(" + ", ".join(tensors) + ")"
    if d.forward is None and op.composite and not d.not_implemented:
        return None  # a composite without a formula: its body's ops carry the tangent
    if d.forward is None:
        return FwView(cond, [], "{}", "", "", False, "", "", False, unsupported=True)
    # Only the tangents the formula reads are bound (zeros when an input has none).
    used = [t for t in tensors if re.search(rf"\b{t}_t\b", str(d.forward))]
    tangents = [f"const Tensor {t}_t = fw::tangent({t});" for t in used]
    ptrs = "{" + ", ".join(f"&{t}" for t in used) + "}"
    args = [a.name for a in op.sig.args] + [f"{t}_t" if t in used else "Tensor()" for t in tensors]
    self_name = op.sig.args[0].name
    if op.returns_tuple:
        outs = [f"std::get<{k}>(result)" for k in range(len(op.sig.returns))]
        output = outs[0]
    else:
        outs, output = ["result"], "result"
    call = f"generated::jvp::{op.ident}({', '.join(args + outs)})"
    reads_self = re.search(rf"\b{self_name}\b", str(d.forward)) is not None
    inplace_args = ["fw_self" if (a == self_name and reads_self) else a for a in args]
    inplace_call = f"generated::jvp::{op.ident}({', '.join(inplace_args + [self_name])})"
    setter = "set_tangent" if op.view_of else "set_output_tangent"
    return FwView(cond, tangents, ptrs, call, inplace_call, reads_self, setter, output, bool(op.composite))
