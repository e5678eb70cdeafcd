// fkm_cuda_selfcheck: the CUDA backend against the fp64 reference, through the Backend/Problem
// interface and the public API, on random data of awkward sizes. Exit code 0 when every check
// passes; one line per failure otherwise. Covers what the shared behaviour tests cannot reach:
// device views, the out-of-memory error, and (run with FKM_CUDA_FORCE_SIMT=1) the portable
// SIMT fallback for fp16/bf16 data.
//   fkm_cuda_selfcheck [quick | tiny]   (tiny: a few small steps, for compute-sanitizer)
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

struct Data {
  fkm::DType dtype;
  std::int64_t n, d;
  std::vector<unsigned char> bytes;
  std::vector<double> exact;  // the stored values, widened
  fkm::MatrixView view() const { return fkm::host_view(bytes.data(), n, d, dtype); }
};

Data make_data(std::int64_t n, std::int64_t d, std::int64_t blobs, double spread, fkm::DType t, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> centres(blobs * d);
  for (auto& c : centres) c = 4 * u(g);
  Data out{t, n, d, std::vector<unsigned char>(n * d * fkm::size_of(t)), std::vector<double>(n * d)};
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t f = 0; f < d; ++f) {
      const double v = centres[(i % blobs) * d + f] + spread * u(g);
      const std::int64_t e = i * d + f;
      switch (t) {
        case fkm::DType::F64: reinterpret_cast<double*>(out.bytes.data())[e] = v; out.exact[e] = v; break;
        case fkm::DType::F32: reinterpret_cast<float*>(out.bytes.data())[e] = float(v); out.exact[e] = float(v); break;
        case fkm::DType::F16: {
          const fkm::half h = fkm::to_half(float(v));
          reinterpret_cast<fkm::half*>(out.bytes.data())[e] = h;
          out.exact[e] = fkm::to_float(h);
          break;
        }
        case fkm::DType::BF16: {
          const fkm::bfloat16 h = fkm::to_bfloat16(float(v));
          reinterpret_cast<fkm::bfloat16*>(out.bytes.data())[e] = h;
          out.exact[e] = fkm::to_float(h);
          break;
        }
      }
    }
  return out;
}

double dist(const double* x, const double* c, std::int64_t d, fkm::Metric m) {
  if (m == fkm::Metric::L2) {
    double s = 0;
    for (std::int64_t f = 0; f < d; ++f) s += (x[f] - c[f]) * (x[f] - c[f]);
    return s;
  }
  double dot = 0, xx = 0, cc = 0;
  for (std::int64_t f = 0; f < d; ++f) {
    dot += x[f] * c[f];
    xx += x[f] * x[f];
    cc += c[f] * c[f];
  }
  if (m == fkm::Metric::Cosine) return 1 - dot / (std::sqrt(xx) * std::sqrt(cc) + 1e-300);
  return -dot;
}

/// Labels agree with the reference except at near-ties: the two candidates' fp64 distances
/// differ by less than `rel` times the scale of the terms.
void compare_labels(const Data& x, const std::vector<double>& c, std::int64_t k, const std::vector<std::int32_t>& got,
                    const std::vector<std::int32_t>& want, fkm::Metric m, double rel, const std::string& what) {
  std::int64_t bad = 0, ties = 0;
  for (std::int64_t i = 0; i < x.n; ++i) {
    if (got[i] < 0 || got[i] >= k) {
      ++bad;
      continue;
    }
    if (got[i] == want[i]) continue;
    const double* xi = &x.exact[i * x.d];
    const double dg = dist(xi, &c[got[i] * x.d], x.d, m), dw = dist(xi, &c[want[i] * x.d], x.d, m);
    double scale = 0;
    for (std::int64_t f = 0; f < x.d; ++f) scale += xi[f] * xi[f] + c[got[i] * x.d + f] * c[got[i] * x.d + f];
    if (m == fkm::Metric::Cosine) scale = 1;
    if (std::fabs(dg - dw) <= rel * (scale + 1e-30)) ++ties;
    else ++bad;
  }
  if (bad) fail(what + ": " + std::to_string(bad) + " labels differ beyond near-ties (" + std::to_string(ties) + " near-ties)");
}

void compare_values(const std::vector<double>& a, const std::vector<double>& b, double tol, const std::string& what) {
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  if (!(worst <= tol * (1 + scale)))
    fail(what + ": max difference " + std::to_string(worst) + " > " + std::to_string(tol) + " * (1 + " + std::to_string(scale) + ")");
}

double roundoff(fkm::DType t, fkm::Precision p) {
  if (t == fkm::DType::F64) return 1e-13;
  if (p == fkm::Precision::Fast) return t == fkm::DType::F32 ? 2e-3 : (t == fkm::DType::F16 ? 2e-3 : 1e-2);
  return 1e-5;
}

/// One assign + accumulate + update step through the Problem interface, CUDA vs reference.
void check_step(const Data& x, std::int64_t k, fkm::Metric metric, fkm::Precision prec, bool weighted, std::uint64_t seed) {
  const std::string what = std::string("step ") + fkm::to_string(x.dtype) + " n=" + std::to_string(x.n) + " d=" +
                           std::to_string(x.d) + " k=" + std::to_string(k) + " " + fkm::to_string(metric) + " " +
                           fkm::to_string(prec) + (weighted ? " weighted" : "");
  std::mt19937_64 g(seed);
  std::vector<double> w(x.n);
  for (std::int64_t i = 0; i < x.n; ++i) w[i] = (i % 7 == 3) ? 0.0 : 0.5 + std::uniform_real_distribution<double>(0, 1.5)(g);
  fkm::ProblemSpec spec;
  spec.x = x.view();
  if (weighted) spec.weights = fkm::host_vector(w.data(), x.n);
  spec.metric = metric;
  spec.precision = prec;
  auto cu = fkm::select_backend(fkm::BackendKind::Cuda).bind(spec);
  auto ref = fkm::select_backend(fkm::BackendKind::Reference).bind(spec);
  // centroids: k distinct data rows, perturbed
  std::vector<double> c(k * x.d);
  for (std::int64_t j = 0; j < k; ++j)
    for (std::int64_t f = 0; f < x.d; ++f) c[j * x.d + f] = x.exact[((j * 7919) % x.n) * x.d + f] + 0.01 * double(j % 5);
  cu->set_centroids(c.data(), k);
  ref->set_centroids(c.data(), k);
  std::vector<double> cn(k * x.d);
  ref->get_centroids(cn.data());  // normalised for cosine
  const double ic = cu->assign(), ir = ref->assign();
  std::vector<std::int32_t> lc(x.n), lr(x.n);
  cu->get_labels(lc.data());
  ref->get_labels(lr.data());
  const double u = roundoff(x.dtype, prec);
  compare_labels(x, cn, k, lc, lr, metric, 8 * u * std::sqrt(double(x.d)), what + " labels");
  if (!(std::fabs(ic - ir) <= 64 * u * std::sqrt(double(x.d)) * (std::fabs(ir) + x.n)))
    fail(what + " inertia " + std::to_string(ic) + " vs " + std::to_string(ir));
  // the update from the same labels: feed the reference's labels? Both use their own; compare
  // only when labels agree exactly (no near-ties), which random data nearly always gives.
  if (lc == lr) {
    cu->accumulate();
    ref->accumulate();
    const auto ec = cu->update(), er = ref->update();
    if (ec != er) fail(what + " empty clusters differ");
    std::vector<double> cc(k * x.d), cr(k * x.d);
    cu->get_centroids(cc.data());
    ref->get_centroids(cr.data());
    compare_values(cc, cr, 1e-9, what + " updated centroids");
    if (!(std::fabs(cu->shift() - ref->shift()) <= 1e-8 * (1 + ref->shift()))) fail(what + " shift");
  }
  std::vector<double> dc(x.n), dr(x.n);
  cu->get_distances(dc.data());
  ref->get_distances(dr.data());
  // distances: fp32 GEMM form; absolute error scales with ||x||^2 + ||c||^2
  double sq = 0;
  for (double v : x.exact) sq = std::max(sq, v * v);
  std::vector<double> dr2 = dr;
  if (lc == lr) compare_values(dc, dr2, 64 * u * (1 + sq * double(x.d)), what + " distances");
}

void check_fit(const Data& x, std::int64_t k, fkm::Metric metric, fkm::Init init, bool weighted) {
  const std::string what = std::string("fit ") + fkm::to_string(x.dtype) + " n=" + std::to_string(x.n) + " d=" +
                           std::to_string(x.d) + " k=" + std::to_string(k) + " " + fkm::to_string(metric) + " init=" +
                           fkm::to_string(init);
  std::vector<double> w(x.n);
  for (std::int64_t i = 0; i < x.n; ++i) w[i] = (i % 11 == 5) ? 0.0 : 1.0 + double(i % 3);
  fkm::KMeansParams p;
  p.k = k;
  p.init = init;
  p.max_iter = 15;
  p.metric = metric;
  p.seed = 7;
  p.backend = fkm::BackendKind::Cuda;
  const fkm::VectorView wv = weighted ? fkm::host_vector(w.data(), x.n) : fkm::VectorView{};
  try {
    const auto a = fkm::fit(x.view(), p, wv);
    const auto b = fkm::fit(x.view(), p, wv);
    if (a.labels != b.labels || std::memcmp(a.centroids.data(), b.centroids.data(), a.centroids.size() * 8) != 0 ||
        a.inertia != b.inertia)
      fail(what + ": two runs differ (not deterministic)");
    p.backend = fkm::BackendKind::Reference;
    const auto r = fkm::fit(x.view(), p, wv);
    // well-separated blobs: both reach a comparable optimum
    if (!(a.inertia <= 1.25 * r.inertia + 1e-9 * x.n))
      fail(what + ": inertia " + std::to_string(a.inertia) + " vs reference " + std::to_string(r.inertia));
    for (std::int32_t l : a.labels)
      if (l < 0 || l >= k) {
        fail(what + ": label out of range");
        break;
      }
  } catch (const std::exception& e) {
    fail(what + ": threw " + e.what());
  }
}

void check_given_fit_matches_reference(const Data& x, std::int64_t k, fkm::Metric metric) {
  const std::string what = std::string("given-init fit ") + fkm::to_string(x.dtype) + " " + fkm::to_string(metric);
  std::vector<double> c0(k * x.d);
  for (std::int64_t j = 0; j < k; ++j)
    for (std::int64_t f = 0; f < x.d; ++f) c0[j * x.d + f] = x.exact[j * x.d + f];
  fkm::KMeansParams p;
  p.k = k;
  p.init = fkm::Init::Given;
  p.initial_centroids = fkm::host_view(c0.data(), k, x.d);
  p.max_iter = 10;
  p.tol = 0;
  p.metric = metric;
  p.backend = fkm::BackendKind::Cuda;
  const auto a = fkm::fit(x.view(), p);
  p.backend = fkm::BackendKind::Reference;
  const auto r = fkm::fit(x.view(), p);
  compare_values(a.centroids, r.centroids, 1e-6, what + " centroids");
  std::int64_t diff = 0;
  for (std::int64_t i = 0; i < x.n; ++i) diff += a.labels[i] != r.labels[i];
  if (diff > x.n / 1000) fail(what + ": " + std::to_string(diff) + " labels differ");
}

void check_device_view() {
  const Data x = make_data(1001, 37, 9, 0.5, fkm::DType::F32, 11);
  void* dev = nullptr;
  if (cudaMalloc(&dev, x.bytes.size()) != cudaSuccess) return fail("device view: cudaMalloc");
  cudaMemcpy(dev, x.bytes.data(), x.bytes.size(), cudaMemcpyHostToDevice);
  fkm::KMeansParams p;
  p.k = 9;
  p.max_iter = 10;
  p.backend = fkm::BackendKind::Cuda;
  try {
    const auto a = fkm::fit(fkm::device_view(static_cast<const float*>(dev), x.n, x.d), p);
    const auto b = fkm::fit(x.view(), p);
    if (a.labels != b.labels || a.centroids != b.centroids) fail("device view: result differs from the host view's");
    p.backend = fkm::BackendKind::Auto;
    const auto c = fkm::fit(fkm::device_view(static_cast<const float*>(dev), x.n, x.d), p);
    if (c.backend != "cuda") fail("device view: auto did not pick cuda");
  } catch (const std::exception& e) {
    fail(std::string("device view: threw ") + e.what());
  }
  cudaFree(dev);
}

void check_out_of_memory() {
  const Data x = make_data(5000, 64, 4, 0.5, fkm::DType::F32, 3);
  fkm::KMeansParams p;
  p.k = 4;
  p.backend = fkm::BackendKind::Cuda;
  p.max_device_bytes = 100000;
  try {
    fkm::fit(x.view(), p);
    fail("out of memory: a 100 kB budget was not refused");
  } catch (const fkm::Error& e) {
    if (e.code() != fkm::ErrorCode::OutOfMemory || std::string(e.what()).find("bytes") == std::string::npos)
      fail(std::string("out of memory: wrong error: ") + e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string mode = argc > 1 ? argv[1] : "full";
  const bool quick = mode != "full";
  bool device = false;  // select_backend would throw without one
  for (const auto& b : fkm::list_backends())
    if (b.kind == fkm::BackendKind::Cuda) device = b.compiled && !b.devices.empty();
  if (!device) {
    std::printf("no CUDA device: skipped\n");
    return 77;  // ctest SKIP_RETURN_CODE
  }
  if (mode == "tiny") {  // small enough for compute-sanitizer: every kernel of a fit runs
    for (fkm::DType t : {fkm::DType::F16, fkm::DType::F32}) {
      const Data x = make_data(597, 43, 18, 1.0, t, 3);
      check_step(x, 37, fkm::Metric::L2, fkm::Precision::Exact, true, 1);
      check_step(x, 37, fkm::Metric::Cosine, fkm::Precision::Exact, false, 2);
      const Data y = make_data(211, 3, 5, 1.0, t, 4);
      check_step(y, 211, fkm::Metric::L2, fkm::Precision::Fast, false, 3);
      check_fit(make_data(300, 8, 4, 0.3, t, 5), 4, fkm::Metric::L2, fkm::Init::KMeansPlusPlus, true);
    }
    check_device_view();
    std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
    return failures ? 1 : 0;
  }
  const fkm::DType dtypes[] = {fkm::DType::F16, fkm::DType::BF16, fkm::DType::F32, fkm::DType::F64};
  const fkm::Metric metrics[] = {fkm::Metric::L2, fkm::Metric::Cosine, fkm::Metric::InnerProduct};
  struct Size { std::int64_t n, d, k; };
  const Size sizes[] = {{597, 43, 37}, {300, 1, 5}, {211, 3, 211}, {129, 2049, 7}, {1000, 96, 1}, {4099, 128, 130}};
  std::uint64_t seed = 1;
  for (fkm::DType t : dtypes)
    for (const Size& s : sizes) {
      if (quick && s.d > 200) continue;
      const Data x = make_data(s.n, s.d, std::max<std::int64_t>(2, s.k / 2), 1.0, t, seed++);
      for (fkm::Metric m : metrics)
        for (fkm::Precision pr : {fkm::Precision::Exact, fkm::Precision::Fast})
          check_step(x, s.k, m, pr, (seed % 2) == 0, seed);
    }
  for (fkm::DType t : dtypes) {
    const Data x = make_data(2003, 24, 10, 0.3, t, 99);
    for (fkm::Metric m : metrics) check_given_fit_matches_reference(x, 10, m);
    for (fkm::Init init : {fkm::Init::KMeansPlusPlus, fkm::Init::Random, fkm::Init::KMeansParallel})
      check_fit(x, 10, fkm::Metric::L2, init, t == fkm::DType::F32);
  }
  {  // empty clusters: many duplicates, more clusters than distinct points in some blobs
    Data x = make_data(500, 5, 3, 0.0, fkm::DType::F32, 5);
    check_fit(x, 6, fkm::Metric::L2, fkm::Init::Random, false);
  }
  if (!quick) {  // large K and a bigger N
    const Data x = make_data(20000, 64, 300, 1.0, fkm::DType::F16, 77);
    check_step(x, 5000, fkm::Metric::L2, fkm::Precision::Exact, true, 5);
    check_step(x, 5000, fkm::Metric::L2, fkm::Precision::Fast, false, 6);
  }
  check_device_view();
  check_out_of_memory();
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
  return failures ? 1 : 0;
}
