// SPDX-License-Identifier: Apache-2.0
// tools/llama/policy.hpp: quantization policies by name, as lowbit-quantize and lowbit-eval
// take them: <sym|asym><bits>-g<group>[-clip][-ls][-imp][-gptq][-rot][-seq][-e2e].
//
//   sym   Symmetric<bits, kSignedMax, f16> (Q4_0-style signed-max scale; bits + 16/g bpw)
//   asym  Asymmetric<bits, kFloatMin, f16> (fp16 scale and min, Q4_1-style; bits + 32/g bpw)
//   bits  2, 3, 4 or 8;  group 32 or 64 consecutive inputs of a row
//   -clip MSE clip search per group: ratios p = 1.00, 0.99, …, 0.50, range [p·min, p·max]
//         (exactly ../shared/tools/ppl_baselines.py's asym clip, so RTN rows compare with its)
//   -ls   least-squares refit of the group parameters under the policy's error: per group
//         (2 alternating refits, importance-weighted with -imp) for round-to-nearest; with
//         -gptq, per row under the output error (w-ŵ)ᵀH(w-ŵ), alternated with GPTQ re-rounding
//         (calib::gptq_refit, 4 rounds)
//   -imp  the fit errors weighted by the importance of each input channel: mean x² over the
//         calibration tokens (llama.cpp's imatrix; diag of the Hessian)
//   -gptq GPTQ error compensation (calib/gptq.hpp) with the calibration Hessian, act-order
//   -rot  randomized Hadamard rotation of the input dimension (calib/rotation.hpp): weights
//         W·Qᵀ are quantized, activations are rotated by Q on the fly
//   -seq  sequential calibration, layer by layer: layer l's statistics come from the model
//         whose layers < l are already quantized (inputs x), and its target from the fp32
//         model (inputs x̃ at the same tokens): W' = W·C·H⁻¹ with C = Σ x̃xᵀ, H = Σ xxᵀ
//         minimises Σ‖W·x̃ - W'·x‖², so each layer also undoes the error that reaches it
//         (the asymmetric calibration of GPTAQ, arXiv 2504.02692)
//   -e2e  after quantizing, tune every group's scale (and offset) and every code end to end on
//         the mean KL to the fp32 model over the calibration documents: Adam, 3 epochs, codes
//         through straight-through rounding (quantization-aware training; tune.hpp)
// The options may come in any order, each at most once. -imp, -gptq, -seq and -e2e need calibration
// activations (a llama2.c model and a calibration token file).
#pragma once

#include <string>

#include "lowbit/core/error.hpp"

namespace lowbit::llama {

struct Policy {
  bool symmetric = true;
  int bits = 4;
  int group = 32;
  bool clip = false;
  bool ls = false;
  bool imp = false;
  bool gptq = false;
  bool rot = false;
  bool seq = false;
  bool e2e = false;
  std::string name;
  bool needs_calibration() const noexcept { return imp || gptq || seq || e2e; }
  /// Storage bits per weight: codes plus the group's fp16 parameters.
  double bpw() const noexcept { return bits + (symmetric ? 16.0 : 32.0) / group; }
};

inline Policy parse_policy(const std::string& s) {
  using lowbit::detail::fail;
  Policy p;
  p.name = s;
  std::size_t i = 0;
  if (s.rfind("asym", 0) == 0) {
    p.symmetric = false;
    i = 4;
  } else if (s.rfind("sym", 0) == 0) {
    i = 3;
  } else {
    fail("policy '", s, "': must start with sym or asym");
  }
  auto number = [&](const char* what) {
    std::size_t j = i;
    while (j < s.size() && j - i < 4 && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == i) fail("policy '", s, "': expected ", what);
    const int v = std::stoi(s.substr(i, j - i));
    i = j;
    return v;
  };
  p.bits = number("the bit width after sym/asym");
  if (s.compare(i, 2, "-g") != 0) fail("policy '", s, "': expected -g<group>");
  i += 2;
  p.group = number("the group size after -g");
  while (i < s.size()) {
    const std::size_t j = s.find('-', i + 1);
    const std::string opt = s.substr(i, j == std::string::npos ? std::string::npos : j - i);
    bool* flag = opt == "-clip"   ? &p.clip
                 : opt == "-ls"   ? &p.ls
                 : opt == "-imp"  ? &p.imp
                 : opt == "-gptq" ? &p.gptq
                 : opt == "-rot"  ? &p.rot
                 : opt == "-seq"  ? &p.seq
                 : opt == "-e2e"  ? &p.e2e
                                  : nullptr;
    if (flag == nullptr || *flag)
      fail("policy '", s, "': unknown or repeated option '", opt,
           "' (options: -clip, -ls, -imp, -gptq, -rot, -seq, -e2e)");
    *flag = true;
    i = j == std::string::npos ? s.size() : j;
  }
  if (p.bits != 2 && p.bits != 3 && p.bits != 4 && p.bits != 8)
    fail("policy '", s, "': bits must be 2, 3, 4 or 8");
  if (p.group != 32 && p.group != 64) fail("policy '", s, "': group must be 32 or 64");
  return p;
}

}  // namespace lowbit::llama
