// fkm_mpi_fit_test: run under mpirun with any number of processes.
//
//   fkm_mpi_fit_test fit BACKEND OUT.bin [THREADS]
//       Fits a set of awkward cases (odd sizes, K = 1, K = N, weights with zeros, duplicates and
//       empty clusters, every metric and init, fp16/fp32/fp64, an empty shard), each split
//       unevenly across the processes; checks each result against the fp64 reference oracle
//       on the whole data; rank 0 writes every result's bits (centroids, labels, inertia,
//       history) to OUT.bin. CTest then compares OUT.bin byte for byte across process counts.
//       THREADS: 0 (default) gives rank r 1 + r % 2 threads.
//   fkm_mpi_fit_test bad BACKEND
//       Bad input on one process (NaN, negative weight, wrong shapes, different options, an
//       interrupt): every process must get the same fkm::Error, none may hang.
//   fkm_mpi_fit_test write-npy PATH N D NAN_ROW [PROBLEMS]
//       Writes blobs as an N x D float32 .npy (a NaN in row NAN_ROW when >= 0): the data of
//       the `mpirun fkm fit` tests (mpi_cli_test.cmake); with PROBLEMS, a (PROBLEMS, N, D) batch
//       of that matrix repeated. Needs no mpirun.
//   fkm_mpi_fit_test exit2 BACKEND
//       A NaN on the last process: every process exits with status 2, rank 0 prints one
//       "fkm: error: ..." line (what the CLI does).
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "fkm/distributed.hpp"
#include "fkm/error.hpp"
#include "fkm/fkm.hpp"
#include "fkm/io.hpp"

namespace {

int g_rank = 0, g_size = 1;
int g_failures = 0;

void fail(const std::string& what) {
  std::fprintf(stderr, "rank %d: FAIL: %s\n", g_rank, what.c_str());
  ++g_failures;
}

/// Deterministic uniform in [0, 1) from (seed, i): data identical on every process.
double uniform(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t z = seed * 0x9e3779b97f4a7c15ull + i + 0x632be59bd9b4e019ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return double(z >> 11) * 0x1.0p-53;
}

struct Case {
  std::string name;
  std::int64_t n, d, k;
  fkm::DType dtype = fkm::DType::F32;
  fkm::Metric metric = fkm::Metric::L2;
  fkm::Init init = fkm::Init::KMeansPlusPlus;
  int n_init = 1, max_iter = 50;
  double tol = 1e-4;
  bool weights = false;         // weights in [0, 3) with every 7th zero
  int distinct = 0;             // > 0: only this many distinct points (duplicates, empties)
  bool oracle_given = false;    // Given init: the whole fit must match the reference oracle
  fkm::EmptyClusterPolicy empty = fkm::EmptyClusterPolicy::ReseedFarthest;
};

/// Blobs: k centres in [-5, 5]^d, points = centre + noise.
std::vector<double> make_data(const Case& c) {
  std::vector<double> x(c.n * c.d);
  const std::int64_t blobs = c.distinct > 0 ? c.distinct : c.k;
  for (std::int64_t i = 0; i < c.n; ++i) {
    const std::int64_t b = (i * 7919) % blobs;
    for (std::int64_t f = 0; f < c.d; ++f) {
      const double centre = 10 * uniform(1000 + b, f) - 5;
      const double noise = c.distinct > 0 ? 0.0 : (uniform(c.n + 17, i * c.d + f) - 0.5) * 2.5;
      x[i * c.d + f] = centre + noise;
    }
  }
  return x;
}

std::vector<double> make_weights(const Case& c) {
  std::vector<double> w(c.n);
  for (std::int64_t i = 0; i < c.n; ++i) w[i] = i % 7 == 3 ? 0.0 : 3 * uniform(99, i);
  return w;
}

/// Uneven shards: rank r holds rows [n r^2 / R^2, n (r+1)^2 / R^2).
std::int64_t shard_begin(std::int64_t n, int r) { return n * r * r / (std::int64_t(g_size) * g_size); }

/// The data in the case's dtype (stored as bytes).
std::vector<unsigned char> encode(const std::vector<double>& x, fkm::DType t) {
  std::vector<unsigned char> out(x.size() * fkm::size_of(t));
  for (std::size_t i = 0; i < x.size(); ++i) {
    switch (t) {
      case fkm::DType::F32: { const float v = float(x[i]); std::memcpy(&out[i * 4], &v, 4); break; }
      case fkm::DType::F64: std::memcpy(&out[i * 8], &x[i], 8); break;
      case fkm::DType::F16: { const fkm::half v = fkm::to_half(float(x[i])); std::memcpy(&out[i * 2], &v, 2); break; }
      case fkm::DType::BF16: { const fkm::bfloat16 v = fkm::to_bfloat16(float(x[i])); std::memcpy(&out[i * 2], &v, 2); break; }
    }
  }
  return out;
}

/// Gathers every process's labels (in rank order) on rank 0.
std::vector<std::int32_t> gather_labels(const std::vector<std::int32_t>& mine, std::int64_t n) {
  std::vector<int> counts(g_size), displs(g_size);
  const int count = int(mine.size());
  MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  for (int r = 1; r < g_size; ++r) displs[r] = displs[r - 1] + counts[r - 1];
  std::vector<std::int32_t> all(g_rank == 0 ? n : 0);
  MPI_Gatherv(mine.data(), count, MPI_INT32_T, all.data(), counts.data(), displs.data(), MPI_INT32_T, 0, MPI_COMM_WORLD);
  return all;
}

template <class T>
void put(std::vector<char>& out, const T& v) {
  const char* p = reinterpret_cast<const char*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

double dist(const double* x, const double* c, std::int64_t d, fkm::Metric m) {
  double s = 0, dot = 0, nx = 0, nc = 0;
  for (std::int64_t f = 0; f < d; ++f) {
    s += (x[f] - c[f]) * (x[f] - c[f]);
    dot += x[f] * c[f];
    nx += x[f] * x[f];
    nc += c[f] * c[f];
  }
  if (m == fkm::Metric::L2) return s;
  if (m == fkm::Metric::InnerProduct) return -dot;
  return 1 - dot / std::sqrt(nx * nc);
}

/// Rank 0: labels may differ from the oracle's only at near-ties (both centroids at the same
/// distance up to the arithmetic's error).
void check_labels(const Case& c, const std::vector<double>& x, const std::vector<double>& centroids,
                  const std::vector<std::int32_t>& got, const std::vector<std::int32_t>& want, const char* what) {
  std::int64_t bad = 0;
  for (std::int64_t i = 0; i < c.n; ++i) {
    if (got[i] == want[i]) continue;
    const double* xi = &x[i * c.d];
    const double a = dist(xi, &centroids[got[i] * c.d], c.d, c.metric);
    const double b = dist(xi, &centroids[want[i] * c.d], c.d, c.metric);
    double scale = 1;
    for (std::int64_t f = 0; f < c.d; ++f) scale += xi[f] * xi[f];
    if (std::fabs(a - b) > 1e-5 * scale) ++bad;
  }
  if (bad) fail(c.name + ": " + what + ": " + std::to_string(bad) + " labels differ from the oracle beyond near-ties");
}

void run_case(const Case& c, fkm::BackendKind backend, int threads, std::vector<char>& out) {
  const std::vector<double> x = make_data(c);
  // The oracle sees exactly the values the fit sees (rounded to the dtype).
  const std::vector<unsigned char> bytes = encode(x, c.dtype);
  std::vector<double> xr(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    switch (c.dtype) {
      case fkm::DType::F32: { float v; std::memcpy(&v, &bytes[i * 4], 4); xr[i] = v; break; }
      case fkm::DType::F64: xr[i] = x[i]; break;
      case fkm::DType::F16: { fkm::half v; std::memcpy(&v, &bytes[i * 2], 2); xr[i] = fkm::to_float(v); break; }
      case fkm::DType::BF16: { fkm::bfloat16 v; std::memcpy(&v, &bytes[i * 2], 2); xr[i] = fkm::to_float(v); break; }
    }
  }
  const std::vector<double> w = c.weights ? make_weights(c) : std::vector<double>{};
  const std::int64_t b0 = shard_begin(c.n, g_rank), b1 = shard_begin(c.n, g_rank + 1);
  const std::size_t es = fkm::size_of(c.dtype);
  const fkm::MatrixView local{b1 > b0 ? bytes.data() + b0 * c.d * es : nullptr, b1 - b0, c.d, c.d, c.dtype};
  const fkm::VectorView local_w = c.weights ? fkm::host_vector(w.data() + b0, b1 - b0) : fkm::VectorView{};

  fkm::KMeansParams p;
  p.k = c.k;
  p.init = c.init;
  p.n_init = c.n_init;
  p.max_iter = c.max_iter;
  p.tol = c.tol;
  p.seed = 7;
  p.metric = c.metric;
  p.empty_clusters = c.empty;
  p.backend = backend;
  p.num_threads = threads > 0 ? threads : 1 + g_rank % 2;
  std::vector<double> given;
  if (c.init == fkm::Init::Given) {
    for (std::int64_t j = 0; j < c.k; ++j)
      for (std::int64_t f = 0; f < c.d; ++f) given.push_back(xr[((j * 37) % c.n) * c.d + f] + 0.25);
    p.initial_centroids = fkm::host_view(given.data(), c.k, c.d);
  }

  fkm::KMeansResult r;
  try {
    r = fkm::fit_distributed(MPI_COMM_WORLD, local, p, local_w);
  } catch (const fkm::Error& e) {
    fail(c.name + ": unexpected error: " + e.what());
    return;
  }
  if (std::int64_t(r.labels.size()) != b1 - b0) fail(c.name + ": wrong number of local labels");
  const std::vector<std::int32_t> labels = gather_labels(r.labels, c.n);
  if (g_rank != 0) return;

  // Oracle 1: the final labels and inertia are those of the final centroids.
  fkm::KMeansParams ref = p;
  ref.backend = fkm::BackendKind::Reference;
  ref.num_threads = 0;
  fkm::KMeans oracle(ref);
  oracle.set_centroids(r.centroids, c.k, c.d);
  const auto xv = fkm::host_view(xr.data(), c.n, c.d);
  const auto wv = c.weights ? fkm::host_vector(w.data(), c.n) : fkm::VectorView{};
  check_labels(c, xr, r.centroids, labels, oracle.predict(xv), "final labels");
  const double inertia = -oracle.score(xv, wv);
  if (std::fabs(inertia - r.inertia) > 1e-9 * std::fabs(inertia) + 1e-12)
    fail(c.name + ": inertia " + std::to_string(r.inertia) + " but the oracle gives " + std::to_string(inertia));
  // Oracle 2: from given centroids the whole fit is the reference's.
  if (c.oracle_given) {
    const fkm::KMeansResult o = fkm::fit(xv, ref, wv);
    if (o.n_iter != r.n_iter) fail(c.name + ": " + std::to_string(r.n_iter) + " iterations, oracle " + std::to_string(o.n_iter));
    double worst = 0;
    for (std::size_t t = 0; t < o.centroids.size(); ++t) worst = std::max(worst, std::fabs(o.centroids[t] - r.centroids[t]));
    if (worst > 1e-9) fail(c.name + ": centroids differ from the oracle by " + std::to_string(worst));
    check_labels(c, xr, r.centroids, labels, o.labels, "labels vs oracle fit");
  }

  put(out, std::int64_t(c.name.size()));
  out.insert(out.end(), c.name.begin(), c.name.end());
  put(out, r.n_iter);
  put(out, int(r.stop_reason));
  put(out, r.best_init);
  put(out, r.inertia);
  put(out, r.tol_absolute);
  for (double v : r.centroids) put(out, v);
  for (std::int32_t l : labels) put(out, l);
  for (const auto& h : r.history) {
    put(out, h.inertia);
    put(out, h.shift);
    put(out, h.n_empty);
  }
}

std::vector<Case> cases() {
  using fkm::DType;
  using fkm::Init;
  using fkm::Metric;
  std::vector<Case> v;
  { Case c{"l2-kmeans++-f32", 601, 7, 13}; c.n_init = 2; v.push_back(c); }
  { Case c{"cosine-random-weighted-f64", 457, 5, 9}; c.dtype = DType::F64; c.metric = Metric::Cosine; c.init = Init::Random; c.weights = true; v.push_back(c); }
  { Case c{"ip-kmeans||-f32", 389, 3, 6}; c.metric = Metric::InnerProduct; c.init = Init::KMeansParallel; c.max_iter = 10; v.push_back(c); }
  { Case c{"l2-kmeans||-weighted-f64", 523, 11, 17}; c.dtype = DType::F64; c.init = Init::KMeansParallel; c.weights = true; v.push_back(c); }
  { Case c{"duplicates-empty-clusters", 50, 4, 6}; c.distinct = 3; c.init = Init::Random; c.max_iter = 5; c.tol = 0; v.push_back(c); }
  { Case c{"k1-d1", 33, 1, 1}; v.push_back(c); }
  { Case c{"k-equals-n", 17, 4, 17}; c.dtype = DType::F64; v.push_back(c); }
  { Case c{"given-oracle-f64", 301, 6, 8}; c.dtype = DType::F64; c.init = Init::Given; c.tol = 0; c.max_iter = 7; c.oracle_given = true; v.push_back(c); }
  { Case c{"given-oracle-weighted-cosine-f64", 277, 5, 7}; c.dtype = DType::F64; c.metric = Metric::Cosine; c.init = Init::Given; c.weights = true; c.tol = 0; c.max_iter = 6; c.oracle_given = true; v.push_back(c); }
  { Case c{"l2-kmeans++-f16", 211, 9, 5}; c.dtype = DType::F16; v.push_back(c); }
  { Case c{"tiny-with-empty-shard", 5, 2, 3}; c.dtype = DType::F64; v.push_back(c); }
  { Case c{"bf16-keep-old-empties", 64, 6, 7}; c.dtype = DType::BF16; c.distinct = 4; c.init = Init::Random; c.empty = fkm::EmptyClusterPolicy::KeepOld; c.tol = 0; c.max_iter = 4; v.push_back(c); }
  { Case c{"several-sum-blocks", 140001, 2, 3}; c.max_iter = 3; c.tol = 0; c.weights = true; v.push_back(c); }
  { Case c{"random-n_init-3-weighted", 263, 4, 5}; c.init = Init::Random; c.n_init = 3; c.weights = true; v.push_back(c); }
  return v;
}

int mode_fit(fkm::BackendKind backend, const std::string& path, int threads) {
  std::vector<char> out;
  for (const Case& c : cases()) run_case(c, backend, threads, out);
  int failures = g_failures;
  MPI_Allreduce(MPI_IN_PLACE, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (g_rank == 0 && failures == 0) {
    const std::string tmp = path + ".tmp";
    std::ofstream f(tmp, std::ios::binary);
    f.write(out.data(), std::streamsize(out.size()));
    f.close();
    if (!f || std::rename(tmp.c_str(), path.c_str()) != 0) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return failures == 0 ? 0 : 1;
}

/// One bad-input scenario: `expect` must appear in the error every process gets.
template <class Run>
void expect_error(const std::string& name, fkm::ErrorCode code, const std::string& expect, const Run& run) {
  try {
    run();
    fail(name + ": no error");
  } catch (const fkm::Error& e) {
    if (e.code() != code) fail(name + ": error code " + fkm::to_string(e.code()) + ", expected " + fkm::to_string(code));
    if (std::string(e.what()).find(expect) == std::string::npos)
      fail(name + ": message '" + e.what() + "' lacks '" + expect + "'");
  }
}

int mode_bad(fkm::BackendKind backend) {
  const std::int64_t n = 97, d = 3;
  std::vector<double> x(n * d), w(n, 1.0);
  for (std::int64_t i = 0; i < n * d; ++i) x[i] = uniform(5, i);
  const std::int64_t b0 = shard_begin(n, g_rank), b1 = shard_begin(n, g_rank + 1);
  const int last = g_size - 1;
  fkm::KMeansParams p;
  p.k = 4;
  p.backend = backend;
  p.max_iter = 5;
  auto fit = [&](const std::vector<double>& data, const fkm::KMeansParams& prm, const fkm::VectorView& wv, std::int64_t cols) {
    fkm::fit_distributed(MPI_COMM_WORLD, fkm::host_view(data.data() + b0 * d, b1 - b0, cols), prm, wv);
  };

  {  // NaN on the last process: the message names the global row.
    std::vector<double> y = x;
    const std::int64_t row = shard_begin(n, last) + 1;
    y[row * d + 2] = std::nan("");
    expect_error("nan", fkm::ErrorCode::InvalidData, "at row " + std::to_string(row) + ", column 2",
                 [&] { fit(y, p, {}, d); });
  }
  {  // a negative weight on the last process
    std::vector<double> v = w;
    const std::int64_t row = n - 2;
    v[row] = -1;
    expect_error("negative weight", fkm::ErrorCode::InvalidData, "weights: value at row " + std::to_string(row),
                 [&] { fit(x, p, fkm::host_vector(v.data() + b0, b1 - b0), d); });
  }
  expect_error("k > n", fkm::ErrorCode::InvalidArgument, "k = 98 is larger than the number of points (97)", [&] {
    fkm::KMeansParams q = p;
    q.k = 98;
    fit(x, q, {}, d);
  });
  expect_error("k > points of positive weight", fkm::ErrorCode::InvalidArgument, "positive weight (2)", [&] {
    std::vector<double> v(n, 0.0);
    v[0] = v[n - 1] = 1;
    fit(x, p, fkm::host_vector(v.data() + b0, b1 - b0), d);
  });
  expect_error("weights of the wrong size on one process", fkm::ErrorCode::InvalidData, "weights have", [&] {
    fit(x, p, fkm::host_vector(w.data() + b0, (b1 - b0) + (g_rank == last ? 1 : 0)), d);
  });
  expect_error("bad option", fkm::ErrorCode::InvalidArgument, "max_iter must be at least 1", [&] {
    fkm::KMeansParams q = p;
    q.max_iter = 0;
    fit(x, q, {}, d);
  });
  if (g_size > 1) {
    expect_error("different seed on one process", fkm::ErrorCode::InvalidArgument, "differ between processes", [&] {
      fkm::KMeansParams q = p;
      if (g_rank == last) q.seed = 99;
      fit(x, q, {}, d);
    });
    expect_error("different columns on one process", fkm::ErrorCode::InvalidArgument, "differ between processes",
                 [&] { fit(x, p, {}, g_rank == last ? d - 1 : d); });
  }
  if (g_size > 1) {
    expect_error("different dtype on one process", fkm::ErrorCode::InvalidArgument, "differ between processes", [&] {
      std::vector<float> xf(x.begin(), x.end());
      if (g_rank == last)
        fkm::fit_distributed(MPI_COMM_WORLD, fkm::host_view(xf.data() + b0 * d, b1 - b0, d), p);
      else
        fit(x, p, {}, d);
    });
  }
  expect_error("interrupt on one process", fkm::ErrorCode::Interrupted, "interrupted", [&] {
    fkm::KMeansParams q = p;
    q.tol = 0;
    q.on_iteration = [&](int, int iter, const fkm::IterationRecord&) { return !(g_rank == last && iter == 2); };
    fit(x, q, {}, d);
  });
  expect_error("callback throws on one process", fkm::ErrorCode::Internal, "callback failed", [&] {
    fkm::KMeansParams q = p;
    q.tol = 0;
    q.on_iteration = [&](int, int iter, const fkm::IterationRecord&) -> bool {
      if (g_rank == last && iter == 1) throw std::runtime_error("callback failed");
      return true;
    };
    fit(x, q, {}, d);
  });
  expect_error("all_or_none: a program's own step fails on one process", fkm::ErrorCode::Io, "cannot read shard", [&] {
    fkm::all_or_none(MPI_COMM_WORLD, [&] {
      if (g_rank == last) throw fkm::Error(fkm::ErrorCode::Io, "cannot read shard");
    });
  });
  try {
    fkm::all_or_none(MPI_COMM_WORLD, [] {});
  } catch (const fkm::Error& e) {
    fail(std::string("all_or_none of a step that succeeds everywhere threw: ") + e.what());
  }
  // After all that, a good fit still works (no process is out of step).
  try {
    fit(x, p, {}, d);
  } catch (const fkm::Error& e) {
    fail(std::string("good fit after errors: ") + e.what());
  }
  int failures = g_failures;
  MPI_Allreduce(MPI_IN_PLACE, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return failures == 0 ? 0 : 1;
}

int mode_exit2(fkm::BackendKind backend) {
  const std::int64_t n = 41, d = 2;
  std::vector<double> x(n * d, 1.0);
  x[(n - 1) * d] = INFINITY;
  const std::int64_t b0 = shard_begin(n, g_rank), b1 = shard_begin(n, g_rank + 1);
  fkm::KMeansParams p;
  p.k = 2;
  p.backend = backend;
  try {
    fkm::fit_distributed(MPI_COMM_WORLD, fkm::host_view(x.data() + b0 * d, b1 - b0, d), p);
  } catch (const fkm::Error& e) {
    if (g_rank == 0) std::fprintf(stderr, "fkm: error: %s\n", e.what());
    return 2;
  }
  return 0;
}

int mode_write_npy(const std::string& path, std::int64_t n, std::int64_t d, std::int64_t nan_row, std::int64_t problems) {
  Case c{"file", n, d, 11};
  const std::vector<double> x = make_data(c);
  std::vector<float> xf(x.begin(), x.end());
  if (nan_row >= 0 && nan_row < n) xf[nan_row * d] = std::nanf("");
  if (problems <= 0) {
    fkm::io::save_npy(path, fkm::io::ElementType::F32, {n, d}, xf.data());
    return 0;
  }
  std::vector<float> batch;
  for (std::int64_t b = 0; b < problems; ++b) batch.insert(batch.end(), xf.begin(), xf.end());
  fkm::io::save_npy(path, fkm::io::ElementType::F32, {problems, n, d}, batch.data());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if ((argc == 6 || argc == 7) && std::string(argv[1]) == "write-npy") {  // no MPI needed
    try {
      return mode_write_npy(argv[2], std::atoll(argv[3]), std::atoll(argv[4]), std::atoll(argv[5]),
                            argc == 7 ? std::atoll(argv[6]) : 0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
  }
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  int rc = 2;
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    const fkm::BackendKind backend = fkm::parse_backend(argc > 2 ? argv[2] : "cpu");
    bool usable = false;  // a GPU backend built on a machine without its GPU: skip (ctest SKIP_REGULAR_EXPRESSION)
    for (const auto& b : fkm::list_backends())
      if (b.kind == backend) usable = b.compiled && !b.devices.empty();
    if (!usable && (mode == "fit" || mode == "bad" || mode == "exit2")) {
      if (mode == "fit" && argc > 3 && g_rank == 0) std::remove(argv[3]);  // no stale result for the comparisons
      if (g_rank == 0) std::printf("SKIP: backend %s has no usable device here\n", argv[2]);
      MPI_Finalize();
      return 0;
    }
    if (mode == "fit" && argc > 3) rc = mode_fit(backend, argv[3], argc > 4 ? std::atoi(argv[4]) : 0);
    else if (mode == "bad") rc = mode_bad(backend);
    else if (mode == "exit2") rc = mode_exit2(backend);
    else std::fprintf(stderr, "usage: fkm_mpi_fit_test fit|bad|exit2 BACKEND [OUT.bin [THREADS]] | write-npy PATH N D NAN_ROW [PROBLEMS]\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", g_rank, e.what());
    rc = 1;
  }
  MPI_Finalize();
  return rc;
}
