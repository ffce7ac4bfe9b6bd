// SPDX-License-Identifier: Apache-2.0
// tests/support/tolerances.hpp: the ONE table of accuracy limits (ggml test-quantize-fns idea).
//
// NMSE limits on 2^20 i.i.d. N(0,1) samples (fixed seed), from numpy emulations of each quantizer
// table C (numpy anchors, fp16 scales; the limits leave ~1-2 % for Monte-Carlo error):
#pragma once

namespace lowbit::test::limits {

// asymmetric float-min, g128, clip search + least-squares refit (table C: 0.00863/0.03292/0.1139)
inline constexpr double kAsymFloatMinLsG128B4 = 0.0087;
inline constexpr double kAsymFloatMinLsG128B3 = 0.0333;
inline constexpr double kAsymFloatMinLsG128B2 = 0.116;
// signed-max symmetric (Q4_0 style), g32, clip search (table C: 0.00677/0.1122)
inline constexpr double kSignedMaxClipG32B4 = 0.0069;
inline constexpr double kSignedMaxClipG32B2 = 0.1135;
// asymmetric integer zero point, g64, clip search, 3 bits (table C: 0.03112)
inline constexpr double kAsymIntZeroClipG64B3 = 0.0315;

/// Relative L2 between the reference GEMV (double accumulation) and Eigen on the same
/// dequantized matrix: both are fp32-exact up to accumulation order, k <= 4096.
inline constexpr double kGemvVsEigenRel = 1e-5;

}  // namespace lowbit::test::limits
