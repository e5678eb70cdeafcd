// fkm_cuda_screen_check: the labels of precision = exact on the CUDA backend against fp64, on
// data built to defeat fast arithmetic: rows within a relative 1e-9..1e-1 of the bisector of two
// centroids (near-ties at every scale the screen's proofs decide, core/kernels/screen.hpp), and
// data of extreme magnitude (fp32 squares overflow or underflow; operands.cuh scales them, or
// routes them to fp64). Exit code 0 when every check passes; one line per failure otherwise.
//   fkm_cuda_screen_check [tiny]   (tiny: small sizes, for compute-sanitizer)
// Every check runs in three modes of FKM_CUDA_SCREEN: default, "pairs" (the screen proves
// nothing: every row meets the pairs pass) and "rescore" (every row meets the fp32-accurate
// re-score), so each pass is tested at full coverage. FKM_CUDA_TIMING=1 is set, so each Problem
// prints how many rows each pass left ("fkm cuda count ...") to stderr.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fkm/fkm.hpp"

namespace {

int failures = 0;

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}
void fail(const std::string& what) {
  ++failures;
  std::printf("FAIL %s\n", what.c_str());
  std::fflush(stdout);
}

/// Rows stored in one dtype, and the stored values widened to fp64.
struct Rows {
  fkm::DType dtype;
  std::int64_t n, d;
  std::vector<unsigned char> bytes;
  std::vector<double> exact;
  fkm::MatrixView view() const { return fkm::host_view(bytes.data(), n, d, dtype); }
};

Rows store(const std::vector<double>& v, std::int64_t n, std::int64_t d, fkm::DType t) {
  Rows r{t, n, d, std::vector<unsigned char>(std::size_t(n * d) * fkm::size_of(t)), std::vector<double>(v.size())};
  for (std::size_t e = 0; e < v.size(); ++e) switch (t) {
      case fkm::DType::F64: reinterpret_cast<double*>(r.bytes.data())[e] = r.exact[e] = v[e]; break;
      case fkm::DType::F32: reinterpret_cast<float*>(r.bytes.data())[e] = float(v[e]); r.exact[e] = float(v[e]); break;
      case fkm::DType::F16: {
        const fkm::half h = fkm::to_half(float(v[e]));
        reinterpret_cast<fkm::half*>(r.bytes.data())[e] = h;
        r.exact[e] = fkm::to_float(h);
        break;
      }
      case fkm::DType::BF16: {
        const fkm::bfloat16 h = fkm::to_bfloat16(float(v[e]));
        reinterpret_cast<fkm::bfloat16*>(r.bytes.data())[e] = h;
        r.exact[e] = fkm::to_float(h);
        break;
      }
    }
  return r;
}

/// k unit-norm centroids (so that L2, cosine and inner-product near-ties coincide) times `scale`,
/// and n rows: most on the bisector of two random centroids, moved off it by a relative gap
/// 10^-u, u uniform in [1, 9], plus a random component orthogonal to both (each row's nearest
/// pair is usually those two); every 10th row plain noise around a centroid.
void near_tie_data(std::int64_t n, std::int64_t d, std::int64_t k, double scale, std::uint64_t seed,
                   std::vector<double>& x, std::vector<double>& c) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> z(0, 1);
  std::uniform_real_distribution<double> u(1, 9);
  c.assign(k * d, 0);
  for (std::int64_t j = 0; j < k; ++j) {
    double s = 0;
    for (std::int64_t f = 0; f < d; ++f) s += (c[j * d + f] = z(g)) * c[j * d + f];
    for (std::int64_t f = 0; f < d; ++f) c[j * d + f] *= scale / std::sqrt(s);
  }
  x.assign(n * d, 0);
  std::vector<double> w(d), m(d);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t a = std::int64_t(g() % std::uint64_t(k)), b = (a + 1 + std::int64_t(g() % std::uint64_t(k - 1))) % k;
    double* xi = &x[i * d];
    if (i % 10 == 9) {
      for (std::int64_t f = 0; f < d; ++f) xi[f] = c[a * d + f] + 0.05 * scale * z(g);
      continue;
    }
    // w = the unit normal of the bisector; m = a random direction orthogonal to a - b and a + b
    double ww = 0;
    for (std::int64_t f = 0; f < d; ++f) ww += (w[f] = c[a * d + f] - c[b * d + f]) * w[f];
    for (auto& v : w) v /= std::sqrt(ww);
    double mw = 0, mm = 0, ms = 0, ss = 0;
    for (std::int64_t f = 0; f < d; ++f) {
      m[f] = z(g);
      mw += m[f] * w[f];
    }
    for (std::int64_t f = 0; f < d; ++f) m[f] -= mw * w[f];
    for (std::int64_t f = 0; f < d; ++f) {
      const double sf = c[a * d + f] + c[b * d + f];
      ms += m[f] * sf;
      ss += sf * sf;
    }
    for (std::int64_t f = 0; f < d; ++f) m[f] -= ss > 0 ? ms / ss * (c[a * d + f] + c[b * d + f]) : 0;
    for (std::int64_t f = 0; f < d; ++f) mm += m[f] * m[f];
    const double gap = std::pow(10.0, -u(g)) * (g() % 2 ? 1 : -1);
    for (std::int64_t f = 0; f < d; ++f)
      xi[f] = 0.5 * (c[a * d + f] + c[b * d + f]) + 0.3 * scale * m[f] / std::sqrt(mm) + gap * scale * w[f];
  }
}

double dist(const double* x, const double* c, std::int64_t d, fkm::Metric m) {
  double s = 0, xx = 0, cc = 0;
  for (std::int64_t f = 0; f < d; ++f) {
    if (m == fkm::Metric::L2) s += (x[f] - c[f]) * (x[f] - c[f]);
    else s += x[f] * c[f];
    xx += x[f] * x[f];
    cc += c[f] * c[f];
  }
  if (m == fkm::Metric::L2) return s;
  if (m == fkm::Metric::Cosine) return xx > 0 && cc > 0 ? 1 - s / (std::sqrt(xx) * std::sqrt(cc)) : 1;
  return -s;
}

struct Mismatches {
  std::int64_t beyond = 0, within = 0;  ///< labels not the fp64 nearest: beyond / within the allowance
  std::int64_t bad_dist = 0;
};

/// Labels against the fp64 nearest centroid; a different label is allowed where the two fp64
/// distances differ by at most `u` (the arithmetic's unit roundoff) x 8 (d + 2) x the terms'
/// scale, the behaviour tests' near-tie rule. Distances must be the fp64 distance to the label.
Mismatches compare(const Rows& x, const std::vector<double>& c, std::int64_t k, const std::vector<std::int32_t>& labels,
                   const std::vector<double>* distances, fkm::Metric m, double u) {
  Mismatches out;
  const std::int64_t d = x.d;
  for (std::int64_t i = 0; i < x.n; ++i) {
    const double* xi = &x.exact[i * d];
    const std::int32_t got = labels[i];
    if (got < 0 || got >= k) {
      ++out.beyond;
      continue;
    }
    std::int64_t best = 0;
    double best_d = INFINITY;
    for (std::int64_t j = 0; j < k; ++j) {
      const double dj = dist(xi, &c[j * d], d, m);
      if (dj < best_d) {
        best_d = dj;
        best = j;
      }
    }
    const double dg = dist(xi, &c[got * d], d, m);
    if (distances && !(std::fabs((*distances)[i] - dg) <= 1e-9 * (std::fabs(dg) + 1e-300) + 1e-12 * (m == fkm::Metric::L2 ? 0 : 1)))
      ++out.bad_dist;
    if (got == best) continue;
    double scale = m == fkm::Metric::Cosine ? 3.0 : 0.0;
    if (m != fkm::Metric::Cosine)
      for (std::int64_t f = 0; f < d; ++f)
        scale += xi[f] * xi[f] + c[best * d + f] * c[best * d + f] + c[got * d + f] * c[got * d + f];
    if (dg - best_d <= 8.0 * double(d + 2) * u * scale) ++out.within;
    else ++out.beyond;
  }
  return out;
}

/// One assign of `x` against centroids `c` on the CUDA backend (Problem interface).
struct Assigned {
  std::vector<std::int32_t> labels;
  std::vector<double> dist, centroids;
  double inertia = 0;
};
Assigned assign_once(const Rows& x, const std::vector<double>& c, std::int64_t k, fkm::Metric m, fkm::Precision p) {
  fkm::ProblemSpec spec;
  spec.x = x.view();
  spec.metric = m;
  spec.precision = p;
  auto problem = fkm::select_backend(fkm::BackendKind::Cuda).bind(spec);
  problem->set_centroids(c.data(), k);
  Assigned a;
  a.inertia = problem->assign();
  a.labels.resize(x.n);
  a.dist.resize(x.n);
  a.centroids.resize(k * x.d);
  problem->get_labels(a.labels.data());
  problem->get_distances(a.dist.data());
  problem->get_centroids(a.centroids.data());  // normalised for cosine
  return a;
}

const char* const kModes[] = {"", "pairs", "rescore"};

std::string mode_name(const char* mode) { return mode[0] ? mode : "default"; }

/// Exact mode on near-tie data: labels as fp64 up to fp32-level near-ties, distances and inertia
/// exact, two runs bitwise equal. Returns how many labels fast mode misses on the same data by
/// more than fp32's allowance: main requires some per dtype (else the data would test nothing).
std::int64_t check_near_ties(fkm::DType t, fkm::Metric m, std::int64_t n, std::int64_t d, std::int64_t k, double scale) {
  std::vector<double> v, c;
  near_tie_data(n, d, k, scale, 7 + std::uint64_t(d), v, c);
  const Rows x = store(v, n, d, t);
  const std::string base = std::string("near-ties ") + fkm::to_string(t) + " " + fkm::to_string(m) + " n=" + std::to_string(n) +
                           " d=" + std::to_string(d) + " k=" + std::to_string(k) + " scale=" + num(scale);
  for (const char* mode : kModes) {
    setenv("FKM_CUDA_SCREEN", mode, 1);
    const std::string what = base + " screen=" + mode_name(mode);
    std::fprintf(stderr, "== %s\n", what.c_str());
    const Assigned a = assign_once(x, c, k, m, fkm::Precision::Exact);
    const Assigned b = assign_once(x, c, k, m, fkm::Precision::Exact);
    const Mismatches r = compare(x, a.centroids, k, a.labels, &a.dist, m, 0x1p-24);
    std::printf("%s: %lld labels differ from fp64 within the near-tie allowance, %lld beyond, %lld bad distances\n",
                what.c_str(), (long long)r.within, (long long)r.beyond, (long long)r.bad_dist);
    if (r.beyond) fail(what + ": " + std::to_string(r.beyond) + " labels differ from fp64 beyond near-ties");
    if (r.bad_dist) fail(what + ": " + std::to_string(r.bad_dist) + " distances are not the fp64 distance to the label");
    double sum = 0;
    for (double dv : a.dist) sum += dv;
    if (!(std::fabs(a.inertia - sum) <= 1e-12 * std::fabs(sum) + 1e-300)) fail(what + ": inertia is not the sum of the distances");
    if (a.labels != b.labels || std::memcmp(a.dist.data(), b.dist.data(), a.dist.size() * sizeof(double)) != 0 ||
        std::memcmp(&a.inertia, &b.inertia, sizeof a.inertia) != 0)
      fail(what + ": two runs differ (not deterministic)");
  }
  unsetenv("FKM_CUDA_SCREEN");
  const Assigned f = assign_once(x, c, k, m, fkm::Precision::Fast);
  const Mismatches r = compare(x, f.centroids, k, f.labels, nullptr, m, 0x1p-24);
  std::printf("%s precision=fast: %lld labels differ beyond fp32's allowance\n", base.c_str(), (long long)r.beyond);
  return r.beyond;
}

/// Blob data of magnitude `magnitude`: labels of both precisions as fp64 up to their own
/// arithmetic's near-ties, for every metric.
void check_magnitude(fkm::DType t, double magnitude, std::int64_t n, std::int64_t d, std::int64_t k) {
  std::mt19937_64 g(11);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> centres(k * d), v(n * d), c(k * d);
  for (auto& e : centres) e = 6 * u(g);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t f = 0; f < d; ++f) v[i * d + f] = (centres[(i % k) * d + f] + u(g)) * magnitude;
  const Rows x = store(v, n, d, t);
  for (std::int64_t j = 0; j < k; ++j)
    for (std::int64_t f = 0; f < d; ++f) c[j * d + f] = x.exact[((j * 37) % n) * d + f];
  for (fkm::Metric m : {fkm::Metric::L2, fkm::Metric::Cosine, fkm::Metric::InnerProduct})
    for (fkm::Precision p : {fkm::Precision::Exact, fkm::Precision::Fast}) {
      const std::string what = std::string("magnitude ") + num(magnitude) + " " + fkm::to_string(t) + " " +
                               fkm::to_string(m) + " " + fkm::to_string(p);
      const double fast_u = t == fkm::DType::BF16 ? 0x1p-8 : 0x1p-11;
      const Assigned a = assign_once(x, c, k, m, p);
      const Mismatches r = compare(x, a.centroids, k, a.labels, &a.dist, m, p == fkm::Precision::Exact ? 0x1p-24 : fast_u);
      if (r.beyond) fail(what + ": " + std::to_string(r.beyond) + " labels differ from fp64 beyond near-ties");
      if (r.bad_dist) fail(what + ": " + std::to_string(r.bad_dist) + " distances are not the fp64 distance to the label");
    }
}

/// predict() with given centroids `factor` times larger than the data: the same labels as the
/// reference backend up to near-ties (scores dominated by ||c||^2; beyond 2^40 the CUDA
/// backend assigns in fp64).
void check_far_centroids(fkm::DType t, double factor) {
  const std::int64_t n = 700, d = 9, k = 6;
  std::mt19937_64 g(5);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> v(n * d), c(k * d);
  for (auto& e : v) e = u(g);
  for (auto& e : c) e = factor * u(g);
  const Rows x = store(v, n, d, t);
  for (fkm::Precision p : {fkm::Precision::Exact, fkm::Precision::Fast}) {
    const std::string what = std::string("predict, centroids ") + num(factor) + " x the data, " + fkm::to_string(t) + " " +
                             fkm::to_string(p);
    try {
      fkm::KMeansParams params;
      params.backend = fkm::BackendKind::Cuda;
      params.precision = p;
      fkm::KMeans model(params);
      model.set_centroids(c, k, d);
      const auto labels = model.predict(x.view());
      const double fast_u = t == fkm::DType::BF16 ? 0x1p-8 : 0x1p-11;
      const Mismatches r = compare(x, c, k, labels, nullptr, fkm::Metric::L2, p == fkm::Precision::Exact ? 0x1p-24 : fast_u);
      if (r.beyond) fail(what + ": " + std::to_string(r.beyond) + " labels differ from fp64 beyond near-ties");
    } catch (const std::exception& e) {
      fail(what + ": threw " + e.what());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const bool tiny = argc > 1 && std::strcmp(argv[1], "tiny") == 0;
  bool device = false;  // (select_backend would throw without one)
  for (const auto& b : fkm::list_backends())
    if (b.kind == fkm::BackendKind::Cuda) device = b.compiled && !b.devices.empty();
  if (!device) {
    std::printf("no CUDA device: skipped\n");
    return 77;  // ctest SKIP_RETURN_CODE
  }
  setenv("FKM_CUDA_TIMING", "1", 1);  // the Problems print their list lengths to stderr
  const fkm::Metric metrics[] = {fkm::Metric::L2, fkm::Metric::Cosine, fkm::Metric::InnerProduct};
  if (tiny) {  // every pass of the screen, both resident and streamed points
    check_near_ties(fkm::DType::F16, fkm::Metric::L2, 300, 40, 7, 1.0);
    check_near_ties(fkm::DType::F32, fkm::Metric::Cosine, 300, 40, 7, 1.0);
    check_near_ties(fkm::DType::BF16, fkm::Metric::L2, 130, 1200, 5, 1.0);
    check_magnitude(fkm::DType::F32, 1e30, 200, 5, 4);
    std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
    return failures ? 1 : 0;
  }
  for (fkm::DType t : {fkm::DType::F16, fkm::DType::BF16, fkm::DType::F32}) {
    std::int64_t fast_missed = 0;  // over this dtype's configs: some single configs happen to be easy for fp32
    for (fkm::Metric m : metrics) {
      fast_missed += check_near_ties(t, m, 3000, 64, 16, 1.0);
      fast_missed += check_near_ties(t, m, 1000, 5, 300, 3.0);
      fast_missed += check_near_ties(t, m, 500, 1100, 9, 1.0);  // points streamed beside the centroids (large D)
    }
    if (t == fkm::DType::F16) fast_missed += check_near_ties(t, fkm::Metric::L2, 4000, 128, 1024, 10.0);
    std::printf("near-ties %s: fast mode missed %lld labels beyond fp32's allowance over all configs\n",
                fkm::to_string(t), (long long)fast_missed);
    if (fast_missed == 0)
      fail(std::string("near-ties ") + fkm::to_string(t) + ": fast mode missed no label on any config: the data test nothing");
  }
  for (fkm::DType t : {fkm::DType::F32, fkm::DType::BF16})
    for (double mag : {1e20, 1e30, 1e-25, 1e-35, 1e37, 1e-39})  // the last two: beyond 2^+-120, in fp64
      check_magnitude(t, mag, 500, 7, 5);
  for (double mag : {5e3, 1e-6}) check_magnitude(fkm::DType::F16, mag, 500, 7, 5);  // fp16: 7 x 5e3 < 65504
  for (fkm::DType t : {fkm::DType::F16, fkm::DType::BF16, fkm::DType::F32})
    for (double factor : {1e6, 1e15}) check_far_centroids(t, factor);
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
  return failures ? 1 : 0;
}
