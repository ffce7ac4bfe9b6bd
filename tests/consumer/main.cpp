// SPDX-License-Identifier: Apache-2.0
// tests/consumer/main.cpp: lowbit as a consumer meets it. Built by a project that only links
// lowbit::lowbit (find_package after install, or add_subdirectory) and adds no compiler flag of
// its own. It quantizes an m × k N(0, 1) matrix to 4 bits (signed max, f16 scale per 32), repacks
// it to the kernel layout of the ISA it was compiled for, checks the GEMV bit for bit against
// the scalar reference, prints the kernel that ran and the median GEMV time over copies that
// together exceed the last-level cache (128 MiB, as bench/bench_gemv.cpp), and fails if the
// kernel is the scalar reference or not the ISA the build host has (--expect-isa).
//
//   lowbit_consumer [--rows M] [--cols K] [--reps N] [--expect-isa NAME]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <lowbit/lowbit.hpp>

int main(int argc, char** argv) {
  using namespace lowbit;
  Index m = 4096, k = 4096;
  int reps = 50;
  std::string expect;
  for (int i = 1; i < argc; ++i) {
    const bool more = i + 1 < argc;
    if (std::strcmp(argv[i], "--rows") == 0 && more) {
      m = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--cols") == 0 && more) {
      k = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--reps") == 0 && more) {
      reps = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--expect-isa") == 0 && more) {
      expect = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: lowbit_consumer [--rows M] [--cols K] [--reps N] [--expect-isa NAME]\n");
      return 2;
    }
  }
  if (m < 1 || k < 1 || reps < 1) {
    std::fprintf(stderr, "lowbit_consumer: rows, cols and reps must be positive\n");
    return 2;
  }

  // The fast path in five lines: quantize, repack for this CPU's kernels, multiply.
  using Scheme = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  std::vector<float> w(static_cast<std::size_t>(m * k)), x(static_cast<std::size_t>(k));
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  for (auto& v : w) v = nd(rng);
  for (auto& v : x) v = nd(rng);
  const auto plain = quantize<Scheme, PerGroup<32>>(MatrixView<const float>(w.data(), m, k));
  const auto fast = repack<KernelLayout<>>(plain);
  Context ctx(1);
  std::vector<float> y(static_cast<std::size_t>(m));
  gemv(fast, VectorView<const float>(x.data(), k), VectorView<float>(y.data(), m), ctx);

  // Bit for bit against the scalar reference on the same int8 activations.
  Int8Activations a;
  quantize_activations(MatrixView<const float>(x.data(), 1, k), a);
  std::vector<float> want(static_cast<std::size_t>(m));
  ref::gemm_int8(plain, a, MatrixView<float>(want.data(), 1, m));
  if (std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) != 0) {
    std::fprintf(stderr, "lowbit_consumer: GEMV differs from the scalar reference\n");
    return 1;
  }

  // Median time over rotating copies (DRAM-resident, as bench_gemv's Gemv rows).
  using W = std::remove_cvref_t<decltype(fast)>;
  const double bytes = static_cast<double>(fast.codes().size() + fast.params().size_bytes());
  const int copies = static_cast<int>(128.0 * 1024 * 1024 / bytes) + 1;
  std::vector<W> ws;
  for (int i = 0; i < copies; ++i) ws.push_back(fast.clone());
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (const W& wi : ws)
      gemv(wi, VectorView<const float>(x.data(), k), VectorView<float>(y.data(), m), ctx);
    const auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count() / copies);
  }
  std::nth_element(ms.begin(), ms.begin() + reps / 2, ms.end());

  const std::string kernel = kernel_name<W>();
  std::printf("lowbit %d.%d.%d consumer: isa %s, kernel %s, layout %d x %d tiles\n", kVersionMajor,
              kVersionMinor, kVersionPatch, std::string(isa::best::name()).c_str(), kernel.c_str(),
              static_cast<int>(W::layout_type::kTileRows),
              static_cast<int>(W::layout_type::kTileDepth));
  std::printf("GEMV %d x %d, 4-bit g32 (%.3f bpw), 1 thread: median %.3f ms over %d reps\n",
              static_cast<int>(m), static_cast<int>(k), fast.bits_per_weight(), ms[reps / 2], reps);
  if (kernel == "scalar reference") {
    std::fprintf(stderr, "lowbit_consumer: the kernels compiled to the scalar reference\n");
    return 1;
  }
  if (!expect.empty() && expect != isa::best::name()) {
    std::fprintf(stderr, "lowbit_consumer: ran %s, the build host has %s\n",
                 std::string(isa::best::name()).c_str(), expect.c_str());
    return 1;
  }
  return 0;
}
