// Tests of the CPU backend's kernels against fp64 brute force, and of its promises: ties to the
// lower index, blocking that changes no bit, the same bits on every instruction set, and the same
// bits for any thread count. The behaviour tests in tests/ check the backend as a whole against
// the reference; these check the pieces those tests cannot see.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "fkm/fkm.hpp"
#include "kernels.hpp"
#include "pruning.hpp"
#include "row_kernels.hpp"

namespace fkm::cpu {
namespace {

template <class T>
std::vector<KernelTable<T>> all_tables() {
  std::vector<KernelTable<T>> out;
  if constexpr (std::is_same_v<T, float>) {
    out.push_back(generic_kernels_f32());
#ifdef FKM_CPU_HAVE_AVX2
    if (cpu_supports(KernelIsa::Avx2)) out.push_back(avx2_kernels_f32());
    if (cpu_supports(KernelIsa::Avx512)) out.push_back(avx512_kernels_f32());
#endif
  } else {
    out.push_back(generic_kernels_f64());
#ifdef FKM_CPU_HAVE_AVX2
    if (cpu_supports(KernelIsa::Avx2)) out.push_back(avx2_kernels_f64());
    if (cpu_supports(KernelIsa::Avx512)) out.push_back(avx512_kernels_f64());
#endif
  }
  return out;
}

std::vector<FloatRowKernels> all_row_tables() {
  std::vector<FloatRowKernels> out{generic_float_row_kernels()};
#ifdef FKM_CPU_HAVE_AVX2
  if (cpu_supports(KernelIsa::Avx2)) out.push_back(avx2_float_row_kernels());
#endif
  return out;
}

std::vector<double> normal(std::int64_t count, std::uint64_t seed, double offset = 0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> nd(0, 1);
  std::vector<double> v(count);
  for (auto& x : v) x = nd(gen) + offset;
  return v;
}

/// Runs one kernel table's argmin over `rows` rows (values already in T) in blocks like the backend.
template <class T>
void run_argmin(const KernelTable<T>& kt, const std::vector<T>& x, std::int64_t n, std::int64_t d, const Panels<T>& P,
                std::int64_t block, std::int64_t chunk, std::vector<std::int32_t>& label, std::vector<T>& best) {
  label.assign(n, -1);
  best.assign(n, T(0));
  AlignedVector<T> tiles;
  KernelWorkspace<T> ws;
  ws.reserve(block);
  for (std::int64_t i0 = 0; i0 < n; i0 += block) {
    const std::int64_t rows = std::min(block, n - i0);
    tiles.resize(tiles_of(rows) * tile_size(d));
    pack_rows<T>(x.data() + i0 * d, d, rows, d, static_cast<const T*>(nullptr), tiles.data());
    kt.argmin(tiles.data(), rows, P, chunk, ws, label.data() + i0, best.data() + i0);
  }
}

template <class T>
void check_argmin_against_fp64(std::int64_t n, std::int64_t d, std::int64_t k, std::int64_t block, std::int64_t chunk) {
  const auto xd = normal(n * d, 100 + n + d + k);
  const auto c = normal(k * d, 200 + n + d + k);
  std::vector<T> x(xd.begin(), xd.end());
  Panels<T> P;
  P.pack(c.data(), k, d, Metric::L2, nullptr);
  const double eps = std::numeric_limits<T>::epsilon();
  for (const auto& kt : all_tables<T>()) {
    std::vector<std::int32_t> label;
    std::vector<T> best;
    run_argmin(kt, x, n, d, P, block, chunk, label, best);
    for (std::int64_t i = 0; i < n; ++i) {
      // fp64 distances of the packed values (the centroids as packed, rounded to T)
      double best64 = std::numeric_limits<double>::infinity(), norm_x = 0;
      std::int64_t arg = -1;
      std::vector<double> dist(k);
      for (std::int64_t f = 0; f < d; ++f) norm_x += double(x[i * d + f]) * double(x[i * d + f]);
      for (std::int64_t j = 0; j < k; ++j) {
        double s = 0;
        for (std::int64_t f = 0; f < d; ++f) {
          const double t = double(x[i * d + f]) - double(T(c[j * d + f]));
          s += t * t;
        }
        dist[j] = s;
        if (s < best64) {
          best64 = s;
          arg = j;
        }
      }
      REQUIRE(label[i] >= 0);
      REQUIRE(label[i] < k);
      // A different label only at a near-tie: within the fp error of ||x||^2 + ||c||^2 sized terms.
      const double bound = 8 * eps * double(d + 2) * (norm_x + best64 + 1);
      INFO("row " << i << " label " << label[i] << " fp64 argmin " << arg);
      REQUIRE(dist[label[i]] - best64 <= bound);
      // the reported score is ||c||^2 - 2<x, c>: the distance less ||x||^2
      REQUIRE(std::abs(double(best[i]) + norm_x - dist[label[i]]) <= bound);
    }
  }
}

TEST_CASE("cpu argmin kernel matches fp64 brute force on awkward sizes", "[cpu][kernel]") {
  check_argmin_against_fp64<float>(97, 43, 37, 30, 16);      // partial tiles, partial panels, chunked depth
  check_argmin_against_fp64<float>(13, 1, 5, 6, 8);          // D = 1
  check_argmin_against_fp64<float>(50, 17, 1, 24, 64);       // K = 1
  check_argmin_against_fp64<float>(40, 9, 40, 18, 8);        // K = N
  check_argmin_against_fp64<float>(31, 784, 19, 12, 200);    // large D, uneven chunks
  check_argmin_against_fp64<double>(97, 43, 37, 30, 16);
  check_argmin_against_fp64<double>(31, 130, 9, 12, 64);
}

TEST_CASE("cpu argmin: ties go to the lower index, inside and across panels", "[cpu][kernel]") {
  const std::int64_t d = 5, k = 40;
  auto c = normal(k * d, 7);
  // centroids 3, 9 and 33 are one point; row 0 of the data is that point (distance 0 to all three)
  for (std::int64_t f = 0; f < d; ++f) c[9 * d + f] = c[33 * d + f] = c[3 * d + f];
  std::vector<float> x(7 * d);
  for (std::int64_t i = 0; i < 7; ++i)
    for (std::int64_t f = 0; f < d; ++f) x[i * d + f] = float(c[3 * d + f]);
  Panels<float> P;
  P.pack(c.data(), k, d, Metric::L2, nullptr);
  for (const auto& kt : all_tables<float>()) {
    std::vector<std::int32_t> label;
    std::vector<float> best;
    run_argmin(kt, x, 7, d, P, 6, 8, label, best);
    for (auto l : label) REQUIRE(l == 3);
  }
}

TEST_CASE("cpu argmin: block and depth-chunk sizes change no bit", "[cpu][kernel]") {
  const std::int64_t n = 61, d = 100, k = 50;
  const auto xd = normal(n * d, 11), c = normal(k * d, 12);
  std::vector<float> x(xd.begin(), xd.end());
  Panels<float> P;
  P.pack(c.data(), k, d, Metric::L2, nullptr);
  for (const auto& kt : all_tables<float>()) {
    std::vector<std::int32_t> l0, l1;
    std::vector<float> b0, b1;
    run_argmin(kt, x, n, d, P, 60, 104, l0, b0);
    for (std::int64_t block : {6, 12, 66})
      for (std::int64_t chunk : {8, 24, 56}) {
        run_argmin(kt, x, n, d, P, block, chunk, l1, b1);
        REQUIRE(l1 == l0);
        REQUIRE(b1 == b0);
      }
  }
}

TEST_CASE("cpu argmin: the AVX2 and AVX-512 float kernels give the same bits", "[cpu][kernel]") {
#ifdef FKM_CPU_HAVE_AVX2
  if (!cpu_supports(KernelIsa::Avx512)) {
    WARN("this CPU has no AVX-512F: the AVX-512 kernels are compiled but not run");
    return;
  }
  // Both sum each dot product as one FMA chain in feature order and score it with
  // fma(scale, dot, bias): every score, so every label, is the same bits.
  for (const auto& shape : {std::array<std::int64_t, 3>{97, 43, 37}, {200, 130, 70}, {25, 784, 33}, {7, 3, 1}}) {
    const std::int64_t n = shape[0], d = shape[1], k = shape[2];
    const auto xd = normal(n * d, 41 + d), c = normal(k * d, 42 + d);
    std::vector<float> x(xd.begin(), xd.end());
    Panels<float> P;
    P.pack(c.data(), k, d, Metric::L2, nullptr);
    std::vector<std::int32_t> l2, l5;
    std::vector<float> b2, b5;
    run_argmin(avx2_kernels_f32(), x, n, d, P, 48, 64, l2, b2);
    run_argmin(avx512_kernels_f32(), x, n, d, P, 30, 24, l5, b5);
    REQUIRE(l5 == l2);
    REQUIRE(b5 == b2);
  }
#endif
}

template <class T>
void check_argmin2(std::int64_t n, std::int64_t d, std::int64_t k, bool with_ties) {
  const auto xd = normal(n * d, 51 + n + d + k);
  auto c = normal(k * d, 52 + n + d + k);
  if (with_ties && k > 20)  // equal centroids in different lanes and panels: equal best and second scores
    for (std::int64_t f = 0; f < d; ++f) c[19 * d + f] = c[3 * d + f];
  std::vector<T> x(xd.begin(), xd.end());
  if (with_ties)  // row 0 is centroid 3 itself
    for (std::int64_t f = 0; f < d; ++f) x[f] = T(c[3 * d + f]);
  Panels<T> P;
  P.pack(c.data(), k, d, Metric::L2, nullptr);
  for (const auto& kt : all_tables<T>()) {
    AlignedVector<T> tiles(tiles_of(n) * tile_size(d));
    pack_rows<T>(x.data(), d, n, d, static_cast<const T*>(nullptr), tiles.data());
    KernelWorkspace<T> ws;
    ws.reserve(n);
    std::vector<T> scores(n * P.padded_k()), best(n), second(n), best1(n);
    std::vector<std::int32_t> label(n), label1(n);
    kt.scores(tiles.data(), n, P, 16, ws, scores.data());
    kt.argmin(tiles.data(), n, P, 16, ws, label1.data(), best1.data());
    kt.argmin2(tiles.data(), n, P, 16, ws, label.data(), best.data(), second.data());
    REQUIRE(label == label1);
    REQUIRE(best == best1);
    for (std::int64_t i = 0; i < n; ++i) {
      T others = std::numeric_limits<T>::infinity();
      for (std::int64_t j = 0; j < k; ++j)
        if (j != label[i]) others = std::min(others, scores[i * P.padded_k() + j]);
      INFO("row " << i << " of " << n << ", d " << d << ", k " << k);
      REQUIRE(best[i] == scores[i * P.padded_k() + label[i]]);
      REQUIRE(second[i] == others);  // the same bits: the same dot products
    }
  }
}

TEST_CASE("cpu argmin2: the second-best score is the least of every other centroid's", "[cpu][kernel]") {
  check_argmin2<float>(97, 43, 37, false);
  check_argmin2<float>(40, 9, 40, true);    // K = N, equal centroids
  check_argmin2<float>(13, 5, 1, false);    // K = 1: no other centroid, +inf
  check_argmin2<float>(31, 130, 70, true);  // several panel pairs
  check_argmin2<double>(97, 43, 37, false);
  check_argmin2<double>(31, 20, 33, true);
}

TEST_CASE("cpu pruning: the rounding allowance bounds every kernel score's error", "[cpu][kernel][pruning]") {
  // The pruned assignment's proofs rest on two claims of RoundingBounds, checked here against
  // the kernels themselves: the centred, rounded vectors are within rho of the true ones, and
  // every score is within score_error of the exact score of those vectors.
  for (const auto& shape : {std::array<std::int64_t, 3>{50, 7, 20}, {30, 130, 33}, {12, 784, 17}, {9, 2049, 5}}) {
    for (const double offset : {0.0, 300.0}) {  // offset: data far from the origin, centred
      const std::int64_t n = shape[0], d = shape[1], k = shape[2];
      const auto xd = normal(n * d, 61 + d, offset), cd = normal(k * d, 62 + d, offset);
      std::vector<float> x(xd.begin(), xd.end());
      std::vector<double> mean(d, 0.0);
      if (offset != 0)
        for (std::int64_t i = 0; i < n; ++i)
          for (std::int64_t f = 0; f < d; ++f) mean[f] += double(x[i * d + f]) / double(n);
      std::vector<float> mean_t(mean.begin(), mean.end());
      const double* shift = offset != 0 ? mean.data() : nullptr;
      Panels<float> P;
      P.pack(cd.data(), k, d, Metric::L2, shift);
      RoundingBounds rb;
      rb.eps = std::numeric_limits<float>::epsilon();
      rb.d = double(d);
      rb.safe_r2 = std::numeric_limits<float>::max() / 4;
      for (std::int64_t j = 0; j < k; ++j) {
        double s = 0;
        for (std::int64_t f = 0; f < d; ++f) s += (cd[j * d + f] - mean[f]) * (cd[j * d + f] - mean[f]);
        rb.c_max = std::max(rb.c_max, std::sqrt(s));
      }
      for (double m : mean) rb.mean_norm += m * m;
      rb.mean_norm = std::sqrt(rb.mean_norm);
      AlignedVector<float> tiles(tiles_of(n) * tile_size(d));
      pack_rows<float>(x.data(), d, n, d, offset != 0 ? mean_t.data() : nullptr, tiles.data());
      for (const auto& kt : all_tables<float>()) {
        KernelWorkspace<float> ws;
        ws.reserve(n);
        std::vector<float> out(n * P.padded_k());
        kt.scores(tiles.data(), n, P, 64, ws, out.data());
        for (std::int64_t i = 0; i < n; ++i) {
          double x2 = 0, moved = 0;
          std::vector<double> xt(d);
          for (std::int64_t f = 0; f < d; ++f) {
            const double v = double(x[i * d + f]) - mean[f];
            x2 += v * v;
            xt[f] = tiles[(i / kMicroRows) * tile_size(d) + tile_offset(f, int(i % kMicroRows))];
            moved += (xt[f] - v) * (xt[f] - v);
          }
          const double xn = std::sqrt(x2);
          REQUIRE(std::sqrt(moved) <= rb.rho(xn) / 2);  // centroids move too: half of rho each
          for (std::int64_t j = 0; j < k; ++j) {
            double c2 = 0, dot = 0, cmoved = 0;
            for (std::int64_t f = 0; f < d; ++f) {
              const double ct = P.panel(j / P.W)[f * P.W + j % P.W];
              c2 += ct * ct;
              dot += xt[f] * ct;
              const double cv = cd[j * d + f] - mean[f];
              cmoved += (ct - cv) * (ct - cv);
            }
            REQUIRE(std::sqrt(cmoved) <= rb.rho(xn) / 2);
            const double exact = c2 - 2 * dot;
            INFO("d " << d << " offset " << offset << " row " << i << " centroid " << j);
            REQUIRE(std::abs(double(out[i * P.padded_k() + j]) - exact) <= rb.score_error(xn) / 2);
          }
        }
      }
    }
  }
}

TEST_CASE("cpu pruning: bounds round toward zero", "[cpu][kernel][pruning]") {
  for (const double v : {0.1, 1.0 / 3.0, 12345.678901234, 1e-30, 3.4e38})
    CHECK(double(bound_down(v)) <= v);
  CHECK(bound_down(-1.0) == 0.f);
  CHECK(bound_down(std::numeric_limits<double>::quiet_NaN()) == 0.f);
  CHECK(bound_down(std::numeric_limits<double>::infinity()) == std::numeric_limits<float>::infinity());
  CHECK(bound_down(1e300) == std::numeric_limits<float>::max());
}

TEST_CASE("cpu scores kernel matches fp64", "[cpu][kernel]") {
  const std::int64_t n = 23, d = 29, k = 21;
  const auto xd = normal(n * d, 21), c = normal(k * d, 22);
  std::vector<float> x(xd.begin(), xd.end());
  Panels<float> P;
  P.pack(c.data(), k, d, Metric::InnerProduct, nullptr);
  for (const auto& kt : all_tables<float>()) {
    AlignedVector<float> tiles(tiles_of(n) * tile_size(d));
    pack_rows<float>(x.data(), d, n, d, static_cast<const float*>(nullptr), tiles.data());
    KernelWorkspace<float> ws;
    ws.reserve(n);
    std::vector<float> out(n * P.padded_k());
    kt.scores(tiles.data(), n, P, 8, ws, out.data());
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < k; ++j) {
        double dot = 0, mag = 0;
        for (std::int64_t f = 0; f < d; ++f) {
          dot += double(x[i * d + f]) * double(float(c[j * d + f]));
          mag += std::abs(double(x[i * d + f]) * double(float(c[j * d + f])));
        }
        REQUIRE(std::abs(double(out[i * P.padded_k() + j]) + dot) <= 4e-7 * d * (mag + 1));
      }
  }
}

TEST_CASE("cpu exact distances and update sums have the same bits on every instruction set", "[cpu][kernel]") {
  for (std::int64_t d : {1, 7, 8, 43, 130}) {
    const std::int64_t n = 14, k = 3;
    const auto xd = normal(n * d, 31 + d), c = normal(k * d, 32 + d);
    std::vector<float> x(xd.begin(), xd.end());
    AlignedVector<float> tiles(tiles_of(n) * tile_size(d));
    pack_rows<float>(x.data(), d, n, d, static_cast<const float*>(nullptr), tiles.data());
    const std::int64_t dp = padded_depth(d);
    std::vector<double> padded(k * dp, 0.0);
    for (std::int64_t j = 0; j < k; ++j)
      for (std::int64_t f = 0; f < d; ++f) padded[j * dp + f] = c[j * d + f];
    std::vector<std::int32_t> labels(n);
    for (std::int64_t i = 0; i < n; ++i) labels[i] = std::int32_t(i % k);
    std::vector<double> w(n);
    for (std::int64_t i = 0; i < n; ++i) w[i] = i % 4 == 0 ? 0.0 : 0.5 + 0.25 * double(i);
    for (const auto& rk : all_row_tables()) {
      for (std::int64_t i = 0; i < n; ++i) {
        const float* packed = tiles.data() + (i / kMicroRows) * tile_size(d) + (i % kMicroRows) * kDepthGroup;
        double a = 0;
        {
          const double* one = &padded[labels[i] * dp];
          rk.l2_distance_tile(packed, &one, dp, 1, &a);
        }
        // and as one of the rows of its whole tile
        const std::int64_t t0 = i / kMicroRows * kMicroRows;
        const double* cs[kMicroRows];
        double whole[kMicroRows];
        const int in_tile = int(std::min<std::int64_t>(kMicroRows, n - t0));
        for (int r = 0; r < in_tile; ++r) cs[r] = &padded[labels[t0 + r] * dp];
        rk.l2_distance_tile(tiles.data() + (i / kMicroRows) * tile_size(d), cs, dp, in_tile, whole);
        REQUIRE(whole[i - t0] == a);
        const double b = l2_distance_row(&x[i * d], &c[labels[i] * d], d);
        REQUIRE(rk.l2_distance_row(&x[i * d], &c[labels[i] * d], d) == b);
        double seq = 0;  // the fp64 sum in feature order: close, not necessarily equal
        for (std::int64_t f = 0; f < d; ++f) seq += (double(x[i * d + f]) - c[labels[i] * d + f]) * (double(x[i * d + f]) - c[labels[i] * d + f]);
        REQUIRE(a == b);
        REQUIRE(std::abs(a - seq) <= 1e-14 * seq);
      }
      for (const double* wp : {static_cast<const double*>(nullptr), static_cast<const double*>(w.data())}) {
        std::vector<double> sums(k * d, 0.0), ref(k * d, 0.0);
        rk.accumulate(x.data(), d, n, labels.data(), wp, 0, d, d, sums.data());
        for (std::int64_t i = 0; i < n; ++i)  // the reference's order: every point, in index order
          for (std::int64_t f = 0; f < d; ++f) ref[labels[i] * d + f] += (wp ? wp[i] : 1.0) * double(x[i * d + f]);
        REQUIRE(sums == ref);
        // the sort-inverse schedule (each cluster's rows, ascending) gives the same bits
        std::vector<double> by_cluster(k * d, 0.0);
        for (std::int64_t j = 0; j < k; ++j) {
          std::vector<std::int64_t> idx;
          for (std::int64_t i = 0; i < n; ++i)
            if (labels[i] == j) idx.push_back(i);
          rk.cluster_sums(x.data(), d, idx.data(), std::int64_t(idx.size()), wp, d, &by_cluster[j * d]);
        }
        REQUIRE(by_cluster == ref);
      }
    }
  }
}

TEST_CASE("cpu backend: bitwise identical results for any thread count", "[cpu][determinism]") {
  const std::int64_t n = 1013, d = 37, k = 29;
  const auto xd = normal(n * d, 41);
  std::vector<float> x(xd.begin(), xd.end());
  std::vector<double> w(n);
  for (std::int64_t i = 0; i < n; ++i) w[i] = i % 7 == 0 ? 0.0 : 1.0 + double(i % 5);
  for (bool weighted : {false, true}) {
    KMeansParams p;
    p.k = k;
    p.max_iter = 6;
    p.tol = 0;
    p.seed = 5;
    p.backend = BackendKind::Cpu;
    std::vector<KMeansResult> runs;
    for (int threads : {1, 2, 3}) {
      p.num_threads = threads;
      runs.push_back(fit(host_view(x.data(), n, d), p, weighted ? host_vector(w.data(), n) : VectorView{}));
    }
    for (const auto& r : runs) {
      REQUIRE(r.labels == runs[0].labels);
      REQUIRE(r.centroids == runs[0].centroids);
      REQUIRE(r.inertia == runs[0].inertia);
    }
  }
}

TEST_CASE("cpu backend: from the same centroids, the same labels and bitwise the reference's centroids", "[cpu][oracle]") {
  // Well separated data (no near-ties): every assignment agrees with the reference, and the update
  // sums are the reference's sums, so the centroids are equal to the last bit. Also for data far
  // from the origin, which the backend centres before scoring.
  for (double offset : {0.0, 1000.0}) {
    const std::int64_t n = 611, d = 19, k = 13;
    std::mt19937_64 gen(51);
    std::normal_distribution<double> nd(0, 1);
    std::vector<double> centres(k * d);
    for (auto& v : centres) v = 20 * nd(gen) + offset;
    std::vector<float> x(n * d);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t f = 0; f < d; ++f) x[i * d + f] = float(centres[(i % k) * d + f] + nd(gen));
    std::vector<double> c0(k * d);
    for (std::int64_t j = 0; j < k; ++j)
      for (std::int64_t f = 0; f < d; ++f) c0[j * d + f] = x[(j * 17 % n) * d + f];
    KMeansParams p;
    p.k = k;
    p.init = Init::Given;
    p.initial_centroids = host_view(c0.data(), k, d);
    p.max_iter = 5;
    p.tol = 0;
    p.backend = BackendKind::Reference;
    const auto ref = fit(host_view(x.data(), n, d), p);
    p.backend = BackendKind::Cpu;
    const auto got = fit(host_view(x.data(), n, d), p);
    INFO("offset " << offset);
    REQUIRE(got.labels == ref.labels);
    REQUIRE(got.centroids == ref.centroids);
    REQUIRE(std::abs(got.inertia - ref.inertia) <= 1e-12 * ref.inertia);
  }
}

TEST_CASE("cpu backend: updated sums stay within one sequential sum's rounding of the reference's", "[cpu][oracle]") {
  // Overlapping clusters: points keep moving for many iterations, so the update sums are mostly
  // updated by moves rather than made afresh (accumulate()). They must stay as accurate as one
  // sequential fp64 sum (the reference's), for any thread count, weighted or not, every metric.
  const std::int64_t n = 1500, d = 11, k = 40;
  const auto xd = normal(n * d, 77);
  std::vector<double> w(n);
  for (std::int64_t i = 0; i < n; ++i) w[i] = i % 9 == 0 ? 0.0 : 0.5 + double(i % 4);
  std::vector<double> c0(xd.begin(), xd.begin() + k * d);
  for (const Metric metric : {Metric::L2, Metric::InnerProduct, Metric::Cosine})
    for (const bool weighted : {false, true}) {
      KMeansParams p;
      p.k = k;
      p.metric = metric;
      p.init = Init::Given;
      p.initial_centroids = host_view(c0.data(), k, d);
      p.max_iter = 60;
      p.tol = 0;
      p.empty_clusters = EmptyClusterPolicy::KeepOld;
      const VectorView wv = weighted ? host_vector(w.data(), n) : VectorView{};
      p.backend = BackendKind::Reference;
      const auto ref = fit(host_view(xd.data(), n, d), p, wv);
      p.backend = BackendKind::Cpu;
      std::vector<KMeansResult> runs;
      for (int threads : {1, 2, 3}) {
        p.num_threads = threads;
        runs.push_back(fit(host_view(xd.data(), n, d), p, wv));
      }
      INFO(to_string(metric) << (weighted ? ", weighted" : ""));
      for (const auto& r : runs) {
        REQUIRE(r.labels == runs[0].labels);
        REQUIRE(r.centroids == runs[0].centroids);  // bitwise, whatever the thread count
      }
      // fp64 data, well inside a near-tie-free trajectory most of the time: where the labels
      // agree with the reference's, the centroids agree to a few ulps of the data's scale.
      if (runs[0].labels == ref.labels) {
        double worst = 0;
        for (std::size_t t = 0; t < ref.centroids.size(); ++t)
          worst = std::max(worst, std::abs(runs[0].centroids[t] - ref.centroids[t]));
        CHECK(worst <= 1e-12);
      } else {
        WARN("the trajectory left the reference's at a near-tie: labels not compared");
      }
    }
}

}  // namespace
}  // namespace fkm::cpu
