// fkm_cuda_batched_check: the CUDA backend's batched fit (backends/cuda/cuda_batched.cuh)
// against fitting each problem alone, bit for bit, where the shared tests do not reach:
// precision = fast, every dtype x metric x precision, problems that stop at different
// iterations (tol), n_init restarts, empty clusters (reseeded or kept), weights with zeros,
// sizes of several tiles and update chunks (N not a multiple of 128 or 256), device views in
// place and copied, and failures (a problem whose inertia overflows) reported as the loop
// reports them. Exit code 0 when every check passes, 77 without a GPU.
//   fkm_cuda_batched_check [tiny]   (tiny: a few small batches, for compute-sanitizer)
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fkm/fkm.hpp"

namespace {

int failures = 0;
void fail(const std::string& what) {
  ++failures;
  std::printf("FAIL %s\n", what.c_str());
  std::fflush(stdout);
}

/// problems x n x d values in the dtype's bytes; problem b has its own blobs.
std::vector<unsigned char> make_batch(std::int64_t problems, std::int64_t n, std::int64_t d, std::int64_t blobs,
                                      double spread, fkm::DType t, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<unsigned char> out(std::size_t(problems * n * d) * fkm::size_of(t));
  std::vector<double> centres(std::size_t(blobs * d));
  for (std::int64_t b = 0; b < problems; ++b) {
    for (auto& c : centres) c = (4 + b) * u(g);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t f = 0; f < d; ++f) {
        const double v = centres[std::size_t((i % blobs) * d + f)] + spread * u(g);
        const std::size_t e = std::size_t((b * n + i) * d + f);
        switch (t) {
          case fkm::DType::F64: reinterpret_cast<double*>(out.data())[e] = v; break;
          case fkm::DType::F32: reinterpret_cast<float*>(out.data())[e] = float(v); break;
          case fkm::DType::F16: reinterpret_cast<fkm::half*>(out.data())[e] = fkm::to_half(float(v)); break;
          case fkm::DType::BF16: reinterpret_cast<fkm::bfloat16*>(out.data())[e] = fkm::to_bfloat16(float(v)); break;
        }
      }
  }
  return out;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

void compare(const fkm::KMeansResult& got, const fkm::KMeansResult& want, const std::string& what) {
  std::string bad;
  if (got.labels != want.labels) bad += " labels";
  if (!same_bits(got.centroids, want.centroids)) bad += " centroids";
  if (!same_bits(got.initial_centroids, want.initial_centroids)) bad += " initial_centroids";
  if (std::memcmp(&got.inertia, &want.inertia, sizeof(double)) != 0) bad += " inertia";
  if (got.n_iter != want.n_iter) bad += " n_iter(" + std::to_string(got.n_iter) + " vs " + std::to_string(want.n_iter) + ")";
  if (got.stop_reason != want.stop_reason) bad += " stop_reason";
  if (got.best_init != want.best_init) bad += " best_init";
  if (std::memcmp(&got.tol_absolute, &want.tol_absolute, sizeof(double)) != 0) bad += " tol_absolute";
  if (got.backend != want.backend || got.device != want.device) bad += " backend/device";
  if (got.history.size() != want.history.size()) {
    bad += " history length";
  } else {
    for (std::size_t i = 0; i < got.history.size(); ++i)
      if (std::memcmp(&got.history[i].inertia, &want.history[i].inertia, sizeof(double)) != 0 ||
          std::memcmp(&got.history[i].shift, &want.history[i].shift, sizeof(double)) != 0 ||
          got.history[i].n_empty != want.history[i].n_empty) {
        bad += " history[" + std::to_string(i) + "]";
        break;
      }
  }
  if (!bad.empty()) fail(what + ":" + bad);
}

struct Case {
  std::int64_t problems, n, d, k;
  fkm::DType dtype;
  fkm::Metric metric;
  fkm::Precision precision;
  fkm::Init init = fkm::Init::KMeansPlusPlus;
  int n_init = 1;
  double tol = 1e-4;
  bool weighted = false;
  double spread = 1.0;
  fkm::EmptyClusterPolicy empties = fkm::EmptyClusterPolicy::ReseedFarthest;
  bool far_given = false;  ///< Init::Given with two centroids far from every point: empty clusters
  int max_iter = 25;
  bool device_views = true;  ///< also from device views (in place, and copied)
};

std::string describe(const Case& c, const char* where) {
  return std::string(where) + " B" + std::to_string(c.problems) + " N" + std::to_string(c.n) + " D" + std::to_string(c.d) +
         " K" + std::to_string(c.k) + " " + fkm::to_string(c.dtype) + " " + fkm::to_string(c.metric) + " " +
         fkm::to_string(c.precision) + " " + fkm::to_string(c.init) + " n_init " + std::to_string(c.n_init) +
         (c.weighted ? " weighted" : "") + (c.far_given ? " far centroids" : "") +
         (c.empties == fkm::EmptyClusterPolicy::KeepOld ? " keep-old" : "");
}

/// fit_batched over a host view (and a device view: in place, and with a padded batch stride,
/// copied) against each problem's own fit.
void check_case(const Case& c, std::uint64_t seed) {
  const std::size_t es = fkm::size_of(c.dtype);
  const auto bytes = make_batch(c.problems, c.n, c.d, std::max<std::int64_t>(2, c.k / 2), c.spread, c.dtype, seed);
  std::vector<double> w(std::size_t(c.problems * c.n));
  std::mt19937_64 g(seed + 1);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = (i % 7 == 3) ? 0.0 : 0.5 + double(g() % 1000) / 500.0;
  std::vector<double> given;
  fkm::KMeansParams p;
  p.k = c.k;
  p.backend = fkm::BackendKind::Cuda;
  p.metric = c.metric;
  p.precision = c.precision;
  p.init = c.init;
  p.n_init = c.n_init;
  p.tol = c.tol;
  p.max_iter = c.max_iter;
  p.seed = seed;
  p.empty_clusters = c.empties;
  fkm::BatchedFitOptions o;
  if (c.weighted) o.weights = fkm::host_batched_vector(w.data(), c.problems, c.n);
  if (c.far_given) {  // per problem: its first k - 2 rows, and two centroids far from everything
    p.init = fkm::Init::Given;
    given.assign(std::size_t(c.problems * c.k * c.d), 0.0);
    for (std::int64_t b = 0; b < c.problems; ++b)
      for (std::int64_t j = 0; j < c.k; ++j)
        for (std::int64_t f = 0; f < c.d; ++f) {
          double v = 50.0 * double(j + 1);
          if (j < c.k - 2) {
            const std::size_t e = std::size_t((b * c.n + j * 3) * c.d + f);
            switch (c.dtype) {
              case fkm::DType::F64: v = reinterpret_cast<const double*>(bytes.data())[e]; break;
              case fkm::DType::F32: v = reinterpret_cast<const float*>(bytes.data())[e]; break;
              case fkm::DType::F16: v = fkm::to_float(reinterpret_cast<const fkm::half*>(bytes.data())[e]); break;
              case fkm::DType::BF16: v = fkm::to_float(reinterpret_cast<const fkm::bfloat16*>(bytes.data())[e]); break;
            }
          }
          given[std::size_t((b * c.k + j) * c.d + f)] = v;
        }
    o.initial_centroids = fkm::host_batched_view(given.data(), c.problems, c.k, c.d);
  }
  const fkm::BatchedMatrixView host = fkm::host_batched_view(bytes.data(), c.problems, c.n, c.d, c.dtype);
  std::vector<fkm::KMeansResult> alone;
  try {
    for (std::int64_t b = 0; b < c.problems; ++b) {
      fkm::KMeansParams one = p;
      if (c.far_given) one.initial_centroids = o.initial_centroids.problem(b);
      alone.push_back(fkm::fit(host.problem(b), one, c.weighted ? o.weights.problem(b) : fkm::VectorView{}));
    }
  } catch (const std::exception& e) {
    fail(describe(c, "fit alone") + ": " + e.what());
    return;
  }
  auto against = [&](const fkm::BatchedMatrixView& x, const char* where) {
    try {
      const auto batched = fkm::fit_batched(x, p, o);
      if (std::int64_t(batched.size()) != c.problems) return fail(describe(c, where) + ": result count");
      for (std::int64_t b = 0; b < c.problems; ++b)
        compare(batched[std::size_t(b)], alone[std::size_t(b)], describe(c, where) + " problem " + std::to_string(b));
    } catch (const std::exception& e) {
      fail(describe(c, where) + ": " + e.what());
    }
  };
  against(host, "host");
  // Device data need device weights (fit_batched's rule: one memory space); the device views
  // run unweighted cases only.
  if (!c.device_views || c.weighted) return;
  // device views: contiguous (used in place when aligned) and with a padded batch stride (copied)
  const std::int64_t stride = c.n * c.d + 8;
  void* dev = nullptr;
  if (cudaMalloc(&dev, std::size_t(c.problems * stride) * es) != cudaSuccess) return fail("cudaMalloc");
  cudaMemcpy(dev, bytes.data(), bytes.size(), cudaMemcpyHostToDevice);
  fkm::BatchedMatrixView dv{dev, c.problems, c.n, c.d, c.d, c.n * c.d, c.dtype, fkm::MemorySpace::Device, 0};
  against(dv, "device");
  for (std::int64_t b = 0; b < c.problems; ++b)
    cudaMemcpy(static_cast<unsigned char*>(dev) + std::size_t(b * stride) * es, bytes.data() + std::size_t(b * c.n * c.d) * es,
               std::size_t(c.n * c.d) * es, cudaMemcpyHostToDevice);
  dv.batch_stride = stride;
  against(dv, "device strided");
  cudaFree(dev);
}

/// A problem whose inertia overflows fails as its fit alone fails, named, after the problems
/// before it; problems after it do not matter.
void check_failure() {
  const std::int64_t problems = 3, n = 40, d = 2;
  std::vector<double> x(std::size_t(problems * n * d));
  std::mt19937_64 g(5);
  for (auto& v : x) v = double(g() % 1000) / 100.0;
  for (std::int64_t i = 0; i < n; ++i) x[std::size_t((1 * n + i) * d)] = (i % 2 ? 1 : -1) * 1.5e308;  // problem 1
  fkm::KMeansParams p;
  p.k = 3;
  p.backend = fkm::BackendKind::Cuda;
  const auto batch = fkm::host_batched_view(x.data(), problems, n, d);
  std::string alone, batched;
  try {
    fkm::fit(batch.problem(0), p);
    fkm::fit(batch.problem(1), p);
  } catch (const fkm::Error& e) {
    std::string msg = e.what();
    if (msg.rfind("data: ", 0) == 0) msg.erase(0, 6);  // as fit_batched names a problem
    alone = "problem 1: " + msg;
  }
  try {
    fkm::fit_batched(batch, p);
  } catch (const fkm::Error& e) {
    batched = e.what();
  }
  if (alone.empty()) return;  // nothing overflowed here: nothing to compare
  if (batched != alone) fail("failure: batched '" + batched + "' vs alone '" + alone + "'");
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string mode = argc > 1 ? argv[1] : "full";
  bool have_gpu = false;
  for (const auto& b : fkm::list_backends()) have_gpu |= b.kind == fkm::BackendKind::Cuda && !b.devices.empty();
  if (!have_gpu) {
    std::printf("no CUDA device: skipped\n");
    return 77;  // ctest SKIP_RETURN_CODE
  }
  using fkm::DType;
  using fkm::Metric;
  using fkm::Precision;
  std::uint64_t seed = 1;
  if (mode == "tiny") {  // small enough for compute-sanitizer: every batched kernel runs
    for (Precision pr : {Precision::Exact, Precision::Fast})
      for (DType t : {DType::F16, DType::F32}) {
        Case c{3, 97, 13, 7, t, Metric::L2, pr};
        c.weighted = true;
        c.n_init = 2;
        c.max_iter = 4;
        c.device_views = t == DType::F16;
        check_case(c, seed++);
        c.far_given = true;  // empties: the reseed
        c.device_views = false;
        check_case(c, seed++);
      }
    std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
    return failures ? 1 : 0;
  }
  for (DType t : {DType::F16, DType::BF16, DType::F32, DType::F64})
    for (Metric m : {Metric::L2, Metric::Cosine, Metric::InnerProduct})
      for (Precision pr : {Precision::Exact, Precision::Fast}) {
        Case c{4, 301, 37, 17, t, m, pr};
        c.weighted = (seed % 2) == 0;
        c.n_init = (seed % 3) == 0 ? 2 : 1;
        c.init = (seed % 3) == 1 ? fkm::Init::Random : fkm::Init::KMeansPlusPlus;
        check_case(c, seed++);
      }
  for (DType t : {DType::F16, DType::F32})
    for (Precision pr : {Precision::Exact, Precision::Fast}) {
      // several row tiles and update chunks per problem, N not a multiple of either
      check_case(Case{3, 20001, 128, 300, t, Metric::L2, pr}, seed++);
      // empty clusters: reseeded, and kept
      Case e{4, 203, 5, 9, t, Metric::L2, pr};
      e.far_given = true;
      check_case(e, seed++);
      e.empties = fkm::EmptyClusterPolicy::KeepOld;
      check_case(e, seed++);
      // more clusters than distinct points: duplicates, empties from k-means++ too
      Case dup{3, 500, 5, 6, t, Metric::L2, pr};
      dup.spread = 0;
      dup.init = fkm::Init::Random;
      check_case(dup, seed++);
      // K = 1, K = N, D = 1, D = 2049
      check_case(Case{3, 50, 6, 1, t, Metric::L2, pr}, seed++);
      check_case(Case{3, 23, 5, 23, t, Metric::Cosine, pr}, seed++);
      check_case(Case{2, 60, 1, 4, t, Metric::InnerProduct, pr}, seed++);
      check_case(Case{2, 129, 2049, 7, t, Metric::L2, pr}, seed++);
    }
  {  // tol = 0: every problem runs max_iter
    Case c{5, 1000, 64, 40, DType::BF16, Metric::L2, Precision::Exact};
    c.tol = 0;
    check_case(c, seed++);
  }
  check_failure();
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
  return failures ? 1 : 0;
}
