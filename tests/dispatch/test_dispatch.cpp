// SPDX-License-Identifier: Apache-2.0
// tests/dispatch/test_dispatch.cpp: runtime dispatch through the narrow include. This file is
// compiled with baseline flags and includes only lowbit/dispatch/entry.hpp (with
// lowbit/weights.hpp) and gemm/context.hpp: no kernel, xsimd or intrinsic header, which the
// preprocessor check below proves. The kernels come from kernels.cpp, compiled once per ISA.
#include <cstring>
#include <string>
#include <vector>

#include "lowbit/dispatch/entry.hpp"
#include "lowbit/gemm/context.hpp"
#include "problem.hpp"
#include "support/catch.hpp"

#if defined(XSIMD_VERSION_MAJOR) || defined(_IMMINTRIN_H_INCLUDED) || defined(__IMMINTRIN_H)
#error "the narrow include pulled in xsimd or <immintrin.h>"
#endif

using namespace lowbit;

namespace {
template <class P>
void check_problem(const P& p) {
  const Index m = p.w.rows(), k = p.w.cols();
  Context ctx(3);
  std::vector<float> y(static_cast<std::size_t>(p.n * m));
  const std::string_view isa = dispatch::gemm(p.w, MatrixView<const float>(p.x.data(), p.n, k),
                                              MatrixView<float>(y.data(), p.n, m), ctx);
  INFO("dispatch ran " << std::string(isa));
  CHECK(isa == dispatch::selected_isa());
  CHECK(std::memcmp(y.data(), p.want.data(), y.size() * sizeof(float)) == 0);
  // gemv: the first activation row alone gives the first output row.
  std::vector<float> y1(static_cast<std::size_t>(m));
  CHECK(dispatch::gemv(p.w, VectorView<const float>(p.x.data(), k), VectorView<float>(y1.data(), m),
                       ctx) == isa);
  CHECK(std::memcmp(y1.data(), p.want.data(), y1.size() * sizeof(float)) == 0);
}
}  // namespace

TEST_CASE("dispatch: the best compiled ISA, bit-identical to the scalar reference", "[dispatch]") {
  check_problem(dispatch_test::make_w4(203, 320, 5));  // rows that fill no whole tile
  check_problem(dispatch_test::make_w2(33, 192, 1));
  // The CPU has at least SSE4.2 on every x86-64 machine CI runs on, so a SIMD ISA is picked.
  CHECK(dispatch::selected_isa() != "scalar");
}

TEST_CASE("dispatch: bad shapes and strides are errors naming the argument", "[dispatch]") {
  const auto p = dispatch_test::make_w4(16, 64, 2);
  Context ctx(1);
  std::vector<float> x(128), y(32);
  REQUIRE_THROWS_WITH(dispatch::gemv(p.w, VectorView<const float>(x.data(), 64, 2),
                                     VectorView<float>(y.data(), 16), ctx),
                      LOWBIT_CONTAINS("dispatch::gemv: x must be contiguous (inc 1), got inc 2"));
  REQUIRE_THROWS_WITH(dispatch::gemv(p.w, VectorView<const float>(x.data(), 64),
                                     VectorView<float>(y.data(), 16, 2), ctx),
                      LOWBIT_CONTAINS("dispatch::gemv: y must be contiguous"));
  REQUIRE_THROWS_AS(dispatch::gemm(p.w, MatrixView<const float>(x.data(), 2, 63),
                                   MatrixView<float>(y.data(), 2, 16), ctx),
                    Error);
  REQUIRE_THROWS_AS(dispatch::gemm(p.w, MatrixView<const float>(x.data(), 2, 64),
                                   MatrixView<float>(y.data(), 2, 15), ctx),
                    Error);
}
