#include "support.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace fkm_test {

std::vector<fkm::BackendKind> backends_under_test() {
  const char* only = std::getenv("FKM_TEST_BACKENDS");
  std::vector<fkm::BackendKind> out;
  for (const auto& b : fkm::list_backends()) {
    if (!b.compiled || b.devices.empty() || b.kind == fkm::BackendKind::Reference) continue;
    if (only && std::string(only).find(b.name) == std::string::npos) continue;
    out.push_back(b.kind);
  }
  return out;
}

std::vector<fkm::BackendKind> backends_with_reference() {
  auto out = backends_under_test();
  out.push_back(fkm::BackendKind::Reference);
  return out;
}

std::vector<double> uniform_data(std::int64_t n, std::int64_t d, std::uint64_t seed, double lo, double hi) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> x(n * d);
  for (auto& v : x) v = u(gen);
  return x;
}

std::vector<double> blob_data(std::int64_t n, std::int64_t d, std::int64_t centres, double scale, std::uint64_t seed) {
  const auto c = uniform_data(centres, d, seed + 1, -scale, scale);
  auto x = uniform_data(n, d, seed, -1, 1);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t f = 0; f < d; ++f) x[i * d + f] += c[(i % centres) * d + f];
  return x;
}

std::vector<double> random_weights(std::int64_t n, std::uint64_t seed, std::int64_t zero_every) {
  auto w = uniform_data(n, 1, seed, 0.5, 2.0);
  if (zero_every > 0)
    for (std::int64_t i = 0; i < n; i += zero_every) w[i] = 0;
  return w;
}

TypedData as_dtype(const std::vector<double>& values, std::int64_t n, std::int64_t d, fkm::DType dtype) {
  TypedData t{dtype, n, d, {}, {}, {}, {}, {}};
  t.exact.resize(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    switch (dtype) {
      case fkm::DType::F32: t.f32.push_back(float(values[i])); t.exact[i] = t.f32.back(); break;
      case fkm::DType::F64: t.f64.push_back(values[i]); t.exact[i] = values[i]; break;
      case fkm::DType::F16: t.f16.push_back(fkm::to_half(float(values[i]))); t.exact[i] = fkm::to_float(t.f16.back()); break;
      case fkm::DType::BF16:
        t.bf16.push_back(fkm::to_bfloat16(float(values[i])));
        t.exact[i] = fkm::to_float(t.bf16.back());
        break;
    }
  }
  return t;
}

fkm::MatrixView TypedData::view() const {
  switch (dtype) {
    case fkm::DType::F32: return fkm::host_view(f32.data(), n, d);
    case fkm::DType::F64: return fkm::host_view(f64.data(), n, d);
    case fkm::DType::F16: return fkm::host_view(f16.data(), n, d);
    case fkm::DType::BF16: return fkm::host_view(bf16.data(), n, d);
  }
  return {};
}

fkm::BatchedMatrixView batch_of(const fkm::MatrixView& all, std::int64_t problems) {
  const std::int64_t n = all.rows / problems;
  return fkm::BatchedMatrixView{all.data, problems, n, all.cols, all.row_stride, n * all.row_stride, all.dtype,
                                all.space, all.device};
}

namespace {
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}
}  // namespace

void check_same_result(const fkm::KMeansResult& got, const fkm::KMeansResult& want) {
  CHECK(got.n == want.n);
  CHECK(got.d == want.d);
  CHECK(got.k == want.k);
  CHECK(same_bits(got.centroids, want.centroids));
  CHECK(got.labels == want.labels);
  CHECK(std::memcmp(&got.inertia, &want.inertia, sizeof(double)) == 0);
  CHECK(got.n_iter == want.n_iter);
  CHECK(got.converged == want.converged);
  CHECK(got.stop_reason == want.stop_reason);
  CHECK(same_bits(got.initial_centroids, want.initial_centroids));
  REQUIRE(got.history.size() == want.history.size());
  for (std::size_t i = 0; i < got.history.size(); ++i) {
    INFO("iteration " << i);
    CHECK(std::memcmp(&got.history[i].inertia, &want.history[i].inertia, sizeof(double)) == 0);
    CHECK(std::memcmp(&got.history[i].shift, &want.history[i].shift, sizeof(double)) == 0);
    CHECK(got.history[i].n_empty == want.history[i].n_empty);
  }
  CHECK(got.best_init == want.best_init);
  CHECK(std::memcmp(&got.tol_absolute, &want.tol_absolute, sizeof(double)) == 0);
  CHECK(got.backend == want.backend);
  CHECK(got.device == want.device);
}

namespace {
std::vector<double> normalised(const double* v, std::int64_t d) {
  double s = 0;
  for (std::int64_t f = 0; f < d; ++f) s += v[f] * v[f];
  std::vector<double> out(v, v + d);
  if (s > 0)
    for (auto& e : out) e /= std::sqrt(s);
  return out;
}
double norm2(const double* v, std::int64_t d) {
  double s = 0;
  for (std::int64_t f = 0; f < d; ++f) s += v[f] * v[f];
  return s;
}
}  // namespace

double distance(const double* x, const double* c, std::int64_t d, fkm::Metric metric) {
  if (metric == fkm::Metric::L2) {
    double s = 0;
    for (std::int64_t f = 0; f < d; ++f) s += (x[f] - c[f]) * (x[f] - c[f]);
    return s;
  }
  if (metric == fkm::Metric::Cosine) {
    const auto xn = normalised(x, d), cn = normalised(c, d);
    double dot = 0;
    for (std::int64_t f = 0; f < d; ++f) dot += xn[f] * cn[f];
    return 1 - dot;
  }
  double dot = 0;
  for (std::int64_t f = 0; f < d; ++f) dot += x[f] * c[f];
  return -dot;
}

double unit_roundoff(fkm::DType t) { return t == fkm::DType::F64 ? 0x1p-53 : 0x1p-24; }

void check_labels_near_ties(const TypedData& x, const std::vector<double>& centroids, std::int64_t k,
                            const std::vector<std::int32_t>& got, fkm::Metric metric) {
  const std::int64_t d = x.d;
  REQUIRE(std::int64_t(got.size()) == x.n);
  std::int64_t mismatches = 0;
  for (std::int64_t i = 0; i < x.n; ++i) {
    const double* xi = &x.exact[i * d];
    REQUIRE(got[i] >= 0);
    REQUIRE(got[i] < k);
    std::int64_t best = 0;
    double best_d = INFINITY;
    for (std::int64_t j = 0; j < k; ++j) {
      const double dj = distance(xi, &centroids[j * d], d, metric);
      if (dj < best_d) {
        best_d = dj;
        best = j;
      }
    }
    if (got[i] == best) continue;
    // Error bound of a dot-product-based distance in the backend's arithmetic:
    // |err| <= c * D * u * (||x||^2 + ||c_a||^2 + ||c_b||^2) (normalised vectors for cosine).
    const bool unit = metric == fkm::Metric::Cosine;
    const double scale = (unit ? 1.0 : norm2(xi, d)) + (unit ? 2.0 : norm2(&centroids[best * d], d) + norm2(&centroids[got[i] * d], d));
    const double bound = 8.0 * double(d + 2) * unit_roundoff(x.dtype) * scale;
    const double gap = distance(xi, &centroids[std::int64_t(got[i]) * d], d, metric) - best_d;
    INFO("row " << i << ": got label " << got[i] << ", fp64 nearest " << best << ", distance gap " << gap
                << " > bound " << bound);
    CHECK(gap <= bound);
    ++mismatches;
  }
  // Near-ties must stay rare on the random data these tests use.
  CHECK(mismatches <= std::max<std::int64_t>(2, x.n / 100));
}

void check_close(const std::vector<double>& a, const std::vector<double>& b, double tol, const std::string& what) {
  REQUIRE(a.size() == b.size());
  double max_b = 0, max_diff = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    max_b = std::max(max_b, std::abs(b[i]));
    if (std::abs(a[i] - b[i]) > max_diff) {
      max_diff = std::abs(a[i] - b[i]);
      at = i;
    }
  }
  INFO(what << ": max |difference| " << max_diff << " at element " << at << ", tolerance " << tol * (1 + max_b));
  CHECK(max_diff <= tol * (1 + max_b));
}

std::string describe(fkm::BackendKind b) { return fkm::to_string(b); }

void check_error(const std::function<void()>& f, fkm::ErrorCode code, const std::string& needle) {
  try {
    f();
  } catch (const fkm::Error& e) {
    INFO("message: " << e.what());
    CHECK(e.code() == code);
    CHECK(std::string(e.what()).find(needle) != std::string::npos);
    return;
  }
  FAIL("expected fkm::Error(" << fkm::to_string(code) << ") containing '" << needle << "'");
}

}  // namespace fkm_test
