// SPDX-License-Identifier: Apache-2.0
// examples/runtime_dispatch/main.cpp: built with baseline flags only, through the narrow include
// (lowbit/weights.hpp and dispatch/entry.hpp: no kernel, xsimd or intrinsic header, so it
// compiles in a fraction of the umbrella's time); runs the GEMM on the best ISA this CPU has
// (chosen at run time) and checks it against the scalar reference, bit for bit.
#include <cstdio>
#include <cstring>

#include "lowbit/dispatch/entry.hpp"
#include "lowbit/gemm/context.hpp"
#include "weights.hpp"

// What the narrow include promises, checked where it is used:
#if defined(XSIMD_VERSION_MAJOR) || defined(_IMMINTRIN_H_INCLUDED) || defined(__IMMINTRIN_H)
#error "the narrow include pulled in xsimd or <immintrin.h>"
#endif

int main() {
  using namespace lowbit;
  const demo::Problem p = demo::make_problem(512, 1024, 8);
  const Index m = p.w.rows(), k = p.w.cols();
  Context ctx(2);
  std::vector<float> y(static_cast<std::size_t>(p.n * m));
  const std::string_view isa = dispatch::gemm(p.w, MatrixView<const float>(p.x.data(), p.n, k),
                                              MatrixView<float>(y.data(), p.n, m), ctx);
  bool same = std::memcmp(y.data(), p.want.data(), y.size() * sizeof(float)) == 0;
  // One token: dispatch::gemv is the same product on the first row.
  std::vector<float> y1(static_cast<std::size_t>(m));
  dispatch::gemv(p.w, VectorView<const float>(p.x.data(), k), VectorView<float>(y1.data(), m), ctx);
  same = same && std::memcmp(y1.data(), p.want.data(), y1.size() * sizeof(float)) == 0;
  std::printf("runtime dispatch picked %.*s; %s the scalar reference\n",
              static_cast<int>(isa.size()), isa.data(),
              same ? "bit-identical to" : "DIFFERENT from");
  return same ? 0 : 1;
}
