// SPDX-License-Identifier: Apache-2.0
// tools/llama/policy.hpp: quantization policies by name, as lowbit-quantize and lowbit-eval
// take them: <sym|asym><bits>-g<group>[-clip][-ls][-imp][-gptq][-rot][-seq][-e2e].
//
//   sym   Symmetric<bits, kSignedMax, f16> (Q4_0-style signed-max scale; bits + 16/g bpw)
//   asym  Asymmetric<bits, kFloatMin, f16> (fp16 scale and min, Q4_1-style; bits + 32/g bpw)
//   bits  2, 3, 4 or 8;  group 32 or 64 consecutive inputs of a row
//   -clip MSE clip search per group: ratios p = 1.00, 0.99, …, 0.50, range [p·min, p·max]
//         (exactly the numpy round-to-nearest baseline's asym clip, so the RTN rows compare)
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
//
// Binary and ternary policies: <family>-g<group>[-gptq][-rot]
//   bin     sign·α, α = mean|w| per group (XNOR; Binary<kNone, f16>: 1 + 16/g bpw)
//   binm    μ + α·sign(w - μ), BiLLM order 1 (Binary<kMean, f16>: 1 + 32/g bpw)
//   arb     binm refined by ARB's 15 alternating rounds (calib/binary_refine.hpp)
//   arbx    ARB-X: arb weighted by the calibration inputs' Gram matrix (needs calibration)
//   arbrc   ARB-RC: sign(w)·α_r·α_c, a scale per row and group (f16) times a scale per column
//           (fp32, applied to the activations): 1 + 16/g + 32/rows bpw. With -gptq, GPTQ runs on
//           W·diag(α_c)⁻¹ with the Hessian diag(α_c)·H·diag(α_c), the same output error
//   bin2    two sign planes, BiLLM's residual order 2 (Binary2<f16>: 2 + 48/g bpw)
//   arb2    two sign planes, ARB order 2 (joint re-pick of the four levels)
//   arbx2   ARB-X order 2: arb2 weighted by the calibration inputs' Gram matrix (calibration)
//   ter     ternary, BitNet absmean (α = mean|w|, threshold α/2; Ternary<f16>: 2-bit codes)
//   terls   ternary, absmean threshold with a least-squares α
//   twn     ternary, TWN (Δ = 0.7·mean|w|)
//   topt    ternary, the optimal threshold (exact search)
//   sherry  3:4 sparse ternary (the smallest |w| of every 4 zeroed), α per group
//   -gptq   the family's parameters fitted on W, then GPTQ (act-order) chooses every code on the
//           compensated weights with those parameters fixed (calib::gptq's fixed_params)
//   -rot    as above
// Trellis and convolutional-code policies: <family>-g<group>[-gptq]
// [-rot] (-gptq: trellis only, QTIP's block LDLQ with the calibration Hessian,
// calib/trellis_ldlq.hpp)
//   trellis ConvCode<16, 2, 1, CodeMix7>: QTIP's bit-shift trellis, L = 16, 2 bits a weight, a
//           group of g weights is one tail-biting sequence with an f16 scale (2 + 16/g bpw);
//           Viterbi encoding (calib/trellis_viterbi.hpp); -v2: ConvCode<16, 2, 2, CodeMx2>, two
//           weights a state (half the decode work); -tap7: ConvCode<16, 2, 1, CodeTap7> and
//           -lut7: ConvCode<8, 2, 1, CodeLut7>, the lookup codes (the fastest kernels)
//   wint2   CCQ WINT2 (quant/ccq.hpp), -g64 (the local-scale group): 2.0625 bpw + 80 bits a row
//   wint25  CCQ WINT2.5, -g64: the format's 2.5 bpw (archives hold 3-bit windows)
// CCQ needs whole 64-input groups: a matrix whose inputs are not is padded with zero columns
// (the layer pads its inputs with zeros to match; stories260K's w2 has 172 inputs → 192).
// The ternary codes are stored 2 bits each here (the 1.6 and 1.25-bpw packings are pack/'s);
// bpw counts what is stored.
// The options may come in any order, each at most once. -imp, -gptq, -seq and -e2e need calibration
// activations (a llama2.c model and a calibration token file).
#pragma once

#include <iterator>
#include <string>

#include "lowbit/core/error.hpp"

namespace lowbit::llama {

/// Binary and ternary families (kInteger: sym/asym, the `symmetric` flag says which).
enum class Family {
  kInteger,
  kBin,
  kBinm,
  kArb,
  kBin2,
  kArb2,
  kTer,
  kTerls,
  kTwn,
  kTopt,
  kSherry,
  kArbx,     // ARB-X: ARB order 1 weighted by the calibration inputs (needs calibration)
  kArbrc,    // ARB-RC: row (per group) × column scales, no mean
  kArbx2,    // ARB-X order 2: arb2 weighted by the calibration inputs (needs calibration)
  kTrellis,  // bit-shift trellis, ConvCode<16, 2, 1, CodeMix7>
  kWint2,    // CCQ WINT2
  kWint25,   // CCQ WINT2.5
};

struct Policy {
  Family family = Family::kInteger;
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
  bool v2 = false;    // trellis: ConvCode<16, 2, 2, CodeMx2> (two weights a state)
  bool tap7 = false;  // trellis: ConvCode<16, 2, 1, CodeTap7> (lookup code)
  bool lut7 = false;  // trellis: ConvCode<8, 2, 1, CodeLut7> (lookup code, L = 8)
  std::string name;
  bool needs_calibration() const noexcept {
    return imp || gptq || seq || e2e || family == Family::kArbx || family == Family::kArbx2;
  }
  /// Storage bits per weight: codes plus the group's fp16 parameters (arbrc's column scales add
  /// 32/rows more, counted by the quantized tensor).
  double bpw() const noexcept {
    switch (family) {
      case Family::kInteger:
        return bits + (symmetric ? 16.0 : 32.0) / group;
      case Family::kBin:
      case Family::kArbrc:
        return 1.0 + 16.0 / group;
      case Family::kBinm:
      case Family::kArb:
      case Family::kArbx:
        return 1.0 + 32.0 / group;
      case Family::kBin2:
      case Family::kArb2:
      case Family::kArbx2:
        return 2.0 + 48.0 / group;
      case Family::kWint2:
        return 2.0 + 8.0 / 128.0;  // + 80 bits a row
      case Family::kWint25:
        return 2.5;  // the format's words (archives hold 3-bit windows) + 16 bits a row
      default:
        return 2.0 + 16.0 / group;
    }
  }
};

/// The binary/ternary family names, in Family order from kBin.
inline constexpr const char* kFamilyNames[] = {
    "bin",  "binm",   "arb",  "bin2",  "arb2",  "ter",     "terls", "twn",
    "topt", "sherry", "arbx", "arbrc", "arbx2", "trellis", "wint2", "wint25"};

/// The policy grammar as the tools' --help prints it.
inline constexpr const char* kPolicyHelp =
    "policies (NAME), each option at most once, in any order:\n"
    "  integer   <sym|asym><2|3|4|8>-g<32|64>[-clip][-ls][-imp][-gptq][-rot][-seq][-e2e]\n"
    "            sym: signed-max scale (Q4_0-style), asym: scale and minimum (Q4_1-style)\n"
    "            -clip MSE clip search   -ls least-squares refits   -imp importance-weighted\n"
    "            -gptq GPTQ   -rot Hadamard rotation   -seq layer-by-layer   -e2e end-to-end "
    "tuning\n"
    "  binary    <bin|binm|arb|arbx|arbrc|bin2|arb2|arbx2>-g<32|64>[-gptq][-rot]\n"
    "            XNOR, BiLLM mean, ARB order 1, ARB-X, ARB-RC, BiLLM residual, ARB order 2, ARB-X "
    "2\n"
    "  ternary   <ter|terls|twn|topt|sherry>-g<32|64>[-gptq][-rot]\n"
    "            BitNet absmean, absmean + LS, TWN, optimal threshold, Sherry 3:4\n"
    "  trellis   trellis-g<32|64>[-v2|-tap7|-lut7][-gptq][-rot]   (QTIP bit-shift trellis, 2 "
    "bits)\n"
    "  CCQ       <wint2|wint25>-g64[-rot]\n"
    "  need --calib-tokens: -imp, -gptq, -seq, -e2e, and arbx, arbx2\n"
    "  e.g. sym4-g32-clip-ls-gptq, asym2-g64-clip-ls-gptq-rot-e2e, arb2-g64-gptq, "
    "trellis-g64-lut7\n";

inline Policy parse_policy(const std::string& s) {
  using lowbit::fail;
  Policy p;
  p.name = s;
  std::size_t i = 0;
  const std::string head = s.substr(0, s.find('-'));
  for (int f = 0; f < static_cast<int>(std::size(kFamilyNames)); ++f)
    if (head == kFamilyNames[f]) {
      p.family = static_cast<Family>(f + 1);
      i = head.size();
    }
  if (p.family != Family::kInteger) {
    p.bits = p.family == Family::kBin || p.family == Family::kBinm || p.family == Family::kArb ||
                     p.family == Family::kArbx || p.family == Family::kArbrc
                 ? 1
             : p.family == Family::kWint25 ? 3
                                           : 2;
  } else if (s.rfind("ggml-", 0) == 0) {
    fail("policy '", s,
         "': ggml-<type> policies write llama-quantize's own file: give --out X.gguf and an "
         "F32/F16/BF16 GGUF --model");
  } else if (s.rfind("asym", 0) == 0) {
    p.symmetric = false;
    i = 4;
  } else if (s.rfind("sym", 0) == 0) {
    i = 3;
  } else {
    fail(
        "policy '", s,
        "': must start with sym, asym, bin, binm, arb, arbx, arbrc, bin2, arb2, arbx2, ter, terls, "
        "twn, topt, sherry, trellis, wint2 or wint25");
  }
  auto number = [&](const char* what) {
    std::size_t j = i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == i) fail("policy '", s, "': expected ", what);
    if (j - i > 6) fail("policy '", s, "': ", what, " '", s.substr(i, j - i), "' is too large");
    const int v = std::stoi(s.substr(i, j - i));
    i = j;
    return v;
  };
  if (p.family == Family::kInteger) p.bits = number("the bit width after sym/asym");
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
                 : opt == "-v2"   ? &p.v2
                 : opt == "-tap7" ? &p.tap7
                 : opt == "-lut7" ? &p.lut7
                                  : nullptr;
    if (flag == nullptr || *flag)
      fail("policy '", s, "': unknown or repeated option '", opt,
           "' (options: -clip, -ls, -imp, -gptq, -rot, -seq, -e2e, -v2, -tap7, -lut7)");
    *flag = true;
    i = j == std::string::npos ? s.size() : j;
  }
  if ((p.v2 || p.tap7 || p.lut7) && p.family != Family::kTrellis)
    fail("policy '", s, "': -v2, -tap7 and -lut7 (trellis codes) are trellis options");
  if (int{p.v2} + int{p.tap7} + int{p.lut7} > 1)
    fail("policy '", s, "': -v2, -tap7 and -lut7 choose one trellis code");
  if (p.family == Family::kTrellis || p.family == Family::kWint2 || p.family == Family::kWint25) {
    if (p.clip || p.ls || p.imp || p.seq || p.e2e || (p.gptq && p.family != Family::kTrellis))
      fail("policy '", s, "': trellis policies take -gptq and -rot, CCQ policies only -rot");
    if (p.family != Family::kTrellis && p.group != 64)
      fail("policy '", s, "': CCQ policies take -g64 (their local-scale group)");
  } else if (p.family != Family::kInteger) {
    if (p.clip || p.ls || p.imp || p.seq || p.e2e)
      fail("policy '", s, "': binary and ternary policies take only -gptq and -rot");
  } else if (p.bits != 2 && p.bits != 3 && p.bits != 4 && p.bits != 8) {
    fail("policy '", s, "': bits must be 2, 3, 4 or 8");
  }
  if (p.group != 32 && p.group != 64) fail("policy '", s, "': group must be 32 or 64");
  return p;
}

}  // namespace lowbit::llama
