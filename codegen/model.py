"""The typed model of ops.yaml and derivatives.yaml.

load.py fills it (and validates); gen.py renders it. Nothing here reads files
or knows about Jinja: it is plain data plus the small derivations (C++ types,
names) that templates would otherwise have to compute.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional


class SpecError(Exception):
    """A mistake in a user's YAML: printed as `file:line: entry 'x', key 'k': msg`."""

    def __init__(self, file: str, line: int, entry: Optional[str], key: Optional[str], msg: str):
        self.file, self.line, self.entry, self.key, self.msg = file, line, entry, key, msg
        where = f"{file}:{line}: "
        if entry is not None:
            where += f"entry '{entry}'"
            if key is not None:
                where += f", key '{key}'"
            where += ": "
        super().__init__(where + msg)


# ---------------------------------------------------------------- arguments

# Types the generator can emit today. Others parse (so the grammar is whole)
# but are rejected by validation with a clear message.
SUPPORTED_TYPES = {"Tensor", "Tensor?", "Tensor[]", "Scalar", "Scalar?", "int", "int?", "int[]", "float", "float?",
                   "bool", "bool?", "str", "Generator?", "ScalarType?"}

CPP_ARG_TYPE = {
    "Tensor": "const Tensor&",
    "Tensor?": "const std::optional<Tensor>&",
    "Tensor[]": "const std::vector<Tensor>&",
    "Scalar?": "const std::optional<Scalar>&",
    "float?": "std::optional<double>",
    "str": "std::string_view",
    "Generator?": "std::optional<Generator>",  # by value, as LibTorch's c10::optional<at::Generator>
    "Scalar": "const Scalar&",
    "int": "int64_t",
    "int?": "std::optional<int64_t>",
    "int[]": "IntArrayRef",
    "float": "double",
    "bool": "bool",
    "bool?": "std::optional<bool>",
    "ScalarType?": "std::optional<ScalarType>",
}
# How a backward node keeps a non-Tensor argument.
CPP_MEMBER_TYPE = {
    "Scalar": "Scalar",
    "Scalar?": "std::optional<Scalar>",
    "float?": "std::optional<double>",
    "str": "std::string",
    "Generator?": "std::optional<Generator>",
    "int": "int64_t",
    "int?": "std::optional<int64_t>",
    "int[]": "std::vector<int64_t>",
    "float": "double",
    "bool": "bool",
    "bool?": "std::optional<bool>",
    "ScalarType?": "std::optional<ScalarType>",
}


@dataclass
class Arg:
    name: str
    type: str                  # normalised: Tensor, Tensor?, Tensor[], Scalar, int, int[], ...
    default: Optional[str]     # C++ spelling of the default, or None
    alias: Optional[str] = None  # 'a' for Tensor(a), 'a!' for Tensor(a!)
    kwarg_only: bool = False

    @property
    def is_tensor(self) -> bool:
        return self.type == "Tensor"

    @property
    def is_mutated(self) -> bool:
        return bool(self.alias and self.alias.endswith("!"))

    @property
    def cpp_type(self) -> str:
        return CPP_ARG_TYPE[self.type]

    @property
    def cpp_qualified_type(self) -> str:
        """The type spelled with dg:: for use outside the namespace (macros)."""
        t = self.cpp_type
        for name in ("Tensor", "Scalar", "IntArrayRef", "Generator"):
            t = re.sub(rf"\b{name}\b", f"dg::{name}", t)
        return t

    @property
    def member_type(self) -> str:
        return CPP_MEMBER_TYPE[self.type]

    def decl(self, with_default: bool) -> str:
        d = f"{self.cpp_type} {self.name}"
        if with_default and self.default is not None:
            d += f" = {self.default}"
        return d


@dataclass
class Signature:
    name: str
    args: list[Arg]
    returns: list[Arg]          # name may be '' for unnamed returns

    @property
    def tensor_args(self) -> list[Arg]:
        return [a for a in self.args if a.is_tensor]

    @property
    def mutated_arg(self) -> Optional[Arg]:
        return next((a for a in self.args if a.is_mutated), None)

    def arg(self, name: str) -> Optional[Arg]:
        return next((a for a in self.args if a.name == name), None)


# ---------------------------------------------------------------- ops

# Table column order (core/dynagrad/scalar_type.h's ScalarType order).
DTYPES = ["float32", "float64", "int64", "bool", "float16", "bfloat16", "int32", "int16", "int8", "uint8"]
CPP_DTYPE = {"float32": "float", "float64": "double", "int64": "int64_t", "bool": "bool", "float16": "dg::Half",
             "bfloat16": "dg::BFloat16", "int32": "int32_t", "int16": "int16_t", "int8": "int8_t", "uint8": "uint8_t"}
# Integer dtypes an op without a kernel of their own runs on its int64 kernel
# (the dispatch widens the arguments and narrows the result back).
NARROW_INTS = ["int32", "int16", "int8", "uint8"]
DEVICES = ["cpu", "cuda"]                                 # table row order


@dataclass
class Sample:
    values: dict           # arg name -> raw YAML value
    line: int


@dataclass
class Op:
    name: str               # 'mul.Tensor'
    line: int
    sig: Signature
    summary: str = ""
    variants: list[str] = field(default_factory=list)
    category: Optional[str] = None
    int_to_float: bool = False
    meta: Optional[str] = None
    view_of: Optional[str] = None
    composite: Optional[str] = None
    dtypes: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=lambda: ["cpu"])
    kernels: dict = field(default_factory=dict)   # device -> kernel name (qualified, e.g. cpu::mul)
    scalar: Optional[str] = None          # pointwise: the scalar function (functor name or expression)
    scalar_is_expr: bool = False          # scalar is an expression of the arguments, not a functor's name
    generated_kernels: list = field(default_factory=list)  # devices whose kernel the generator writes
    extra_dtypes: dict = field(default_factory=dict)  # device -> dtypes beyond `dtypes` (cuda: [float16])
    operator: Optional[str] = None
    out_dtype: Optional[str] = None       # pointwise: output dtype (comparisons: bool)
    no_promote: list = field(default_factory=list)  # pointwise: tensors kept out of type promotion
    differentiable: bool = True
    declared_nondifferentiable: bool = False  # the entry says `differentiable: false`
    samples: list[Sample] = field(default_factory=list)
    # ops.yaml `once_differentiable: <op>`: the op's gradient is computed by
    # <op>, whose derivative is not implemented (derivatives.yaml
    # `not_implemented: true`); its samples expect gradgradcheck to raise.
    once_differentiable: Optional[str] = None
    derivative: Optional["Derivative"] = None
    overload_index: int = 0  # among ops with the same base name, in file order

    # -- names -----------------------------------------------------------------
    @property
    def base(self) -> str:
        return self.name.split(".")[0]

    @property
    def ident(self) -> str:
        """A C identifier unique to this overload (mul_Tensor)."""
        return self.name.replace(".", "_")

    @property
    def is_inplace_op(self) -> bool:
        """The op itself writes its (a!) argument (zero_, fill_, copy_)."""
        return self.base.endswith("_")

    @property
    def is_pointwise(self) -> bool:
        return self.category == "pointwise"

    @property
    def has_kernel(self) -> bool:
        return bool(self.kernels)

    @property
    def node_name(self) -> str:
        camel = "".join(p[:1].upper() + p[1:] for p in self.base.strip("_").split("_"))
        return f"{camel}Backward{self.overload_index}"

    @property
    def returns_tensor(self) -> bool:
        return len(self.sig.returns) == 1 and self.sig.returns[0].type == "Tensor"

    @property
    def returns_tensor_list(self) -> bool:
        return len(self.sig.returns) == 1 and self.sig.returns[0].type == "Tensor[]"

    @property
    def returns_tuple(self) -> bool:
        return len(self.sig.returns) > 1

    @property
    def cpp_return(self) -> str:
        if self.is_inplace_op:
            return "const Tensor&"
        if self.returns_tensor_list:
            return "std::vector<Tensor>"
        if self.returns_tuple:
            return "std::tuple<" + ", ".join("Tensor" for _ in self.sig.returns) + ">"
        return "Tensor"

    def kernel_for(self, device: str) -> Optional[str]:
        return self.kernels.get(device)

    def dtypes_on(self, device: str) -> list[str]:
        """The dtypes `device`'s kernel is instantiated for, in table order."""
        extra = self.extra_dtypes.get(device, [])
        return [d for d in DTYPES if d in self.dtypes or d in extra]

    @property
    def dtypes_text(self) -> str:
        """For "no kernel" errors: the dtypes, and what a device adds."""
        text = ", ".join(self.dtypes)
        for dev, extra in self.extra_dtypes.items():
            text += f" ({dev} also {', '.join(extra)})"
        return text


# ---------------------------------------------------------------- derivatives

@dataclass
class Formula:
    input: str          # the input this is the gradient of
    index: int          # its position among the op's Tensor arguments
    text: str           # as written
    cpp: str            # with `x.sizes()` etc. replaced by saved members
    uses: set           # names of saved things it reads (tensors, non-tensors, attrs, result)


@dataclass
class Saved:
    """Something a backward node keeps: a tensor, an argument or an attribute."""
    name: str           # member name without the trailing underscore for tensors
    kind: str           # 'tensor', 'result', 'arg', 'attr'
    cpp_type: str       # member type
    source: str         # C++ expression evaluated in the forward wrapper
    needed_by: list     # Tensor-argument indices whose formulas use it


@dataclass
class Derivative:
    name: str
    line: int
    formulas: list[Formula]
    forward: Optional[str]
    saved: list[Saved] = field(default_factory=list)
    # derivatives.yaml `not_implemented: true`: no formulas; the node raises
    # dg::Error "derivative for <op> is not implemented" when reached.
    not_implemented: bool = False

    @property
    def not_implemented_message(self) -> str:
        return f"derivative for {self.name.split('.')[0]} is not implemented"

    @property
    def saves_tensors(self) -> bool:
        return any(s.kind in ("tensor", "result") for s in self.saved)
