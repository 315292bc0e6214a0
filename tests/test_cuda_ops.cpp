// Every op sample of the generated registry, run on the GPU and on the CPU
// from the same inputs: outputs and input gradients must agree, in float64
// and in float32, and live on the right device. With no GPU (CI), the GPU
// half reports itself skipped; that every kernel op has a CUDA kernel is
// checked everywhere.
#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "op_registry.h"

using namespace dg;
using dg::testing::all_ops;
using dg::testing::all_samples;
using dg::testing::label;
using dg::testing::OpSample;

namespace {

struct Tolerance {
  double rtol, atol;
};

// The CUDA twin of a CPU input: same values, same layout (a transposed
// input stays transposed), same requires_grad.
Tensor to_cuda_like(const Tensor& cpu, bool transposed) {
  Tensor g = transposed ? cpu.detach().transpose(-1, -2).cuda().transpose(-1, -2) : cpu.detach().cuda();
  if (cpu.requires_grad()) g.requires_grad_();
  return g;
}

// "" when the sample agrees on both devices, else what differs. Float
// inputs are drawn in float64, rounded to gpu_dtype, and run in gpu_dtype on
// the GPU and in cpu_dtype on the CPU (the same values: float32 on the CPU
// stands in for the 16-bit floats, which have no CPU arithmetic).
std::string compare_devices(const OpSample& s, ScalarType cpu_dtype, ScalarType gpu_dtype, Tolerance tol) {
  variable_list cpu_in = dg::testing::make_inputs(s);
  variable_list gpu_in;
  for (size_t k = 0; k < cpu_in.size(); ++k) {
    if (cpu_in[k].dtype() == kFloat64) {
      const Tensor rounded = cpu_in[k].detach().to(gpu_dtype);
      gpu_in.push_back(to_cuda_like(rounded, s.inputs[k].transposed).requires_grad_());
      cpu_in[k] = rounded.to(cpu_dtype).requires_grad_();
    } else {
      gpu_in.push_back(to_cuda_like(cpu_in[k], s.inputs[k].transposed));
    }
  }
  std::ostringstream why;
  try {
    variable_list co = s.fn(cpu_in);
    const variable_list raw_g = s.fn(gpu_in);
    variable_list go = raw_g;
    if (co.size() != go.size()) return "different number of outputs";
    variable_list outs_c, outs_g, grads_c, grads_g;
    for (size_t i = 0; i < co.size(); ++i) {
      if (co[i].defined() != go[i].defined()) return "output " + std::to_string(i) + " defined on one device only";
      if (!co[i].defined()) continue;
      if (!go[i].is_cuda()) return "output " + std::to_string(i) + " is not on the GPU";
      // The GPU's 16-bit results are compared as the CPU's dtype.
      if (go[i].dtype() == gpu_dtype && co[i].dtype() == cpu_dtype) go[i] = go[i].detach().to(cpu_dtype);
      if (co[i].sizes() != go[i].sizes() || co[i].dtype() != go[i].dtype()) {
        why << "output " << i << ": " << co[i].sizes() << " " << co[i].dtype() << " on the CPU, " << go[i].sizes()
            << " " << go[i].dtype() << " on the GPU";
        return why.str();
      }
      if (!dg::allclose(go[i], co[i], tol.rtol, tol.atol, true)) {
        why << "output " << i << " differs: CPU " << co[i] << " GPU " << go[i];
        return why.str();
      }
      if (s.check_grad && co[i].requires_grad()) {
        const Tensor g = (dg::rand(co[i].sizes(), kFloat32) - 0.5).to(gpu_dtype);
        outs_c.push_back(co[i]);
        outs_g.push_back(raw_g[i]);
        grads_c.push_back(g.to(cpu_dtype));
        grads_g.push_back(g.cuda());
      }
    }
    if (outs_c.empty()) return "";
    variable_list wrt_c, wrt_g;
    for (size_t k = 0; k < cpu_in.size(); ++k) {
      if (!cpu_in[k].requires_grad()) continue;
      wrt_c.push_back(cpu_in[k]);
      wrt_g.push_back(gpu_in[k]);
    }
    const variable_list dc = dg::autograd::grad(outs_c, wrt_c, grads_c, false, false, true);
    const variable_list dgpu = dg::autograd::grad(outs_g, wrt_g, grads_g, false, false, true);
    for (size_t k = 0; k < dc.size(); ++k) {
      if (dc[k].defined() != dgpu[k].defined()) return "gradient " + std::to_string(k) + " defined on one device only";
      if (!dc[k].defined()) continue;
      if (!dgpu[k].is_cuda()) return "gradient " + std::to_string(k) + " is not on the GPU";
      if (dgpu[k].dtype() != gpu_dtype) return "gradient " + std::to_string(k) + " is not in the input's dtype";
      const Tensor gk = dgpu[k].to(dc[k].dtype());
      if (!dg::allclose(gk, dc[k], tol.rtol, tol.atol, true)) {
        why << "gradient " << k << " differs: CPU " << dc[k] << " GPU " << gk;
        return why.str();
      }
    }
  } catch (const std::exception& e) {
    return std::string("threw: ") + e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("every op with a CPU kernel has a CUDA kernel", "[cuda][ops][registry]") {
  std::vector<std::string> missing;
  for (const auto& op : all_ops()) {
    if (std::string(op.kind) != "kernel") continue;
    bool cpu = false, cuda = false;
    for (const char* d : op.kernel_devices) {
      cpu = cpu || std::string(d) == "cpu";
      cuda = cuda || std::string(d) == "cuda";
    }
    if (cpu && !cuda) missing.push_back(op.name);
  }
  std::string list;
  for (const auto& m : missing) list += " " + m;
  INFO("ops without a CUDA kernel:" << list);
  CHECK(missing.empty());
}

TEST_CASE("every op sample agrees on the GPU and the CPU, forward and backward", "[cuda][ops]") {
  if (!dg::cuda::is_available()) {
    WARN("CUDA device tests skipped: " << dg::cuda::unavailable_reason());
    return;
  }
  struct Run {
    ScalarType cpu, gpu;
    Tolerance tol;
    bool only_extra;  // only ops whose CUDA kernels add this dtype (and what they call)
  };
  // float64: both devices round every step the same way up to summation
  // order and libm; float32: the GPU's math library and reduction trees;
  // 16-bit: one rounding of each result (and of intermediates in composites).
  const Run runs[] = {{kFloat64, kFloat64, {1e-9, 1e-9}, false},
                      {kFloat32, kFloat32, {2e-4, 2e-5}, false},
                      {kFloat32, kFloat16, {1e-2, 1e-2}, true},
                      {kFloat32, kBFloat16, {6e-2, 6e-2}, true}};
  std::set<std::string> half_ops;
  for (const auto& op : all_ops())
    if (!op.cuda_extra_dtypes.empty()) half_ops.insert(op.name);
  for (const Run& run : runs) {
    dg::manual_seed(2024);
    int checked = 0;
    std::vector<std::string> failures;
    for (const auto& s : all_samples()) {
      if (run.only_extra && !half_ops.count(s.op)) continue;
      const std::string why = compare_devices(s, run.cpu, run.gpu, run.tol);
      if (!why.empty()) failures.push_back(label(s) + ": " + why);
      ++checked;
    }
    std::string list;
    for (const auto& f : failures) list += "\n  " + f;
    INFO(scalar_type_name(run.gpu) << ": " << failures.size() << " of " << checked << " samples differ:" << list);
    CHECK(failures.empty());
    CHECK(checked > (run.only_extra ? 50 : 100));
  }
}
