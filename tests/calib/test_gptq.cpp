// SPDX-License-Identifier: Apache-2.0
// tests/calib/test_gptq.cpp: GPTQ lowers the layer-output error ‖(W - Ŵ)·X‖ below
// round-to-nearest on correlated inputs (plain, act-order, per-channel, 2 and 4 bits), keeps
// the codes and parameters consistent with the scheme, and rejects bad input.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "lowbit/calib/gptq.hpp"
#include "lowbit/calib/trellis_ldlq.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"

using namespace lowbit;

namespace {

struct Problem {
  Index rows = 48, cols = 160, n = 600;
  std::vector<float> w, x;  // w: rows × cols, x: n × cols (tokens)
  Problem() {
    std::mt19937 rng(11);
    std::normal_distribution<float> nd;
    w.resize(static_cast<std::size_t>(rows * cols));
    for (auto& v : w) v = nd(rng);
    // Correlated inputs: 8 latent factors plus noise, and a few loud channels.
    std::vector<float> mix(static_cast<std::size_t>(8 * cols));
    for (auto& v : mix) v = nd(rng);
    x.resize(static_cast<std::size_t>(n * cols));
    for (Index t = 0; t < n; ++t) {
      float z[8];
      for (auto& v : z) v = nd(rng);
      for (Index c = 0; c < cols; ++c) {
        float s = 0.3f * nd(rng);
        for (int f = 0; f < 8; ++f) s += z[f] * mix[static_cast<std::size_t>(f * cols + c)];
        x[static_cast<std::size_t>(t * cols + c)] = (c % 17 == 0 ? 4.0f : 1.0f) * s;
      }
    }
  }
  MatrixView<const float> W() const { return {w.data(), rows, cols}; }
  MatrixView<const float> X() const { return {x.data(), n, cols}; }
  /// Σ over tokens and rows of ((W - Ŵ)·x)².
  template <class Q>
  double output_error(const Q& q) const {
    const std::vector<float> wd = dequantize(q);
    double err = 0.0;
    for (Index t = 0; t < n; ++t)
      for (Index r = 0; r < rows; ++r) {
        double s = 0.0;
        for (Index c = 0; c < cols; ++c)
          s += (static_cast<double>(w[static_cast<std::size_t>(r * cols + c)]) -
                wd[static_cast<std::size_t>(r * cols + c)]) *
               x[static_cast<std::size_t>(t * cols + c)];
        err += s * s;
      }
    return err;
  }
};

template <class S, class G>
void check_gptq_beats_rtn(double max_ratio) {
  const Problem p;
  calib::Hessian h(p.cols);
  h.add(p.X());
  const auto rtn = quantize<S, G, Plain>(p.W(), {});
  for (bool act_order : {false, true}) {
    calib::GptqOptions opt;
    opt.act_order = act_order;
    const auto q = calib::gptq<S, G>(p.W(), h.matrix(), opt);
    const double e_rtn = p.output_error(rtn), e_gptq = p.output_error(q);
    INFO(S::name() << " " << G::name() << " act_order " << act_order << ": RTN " << e_rtn
                   << ", GPTQ " << e_gptq);
    REQUIRE(e_gptq < max_ratio * e_rtn);
    // Codes and parameters are a valid encoding: re-encoding the decoded weight gives the code.
    for (Index r = 0; r < p.rows; ++r)
      for (Index c = 0; c < p.cols; ++c) {
        const auto& prm = q.params_at(r, c);
        const auto code = static_cast<typename S::Code>(q.code(r, c));
        REQUIRE(S::encode(S::decode(code, prm), prm) == code);
      }
  }
}

}  // namespace

TEST_CASE("gptq beats round-to-nearest on the layer output", "[gptq]") {
  check_gptq_beats_rtn<Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerGroup<32>>(0.8);
  check_gptq_beats_rtn<Asymmetric<2, AsymmetricOffset::kFloatMin, f16>, PerGroup<64>>(0.8);
  check_gptq_beats_rtn<Asymmetric<3, AsymmetricOffset::kIntZero, float>, PerChannel>(0.8);
}

TEST_CASE("gptq: dead inputs, errors", "[gptq][errors]") {
  const Problem p;
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  calib::Hessian h(p.cols);
  h.add(p.X());
  Eigen::MatrixXd H = h.matrix();
  H.row(5).setZero();
  H.col(5).setZero();  // an input that never fires: its column is zeroed, then quantized
  const auto q = calib::gptq<S, PerGroup<32>>(p.W(), H, {});
  for (Index r = 0; r < p.rows; ++r)
    CHECK(S::decode(static_cast<S::Code>(q.code(r, 5)), q.params_at(r, 5)) == 0.0f);
  REQUIRE_THROWS_AS((calib::gptq<S, PerGroup<32>>(p.W(), Eigen::MatrixXd::Identity(3, 3), {})),
                    Error);
  Eigen::MatrixXd bad = h.matrix();
  bad(0, 0) = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_AS((calib::gptq<S, PerGroup<32>>(p.W(), bad, {})), Error);
  std::vector<float> wn = p.w;
  wn[7] = std::numeric_limits<float>::infinity();
  REQUIRE_THROWS_AS((calib::gptq<S, PerGroup<32>>(
                        MatrixView<const float>(wn.data(), p.rows, p.cols), h.matrix(), {})),
                    Error);
  REQUIRE_THROWS_AS(h.add(MatrixView<const float>(p.x.data(), 2, 7)), Error);
}

TEST_CASE("gptq: fixed parameters are kept; refine_codes and gptq_refit lower the error",
          "[gptq][refit]") {
  const Problem p;
  calib::Hessian hs(p.cols);
  hs.add(p.X());
  const Eigen::MatrixXd h = hs.matrix();
  calib::GptqOptions opt;
  opt.act_order = true;
  opt.fit.range = RangeFit::kClipSearch;
  auto check = [&](auto tag, double max_ratio) {
    using S = typename decltype(tag)::type;
    using G = PerGroup<32>;
    const auto base = calib::gptq<S, G>(p.W(), h, opt);
    // GPTQ with the parameters of `base` fixed keeps exactly them.
    std::vector<typename S::Params> prm(base.params().begin(), base.params().end());
    const auto fixed = calib::gptq<S, G>(p.W(), h, opt, std::span<const typename S::Params>(prm));
    for (std::size_t i = 0; i < prm.size(); ++i)
      REQUIRE(std::memcmp(&fixed.params()[i], &prm[i], sizeof(prm[i])) == 0);
    prm.pop_back();
    REQUIRE_THROWS_AS((calib::gptq<S, G>(p.W(), h, opt, std::span<const typename S::Params>(prm))),
                      Error);
    // Coordinate descent never raises any row's error (damped H, its objective) and lowers
    // the output error on the real inputs.
    Eigen::MatrixXd hd = h;
    hd.diagonal().array() += opt.damp * h.diagonal().mean();
    auto row_errors = [&](const auto& m) {
      std::vector<double> out;
      for (Index r = 0; r < p.rows; ++r) {
        Eigen::VectorXd d(p.cols);
        for (Index c = 0; c < p.cols; ++c)
          d(c) = S::decode(static_cast<typename S::Code>(m.code(r, c)), m.params_at(r, c)) -
                 static_cast<double>(p.W()(r, c));
        out.push_back(d.dot(hd * d));
      }
      return out;
    };
    auto cd = calib::gptq<S, G>(p.W(), h, opt);
    const std::vector<double> before = row_errors(cd);
    const Index moved = calib::refine_codes(cd, p.W(), hd, 8);
    const std::vector<double> after = row_errors(cd);
    CHECK(moved > 0);
    for (Index r = 0; r < p.rows; ++r)
      REQUIRE(after[static_cast<std::size_t>(r)] <=
              before[static_cast<std::size_t>(r)] * (1 + 1e-12));
    const auto refit = calib::gptq_refit<S, G>(p.W(), h, opt, 4);
    const double e_base = p.output_error(base), e_cd = p.output_error(cd),
                 e_refit = p.output_error(refit);
    INFO(S::name() << ": GPTQ " << e_base << ", +CD " << e_cd << ", refit " << e_refit);
    CHECK(e_cd < e_base);
    CHECK(e_refit < max_ratio * e_base);
    for (Index r = 0; r < p.rows; ++r)
      for (Index c = 0; c < p.cols; ++c) {
        const auto code = refit.code(r, c);
        REQUIRE(code >= S::kMinCode);
        REQUIRE(code <= S::kMaxCode);
      }
  };
  check(std::type_identity<Asymmetric<2, AsymmetricOffset::kFloatMin, f16>>{}, 0.95);
  check(std::type_identity<Symmetric<3, SymmetricConvention::kSignedMax, f16>>{}, 0.95);
  check(std::type_identity<Asymmetric<4, AsymmetricOffset::kIntZero, f16>>{}, 1.0);  // CD only
}

TEST_CASE("trellis LDLQ: Hessian-weighted groups lower the output error of one-group rows",
          "[gptq][trellis]") {
  // 64-input rows are one trellis group: block LDLQ has no later group to feed, so only the
  // group's weighting by GPTQ's 1/U_ii² can use the Hessian. Correlated, unevenly scaled inputs.
  const Index rows = 48, cols = 64, n = 384;
  std::mt19937 g(11);
  std::normal_distribution<double> nd;
  Eigen::MatrixXd X(n, cols);
  for (Index t = 0; t < n; ++t) {
    double prev = 0.0;
    for (Index k = 0; k < cols; ++k) {
      prev = 0.8 * prev + nd(g);
      X(t, k) = prev * (1.0 + 0.3 * static_cast<double>(k % 7));
    }
  }
  const Eigen::MatrixXd H = X.transpose() * X;
  std::vector<float> w(static_cast<std::size_t>(rows * cols));
  for (auto& v : w) v = static_cast<float>(nd(g));
  const auto out_err = [&](bool weighted) {
    calib::TrellisOptions o;
    o.threads = 2;
    o.hessian_weights = weighted;
    const auto q = calib::trellis_quantize_ldlq<ConvCode<16, 2, 1, CodeMix7>, PerGroup<64>>(
        MatrixView<const float>(w.data(), rows, cols), H, o);
    const std::vector<float> d = dequantize(q);
    Eigen::MatrixXd E(rows, cols);
    for (Index r = 0; r < rows; ++r)
      for (Index k = 0; k < cols; ++k)
        E(r, k) = static_cast<double>(w[static_cast<std::size_t>(r * cols + k)]) -
                  d[static_cast<std::size_t>(r * cols + k)];
    return (E * H * E.transpose()).trace();
  };
  const double plain = out_err(false), weighted = out_err(true);
  INFO("output error: unweighted " << plain << ", Hessian-weighted " << weighted);
  CHECK(weighted < 0.9 * plain);  // measured: 0.0561 vs 0.0700 relative on a 128-row draw
}
