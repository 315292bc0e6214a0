#!/usr/bin/env python3
"""The generator's validation: each mistake in a small broken YAML fixture
gives its error, naming file, line, entry and key, with no Python traceback.
Run by ctest (`codegen` test) with the Python the build found."""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CODEGEN = os.path.dirname(HERE)
sys.path.insert(0, CODEGEN)

from load import SpecErrors, load  # noqa: E402

GOOD_OPS = """
- name: mul.Tensor
  signature: mul(Tensor self, Tensor other) -> Tensor
  category: pointwise
  dtypes: [float32, float64]
  kernels: {cpu: cpu::mul}
  samples: [{self: [3], other: [3]}]

- name: exp
  signature: exp(Tensor self) -> Tensor
  category: pointwise
  dtypes: [float32, float64]
  kernels: {cpu: cpu::exp}
  samples: [{self: [3]}]
"""
GOOD_DERIVATIVES = """
- name: mul.Tensor
  self: grad * other
  other: grad * self

- name: exp
  self: grad * result
"""


class Fixture:
    def __init__(self, ops, derivatives):
        self.dir = tempfile.mkdtemp(prefix="dg_codegen_")
        self.ops = os.path.join(self.dir, "ops.yaml")
        self.der = os.path.join(self.dir, "derivatives.yaml")
        with open(self.ops, "w") as f:
            f.write(textwrap.dedent(ops))
        with open(self.der, "w") as f:
            f.write(textwrap.dedent(derivatives))

    def errors(self):
        try:
            load(self.ops, self.der)
        except SpecErrors as e:
            return [str(x) for x in e.errors]
        return []

    def run_generator(self):
        out = os.path.join(self.dir, "generated")
        return subprocess.run([sys.executable, os.path.join(CODEGEN, "gen.py"), "--ops", self.ops,
                               "--derivatives", self.der, "--out", out],
                              capture_output=True, text=True)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class ValidationTest(unittest.TestCase):
    def assertOneError(self, ops, derivatives, *fragments):
        errs = Fixture(ops, derivatives).errors()
        self.assertTrue(errs, "expected a validation error, got none")
        joined = "\n".join(errs)
        for frag in fragments:
            self.assertIn(frag, joined)
        return errs

    def test_good_fixture_generates(self):
        fx = Fixture(GOOD_OPS, GOOD_DERIVATIVES)
        self.assertEqual(fx.errors(), [])
        r = fx.run_generator()
        self.assertEqual(r.returncode, 0, r.stderr)
        ops_h = read(os.path.join(fx.dir, "generated", "dynagrad", "ops.h"))
        self.assertIn("Tensor mul(const Tensor& self, const Tensor& other);", ops_h)
        nodes = read(os.path.join(fx.dir, "generated", "dynagrad", "backward_nodes.h"))
        # exp's formula uses only `result`: nothing else is saved.
        exp_node = nodes[nodes.index("struct ExpBackward0"):]
        exp_node = exp_node[:exp_node.index("};")]
        self.assertIn("SavedVariable result_;", exp_node)
        self.assertNotIn("self_", exp_node)
        # What it saved is listed by name for user code (grad_fn._saved_result).
        self.assertIn("saved_value_list saved_values() const override;", exp_node)
        bodies = "".join(read(os.path.join(fx.dir, "generated", f))
                         for f in os.listdir(os.path.join(fx.dir, "generated")) if f.startswith("backward_nodes_"))
        self.assertIn('{"result", SavedValue::unpacked(result_, this)},', bodies)

    # A random op: `Generator? generator=None` (LibTorch's c10::optional<at::Generator>).
    RANDOM_OP = """
- name: uniform_
  signature: uniform_(Tensor(a!) self, float from=0, float to=1, *, Generator? generator=None) -> Tensor(a!)
  variants: [method]
  dtypes: [float32, float64]
  kernel: uniform_
  samples: [{self: [3], generator: 7}]
"""
    RANDOM_DER = "\n- name: uniform_\n  self: zeros_like(grad)\n"

    def test_generator_argument_generates(self):
        fx = Fixture(GOOD_OPS + self.RANDOM_OP, GOOD_DERIVATIVES + self.RANDOM_DER)
        self.assertEqual(fx.errors(), [])
        r = fx.run_generator()
        self.assertEqual(r.returncode, 0, r.stderr)
        gen = os.path.join(fx.dir, "generated")
        methods = read(os.path.join(gen, "dynagrad", "tensor_methods.h"))
        self.assertIn("const Tensor& uniform_(double from = 0, double to = 1, "
                      "std::optional<Generator> generator = std::nullopt) const;", methods)
        kernels = read(os.path.join(gen, "kernels", "kernel_decls.h"))
        self.assertIn('#include "dynagrad/generator.h"', kernels)
        self.assertIn("void uniform_(const TensorBase& self, double from, double to, "
                      "std::optional<Generator> generator);", kernels)
        self.assertIn("dg::Generator", kernels)  # the instantiation macros spell it qualified
        # A sample's seed becomes a fresh generator per call.
        registry = "".join(read(os.path.join(gen, "tests", f)) for f in os.listdir(os.path.join(gen, "tests")))
        self.assertIn("std::optional<Generator>(dg::make_generator(uint64_t(7)))", registry)

    def test_generator_sample_must_be_a_seed(self):
        ops = GOOD_OPS + self.RANDOM_OP.replace("generator: 7", "generator: fast")
        self.assertOneError(ops, GOOD_DERIVATIVES + self.RANDOM_DER, "entry 'uniform_'", "key 'samples'",
                            "a Generator sample is a seed")

    def test_generator_must_be_optional(self):
        ops = GOOD_OPS + self.RANDOM_OP.replace("Generator? generator=None", "Generator generator")
        self.assertOneError(ops, GOOD_DERIVATIVES + self.RANDOM_DER, "entry 'uniform_'",
                            "type 'Generator', which the generator does not support yet")

    def test_unknown_key(self):
        ops = GOOD_OPS.replace("  category: pointwise\n", "  category: pointwise\n  kernal: x\n", 1)
        errs = self.assertOneError(ops, GOOD_DERIVATIVES, "ops.yaml:", "entry 'mul.Tensor'", "key 'kernal'",
                                   "unknown key")
        self.assertIn("ops.yaml:5:", errs[0])

    def test_unknown_key_in_derivatives(self):
        der = GOOD_DERIVATIVES.replace("  self: grad * result", "  self: grad * result\n  selff: grad")
        self.assertOneError(GOOD_OPS, der, "derivatives.yaml:", "entry 'exp'", "key 'selff'", "unknown key")

    def test_malformed_signature(self):
        ops = GOOD_OPS.replace("mul(Tensor self, Tensor other) -> Tensor", "mul(Tensor self, Tensor other")
        self.assertOneError(ops, GOOD_DERIVATIVES, "ops.yaml:3:", "entry 'mul.Tensor'", "key 'signature'",
                            "malformed signature")

    def test_malformed_argument(self):
        ops = GOOD_OPS.replace("mul(Tensor self, Tensor other)", "mul(Tensor self, Tnsor other)")
        self.assertOneError(ops, GOOD_DERIVATIVES, "key 'signature'", "unknown type 'Tnsor'")

    def test_formula_names_missing_input(self):
        der = GOOD_DERIVATIVES.replace("self: grad * other", "self: grad * othr")
        self.assertOneError(GOOD_OPS, der, "derivatives.yaml:3:", "entry 'mul.Tensor'", "key 'self'",
                            "formula uses 'othr', which is not an argument of mul.Tensor")

    def test_derivative_for_undeclared_op(self):
        der = GOOD_DERIVATIVES + "\n- name: sinh\n  self: grad * self.cosh()\n"
        self.assertOneError(GOOD_OPS, der, "derivatives.yaml:9:", "entry 'sinh'", "no op named 'sinh' in ops.yaml")

    def test_differentiable_op_without_derivative(self):
        der = GOOD_DERIVATIVES.replace("\n- name: exp\n  self: grad * result\n", "\n")
        self.assertOneError(GOOD_OPS, der, "ops.yaml:9:", "entry 'exp'",
                            "differentiable op has no entry in derivatives.yaml")

    def test_nondifferentiable_op_needs_no_derivative(self):
        ops = GOOD_OPS.replace("  kernels: {cpu: cpu::exp}", "  kernels: {cpu: cpu::exp}\n  differentiable: false")
        der = GOOD_DERIVATIVES.replace("\n- name: exp\n  self: grad * result\n", "\n")
        self.assertEqual(Fixture(ops, der).errors(), [])

    def test_declared_device_without_kernel(self):
        ops = GOOD_OPS.replace("  kernels: {cpu: cpu::exp}", "  devices: [cpu, cuda]\n  kernels: {cpu: cpu::exp}")
        self.assertOneError(ops, GOOD_DERIVATIVES, "entry 'exp'", "key 'kernels'",
                            "device cuda is declared but has no kernel")

    def test_declared_dtypes_without_kernel(self):
        ops = GOOD_OPS.replace("  kernels: {cpu: cpu::exp}\n", "")
        self.assertOneError(ops, GOOD_DERIVATIVES, "entry 'exp'", "needs exactly one of `kernel`/`kernels`/`scalar`, `view_of` or `composite`")

    def test_kernel_without_dtypes(self):
        ops = GOOD_OPS.replace("  dtypes: [float32, float64]\n  kernels: {cpu: cpu::exp}", "  kernels: {cpu: cpu::exp}")
        self.assertOneError(ops, GOOD_DERIVATIVES, "entry 'exp'", "key 'dtypes'", "must declare its dtypes")

    def test_unknown_dtype(self):
        ops = GOOD_OPS.replace("dtypes: [float32, float64]\n  kernels: {cpu: cpu::exp}",
                               "dtypes: [float32, float8]\n  kernels: {cpu: cpu::exp}")
        self.assertOneError(ops, GOOD_DERIVATIVES, "entry 'exp'", "key 'dtypes'", "unknown value 'float8'")

    def test_extra_dtypes(self):
        base = "dtypes: [float32, float64]\n  kernels: {cpu: cpu::exp}"
        ok = GOOD_OPS.replace(base, base.replace("}", ", cuda: cuda::exp}") +
                              "\n  extra_dtypes: {cuda: [float16, bfloat16]}")
        fx = Fixture(ok, GOOD_DERIVATIVES)
        op = next(o for o in load(fx.ops, fx.der) if o.name == "exp")
        self.assertEqual(op.dtypes_on("cpu"), ["float32", "float64"])
        self.assertEqual(op.dtypes_on("cuda"), ["float32", "float64", "float16", "bfloat16"])
        # The CUDA row names kernels only in a CUDA build; the CUDA macro
        # instantiates the extra dtypes, the CPU one does not.
        r = fx.run_generator()
        self.assertEqual(r.returncode, 0, r.stderr)
        gen = os.path.join(fx.dir, "generated")
        dispatch = "".join(read(os.path.join(gen, f)) for f in sorted(os.listdir(gen)) if f.startswith("dispatch_"))
        row = dispatch[dispatch.index("exp_table"):]
        self.assertIn("#if defined(DG_WITH_CUDA)\n    {&cuda::exp<float>, &cuda::exp<double>, nullptr, nullptr, "
                      "&cuda::exp<dg::Half>, &cuda::exp<dg::BFloat16>, nullptr, nullptr, nullptr, nullptr},\n#else\n    {nullptr",
                      row)
        decls = read(os.path.join(gen, "kernels", "kernel_decls.h"))
        cpu_macro = decls[decls.index("#define DG_INSTANTIATE_KERNEL_cpu_exp"):]
        cpu_macro = cpu_macro[:cpu_macro.index("\n\n")]
        self.assertNotIn("Half", cpu_macro)
        self.assertIn("dg::cuda::exp<dg::BFloat16>", decls)
        no_kernel = GOOD_OPS.replace(base, base + "\n  extra_dtypes: {cuda: [float16]}")
        self.assertOneError(no_kernel, GOOD_DERIVATIVES, "entry 'exp'", "key 'extra_dtypes'", "has no kernel")
        twice = GOOD_OPS.replace(base, base + "\n  extra_dtypes: {cpu: [float64]}")
        self.assertOneError(twice, GOOD_DERIVATIVES, "entry 'exp'", "key 'extra_dtypes'", "already in `dtypes`")

    def test_sample_names_unknown_argument(self):
        ops = GOOD_OPS.replace("samples: [{self: [3]}]", "samples: [{self: [3], other: [3]}]")
        self.assertOneError(ops, GOOD_DERIVATIVES, "entry 'exp'", "key 'samples'", "'other' is not an argument")

    def test_symmetric_sample_needs_square_matrices(self):
        ops = GOOD_OPS.replace("samples: [{self: [3]}]", "samples: [{self: {shape: [3], symmetric: true}}]")
        self.assertOneError(ops, GOOD_DERIVATIVES, "entry 'exp'", "key 'samples'",
                            "`symmetric` needs a floating tensor of square matrices")

    def test_duplicate_entry(self):
        ops = GOOD_OPS + GOOD_OPS[GOOD_OPS.index("- name: exp"):]
        self.assertOneError(ops, GOOD_DERIVATIVES, "entry 'exp'", "duplicate entry")

    def test_invalid_yaml(self):
        self.assertOneError("- name: [unclosed\n", GOOD_DERIVATIVES, "ops.yaml:", "not valid YAML")

    def test_generator_reports_without_traceback(self):
        fx = Fixture(GOOD_OPS.replace("category: pointwise", "category: pointwize", 1), GOOD_DERIVATIVES)
        r = fx.run_generator()
        self.assertEqual(r.returncode, 1)
        self.assertNotIn("Traceback", r.stderr)
        self.assertIn("entry 'mul.Tensor', key 'category': unknown category 'pointwize'", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(fx.dir, "generated")), "nothing may be written on error")

    def test_repository_yaml_is_valid(self):
        root = os.path.dirname(CODEGEN)
        warnings = []
        ops = load(os.path.join(root, "ops.yaml"), os.path.join(root, "derivatives.yaml"), warnings)
        self.assertEqual([str(w) for w in warnings], [], "derivatives.yaml is out of ops.yaml's order")
        self.assertTrue(any(o.name == "mul.Tensor" for o in ops))
        for op in ops:
            if op.derivative is not None and not op.derivative.not_implemented:
                self.assertTrue(op.samples, f"differentiable op {op.name} has no samples")


class ScalarAndDefaultsTest(unittest.TestCase):
    """`scalar:` writes an op's kernels; `kernel:` names every device's;
    families carry defaults; the hand-written halves get declarations; the
    forward formulas are compiled; derivatives.yaml keeps ops.yaml's order."""

    def generate(self, ops, derivatives=GOOD_DERIVATIVES):
        fx = Fixture(ops, derivatives)
        r = fx.run_generator()
        self.assertEqual(r.returncode, 0, r.stderr)
        gen = os.path.join(fx.dir, "generated")
        return gen, r, load(fx.ops, fx.der)

    def all_of(self, gen, prefix):
        d = os.path.join(gen, os.path.dirname(prefix))
        return "".join(read(os.path.join(d, f)) for f in sorted(os.listdir(d))
                       if f.startswith(os.path.basename(prefix)))

    def test_an_expression_writes_both_devices_kernels_and_one_functor(self):
        ops = GOOD_OPS.replace("  kernels: {cpu: cpu::exp}", '  scalar: "Math::exp(self)"')
        gen, _, loaded = self.generate(ops)
        op = next(o for o in loaded if o.name == "exp")
        self.assertEqual(op.kernels, {"cpu": "cpu::exp", "cuda": "cuda::exp"})
        self.assertEqual(op.generated_kernels, ["cpu", "cuda"])
        # A floating pointwise op gets CUDA's 16-bit dtypes by default.
        self.assertEqual(op.extra_dtypes, {"cuda": ["float16", "bfloat16"]})
        functors = read(os.path.join(gen, "kernels", "pointwise_functors.h"))
        self.assertIn("struct Exp {", functors)
        self.assertIn("DG_HOST_DEVICE C operator()(C self) const { return Math::exp(self); }", functors)
        cpu = self.all_of(gen, "kernels/pointwise_cpu_")
        self.assertIn("pointwise<T>(out, pw::Exp<T, VecMath>(), self);", cpu)
        self.assertIn("DG_INSTANTIATE_KERNEL_cpu_exp", cpu)
        cuda = self.all_of(gen, "kernels/pointwise_cuda_")
        self.assertIn('pointwise<T>("exp", out, pw::Exp<T, pwmath::StdMath>(), self);', cuda)

    def test_a_hand_written_kernel_overrides_one_device(self):
        ops = GOOD_OPS.replace("  kernels: {cpu: cpu::exp}", '  scalar: "Math::exp(self)"\n  kernels: {cpu: cpu::exp}')
        gen, _, loaded = self.generate(ops)
        op = next(o for o in loaded if o.name == "exp")
        self.assertEqual(op.generated_kernels, ["cuda"])
        self.assertNotIn("void exp(", self.all_of(gen, "kernels/pointwise_cpu_"))
        self.assertIn("void exp(", self.all_of(gen, "kernels/pointwise_cuda_"))

    def test_a_named_functor_gets_the_non_tensor_arguments(self):
        ops = GOOD_OPS.replace("mul(Tensor self, Tensor other) -> Tensor", "mul(Tensor self, Scalar other) -> Tensor")
        ops = ops.replace("  kernels: {cpu: cpu::mul}", "  scalar: pwmath::MulScalar")
        ops = ops.replace("samples: [{self: [3], other: [3]}]", "samples: [{self: [3], other: 2.0}]")
        der = GOOD_DERIVATIVES.replace("  other: grad * self\n", "")
        gen, _, _ = self.generate(ops, der)
        self.assertIn("pointwise<T>(out, pwmath::MulScalar<T, VecMath>(other), self);",
                      self.all_of(gen, "kernels/pointwise_cpu_"))

    def test_scalar_mistakes_name_the_entry_and_key(self):
        base = "  kernels: {cpu: cpu::exp}"
        unknown = GOOD_OPS.replace(base, '  scalar: "std::exp(slef)"')
        self_ = ValidationTest("test_invalid_yaml")
        self_.assertOneError(unknown, GOOD_DERIVATIVES, "entry 'exp'", "key 'scalar'",
                             "expression uses 'slef', which is not an argument of exp")
        unused = GOOD_OPS.replace(base, '  scalar: "std::exp(self)"\n  kernels: {cpu: cpu::exp, cuda: cuda::exp}')
        self_.assertOneError(unused, GOOD_DERIVATIVES, "entry 'exp'", "key 'scalar'",
                             "the scalar function is unused")
        not_pointwise = GOOD_OPS.replace("  category: pointwise\n  dtypes: [float32, float64]\n  kernels: {cpu: cpu::exp}",
                                         '  meta: meta::same_shape\n  dtypes: [float32, float64]\n  scalar: "self"')
        self_.assertOneError(not_pointwise, GOOD_DERIVATIVES, "entry 'exp'", "key 'scalar'",
                             "only a category: pointwise op has a scalar function")

    def test_kernel_names_every_devices_kernel_and_16_bit_dtypes_can_be_declined(self):
        ops = GOOD_OPS.replace("  kernels: {cpu: cpu::exp}", "  kernel: exp_kernel\n  extra_dtypes: {}")
        _, _, loaded = self.generate(ops)
        op = next(o for o in loaded if o.name == "exp")
        self.assertEqual(op.kernels, {"cpu": "cpu::exp_kernel", "cuda": "cuda::exp_kernel"})
        self.assertEqual(op.extra_dtypes, {})

    def test_shape_rules_and_composites_are_declared_from_their_signatures(self):
        ops = GOOD_OPS + textwrap.dedent("""
            - name: twice
              signature: twice(Tensor self, int[] dims, bool keepdim=False) -> Tensor
              composite: composite::twice
            - name: clone
              signature: clone(Tensor self) -> Tensor
              meta: meta::same_shape
              dtypes: [float64]
              kernels: {cpu: cpu::clone}
              differentiable: false
            """)
        gen, _, _ = self.generate(ops)
        self.assertIn("Tensor twice(const Tensor& self, IntArrayRef dims, bool keepdim);",
                      read(os.path.join(gen, "ops", "composite_decls.h")))
        self.assertIn("TensorMeta same_shape(const char* op, const Tensor& self);",
                      read(os.path.join(gen, "ops", "meta_decls.h")))

    def test_forward_formulas_become_functions(self):
        der = GOOD_DERIVATIVES.replace("  self: grad * result", "  self: grad * result\n  forward: self_t * result")
        gen, _, _ = self.generate(GOOD_OPS, der)
        nodes = self.all_of(gen, "backward_nodes_")
        # Called with an undefined tangent for an input without one: no tangent.
        self.assertIn("Tensor jvp::exp(const Tensor& self, const Tensor& self_t, const Tensor& result) "
                      "{ if (!(self_t.defined())) return Tensor(); return self_t * result; }", nodes)
        wrappers = self.all_of(gen, "autograd_")
        self.assertIn("if (fw::enabled() && fw::any_tangent(self)) [[unlikely]] {", wrappers)
        self.assertIn("fw::set_output_tangent(result, generated::jvp::exp(self, self_t, result), {&self});",
                      wrappers)

    def test_forward_formula_terms_of_inputs_without_tangents_are_left_out(self):
        der = GOOD_DERIVATIVES.replace("  other: grad * self", "  other: grad * self\n  forward: self_t * other - self * other_t")
        gen, _, _ = self.generate(GOOD_OPS, der)
        nodes = self.all_of(gen, "backward_nodes_")
        self.assertIn("Tensor r; if (self_t.defined()) r = r.defined() ? r + (self_t * other) : (self_t * other); "
                      "if (other_t.defined()) r = r.defined() ? r - (self * other_t) : -(self * other_t); return r;",
                      nodes)
        # The in-place variant's formula reads self's value from before the write.
        wrappers = self.all_of(gen, "autograd_")
        self.assertIn("if (fw_on) [[unlikely]] fw_self = fw::value_before_write(self);", wrappers)
        self.assertIn("fw::update_tangent_inplace(self, generated::jvp::mul_Tensor(fw_self, other, self_t, other_t, "
                      "self), {&self, &other});", wrappers)

    def test_auto_element_wise_derives_the_forward_formula(self):
        der = GOOD_DERIVATIVES.replace("  other: grad * self", "  other: grad * self\n  forward: auto_element_wise")
        gen, _, _ = self.generate(GOOD_OPS, der)
        nodes = self.all_of(gen, "backward_nodes_")
        self.assertIn("// derivatives.yaml: mul.Tensor, forward: ((self_t) * other) + ((other_t) * self)", nodes)

    def test_derivatives_out_of_the_ops_order_warn(self):
        swapped = GOOD_DERIVATIVES.split("\n\n")
        der = "\n\n".join([swapped[1], swapped[0]]) + "\n"
        _, r, _ = self.generate(GOOD_OPS, der)
        self.assertIn("warning: derivatives.yaml:", r.stderr)
        self.assertIn("entry 'mul.Tensor': comes after 'exp' here but before it in ops.yaml", r.stderr)

    def test_a_composite_with_a_derivative_is_one_node(self):
        ops = GOOD_OPS + textwrap.dedent("""
            - name: mean
              signature: mean(Tensor self, Tensor? weight=None) -> Tensor
              composite: composite::mean
            - name: helper
              signature: helper(Tensor self) -> Tensor
              composite: composite::helper
            """)
        der = GOOD_DERIVATIVES + textwrap.dedent("""
            - name: mean
              self: grad * weight
            """)
        gen, _, _ = self.generate(ops, der)
        api = self.all_of(gen, "autograd_")
        # mean records MeanBackward0 around its body, run without recording.
        self.assertIn("make_intrusive<generated::MeanBackward0>()", api)
        self.assertIn("NoGradGuard body_only;", api)
        self.assertIn("result = composite::mean(self, weight);", api)
        # The optional tensor is saved as a (possibly undefined) tensor.
        self.assertIn("SavedVariable((weight ? *weight : Tensor()), false)", api)
        # helper, without a derivative, is the plain call of its body (and
        # the profiler's range, which is nothing while the profiler is off).
        self.assertIn("Tensor helper(const Tensor& self) {\n  DG_PROFILE_OP(\"helper\", self);\n"
                      "  return composite::helper(self);\n}", api)

    def test_a_composite_returning_a_list_cannot_be_one_node(self):
        ops = GOOD_OPS + textwrap.dedent("""
            - name: parts
              signature: parts(Tensor self) -> Tensor[]
              composite: composite::parts
            """)
        der = GOOD_DERIVATIVES + "\n- name: parts\n  self: grad\n"
        errors = Fixture(ops, der).errors()
        self.assertTrue(any("only a composite returning one Tensor or a tuple can be recorded as one node" in e
                            for e in errors), errors)

    def test_a_composite_with_several_outputs_is_one_node_on_its_first(self):
        # PyTorch's output_differentiability [True, False]: the node is the
        # first output's history; formulas read the outputs as result0, ....
        ops = GOOD_OPS + textwrap.dedent("""
            - name: two
              signature: two(Tensor self) -> (Tensor a, Tensor b)
              composite: composite::two
              samples: [{self: [3]}]
            """)
        der = GOOD_DERIVATIVES + "\n- name: two\n  self: grad * result0 * result1\n"
        gen, _, _ = self.generate(ops, der)
        api = self.all_of(gen, "autograd_")
        self.assertIn("detail::set_history(std::get<0>(result), node);", api)
        self.assertIn("node->result0_ = SavedVariable(std::get<0>(result), true);", api)
        self.assertIn("node->result1_ = SavedVariable(std::get<1>(result), false);", api)
        rows = self.all_of(gen, "tests/op_registry_")
        self.assertIn("return {std::get<0>(dg::two(in[0]))};", rows)
        # `result` alone names no output of a several-output op.
        errors = Fixture(ops, GOOD_DERIVATIVES + "\n- name: two\n  self: grad * result\n").errors()
        self.assertTrue(any("formula uses 'result'" in e for e in errors), errors)

    def test_a_derivative_that_is_not_implemented_raises_and_once_differentiable_ops_expect_it(self):
        ops = GOOD_OPS + textwrap.dedent("""
            - name: twice_backward
              signature: twice_backward(Tensor grad, Tensor self) -> Tensor
              meta: meta::same
              dtypes: [float64]
              kernels: {cpu: cpu::twice_backward}
            - name: twice
              signature: twice(Tensor self) -> Tensor
              composite: composite::twice
              once_differentiable: twice_backward
              samples: [{self: {shape: [2, 3], log_softmax: true}}]
            """)
        der = GOOD_DERIVATIVES + textwrap.dedent("""
            - name: twice_backward
              not_implemented: true
            - name: twice
              self: twice_backward(grad, self)
            """)
        gen, _, _ = self.generate(ops, der)
        nodes = self.all_of(gen, "backward_nodes_")
        self.assertIn('throw Error("derivative for twice_backward is not implemented");', nodes)
        api = self.all_of(gen, "autograd_")
        self.assertIn("make_intrusive<generated::TwiceBackwardBackward0>()", api)
        rows = self.all_of(gen, "tests/op_registry_")
        self.assertIn('return {dg::twice(in[0].log_softmax(-1))}; }, "derivative for twice_backward is not implemented"}',
                      rows)
        registry = read(os.path.join(gen, "tests", "op_registry.cpp"))
        self.assertIn('{"twice_backward", false, "kernel", 0,', registry)  # no gradient: no samples needed
        # once_differentiable must name an op whose derivative is not implemented.
        errors = Fixture(ops.replace("once_differentiable: twice_backward", "once_differentiable: exp"), der).errors()
        self.assertTrue(any("key 'once_differentiable': 'exp' is not an op whose derivative is not implemented" in e
                            for e in errors), errors)
        # not_implemented takes no formulas.
        bad = der.replace("  not_implemented: true", "  not_implemented: true\n  grad: grad")
        errors = Fixture(ops, bad).errors()
        self.assertTrue(any("takes no formulas (has grad)" in e for e in errors), errors)

    def test_narrow_integers_run_on_the_int64_kernel(self):
        # An op with an int64 kernel (and no int32 one) widens int32/int16/
        # int8/uint8 arguments; a floating-only op has nothing to widen to.
        ops = GOOD_OPS.replace("  dtypes: [float32, float64]", "  dtypes: [float32, float64, int64]", 1)
        fx = Fixture(ops, GOOD_DERIVATIVES)
        r = fx.run_generator()
        self.assertEqual(r.returncode, 0, r.stderr)
        gen = os.path.join(fx.dir, "generated")
        dispatch = "".join(read(os.path.join(gen, f)) for f in sorted(os.listdir(gen)) if f.startswith("dispatch_"))
        self.assertIn("if (detail::runs_widened(mul_Tensor_table, out.device(), dtype)) {", dispatch)
        self.assertIn("mul_Tensor_run(kInt64, wide_out, detail::widen(self), detail::widen(other));", dispatch)
        self.assertNotIn("runs_widened(exp_table", dispatch)

    def test_scalar_type_arguments(self):
        ops = GOOD_OPS + textwrap.dedent("""
            - name: total
              signature: total(Tensor self, *, ScalarType? dtype=None) -> Tensor
              composite: composite::total
              samples: [{self: [3], dtype: float64}, {self: [3], dtype: double}]
            """)
        errors = Fixture(ops, GOOD_DERIVATIVES).errors()
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("argument 'dtype': expected a dtype name", errors[0])
        self.assertIn("'double'", errors[0])

    def test_comparison_operators_get_their_number_first_mirror(self):
        ops = GOOD_OPS + textwrap.dedent("""
            - name: lt.Scalar
              signature: lt(Tensor self, Scalar other) -> Tensor
              category: pointwise
              operator: "<"
              out_dtype: bool
              differentiable: false
              dtypes: [float64]
              kernels: {cpu: cpu::lt}
            - name: bitwise_not
              signature: bitwise_not(Tensor self) -> Tensor
              category: pointwise
              operator: "~"
              differentiable: false
              dtypes: [int64]
              kernels: {cpu: cpu::bitwise_not}
            """)
        gen, _, _ = self.generate(ops)
        api = read(os.path.join(gen, "dynagrad", "ops.h"))
        self.assertIn("inline Tensor operator<(const Tensor& a, const Scalar& b) { return dg::lt(a, b); }", api)
        self.assertIn("inline Tensor operator>(const Scalar& a, const Tensor& b) { return dg::lt(b, a); }", api)
        self.assertIn("inline Tensor operator~(const Tensor& self) { return dg::bitwise_not(self); }", api)
        self.assertNotIn("operator<=(const Tensor& a", api)


if __name__ == "__main__":
    unittest.main(verbosity=2)
