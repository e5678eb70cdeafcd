// cpu_bench: times fkm's CPU backend for perf/cpu_suite, and breaks an iteration into its steps.
//
//   cpu_bench fit X.npy C0.npy ITERS [THREADS] [LABELS_OUT.npy|-] [off|hamerly]
//       fkm::fit from the given centroids, tol = 0, exactly ITERS Lloyd iterations, with the
//       given pruning (default off); prints one JSON line: seconds (whole fit), s_per_iter,
//       inertia, n_iter, device, skipped (per iteration: points pruning kept without a search).
//   cpu_bench peak
//       the FMA peak of this machine, all threads, as `fkm bench` measures it (independent FMA
//       chains in registers, the widest ISA this CPU runs); one JSON line: gflops, threads, isa,
//       read_gbps (a streaming read of all threads).
//   cpu_bench predict X.npy C.npy LABELS_OUT.npy
//       labels of the nearest of the given centroids (one assignment), as int32 .npy.
//   cpu_bench steps X.npy C0.npy ITERS [THREADS] [-] [off|hamerly]
//   cpu_bench steps synthetic:N:D:K ITERS [THREADS] [-] [off|hamerly]
//       the Problem interface directly: wall and CPU seconds per iteration of assign,
//       accumulate and update (CPU seconds are robust to other load on a shared machine).
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "fkm/backend.hpp"
#include "fkm/fkm.hpp"
#include "bench_peaks.hpp"
#include "npy_io.hpp"

namespace {

double wall_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

/// Gaussian blobs (unit noise around centres in [-10, 10]^d) and the first k points as C0.
void synthetic(std::int64_t n, std::int64_t d, std::int64_t k, fkm_perf::NpyMatrix& x, fkm_perf::NpyMatrix& c) {
  std::mt19937_64 gen(7);
  std::uniform_real_distribution<float> centre(-10.f, 10.f);
  std::normal_distribution<float> noise(0.f, 1.f);
  std::vector<float> centres(k * d);
  for (auto& v : centres) v = centre(gen);
  x.rows = n;
  x.cols = d;
  x.values.resize(n * d);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t f = 0; f < d; ++f) x.values[i * d + f] = centres[(i % k) * d + f] + noise(gen);
  c.rows = k;
  c.cols = d;
  c.values.assign(x.values.begin(), x.values.begin() + k * d);
}

/// The FMA peak of fkm bench (apps/fkm/bench_peaks.cpp), all OpenMP threads, best of 12 (the
/// suite's floor: worth a second more than fkm bench spends).
int run_peak() {
  const int threads = omp_get_max_threads();
  const fkm::cli::HostPeaks p = fkm::cli::measure_host_peaks(threads, 12);
  std::printf("{\"gflops\": %.1f, \"threads\": %d, \"isa\": \"%s\", \"read_gbps\": %.1f}\n", p.flops * 1e-9, threads,
              p.isa.c_str(), p.bytes_per_second * 1e-9);
  return 0;
}

int run_fit(const fkm_perf::NpyMatrix& x, const fkm_perf::NpyMatrix& c0, int iters, int threads, const char* labels_out,
            fkm::Pruning pruning) {
  fkm::KMeansParams p;
  p.k = c0.rows;
  p.init = fkm::Init::Given;
  p.initial_centroids = fkm::host_view(c0.values.data(), c0.rows, c0.cols);
  p.max_iter = iters;
  p.tol = 0;
  p.backend = fkm::BackendKind::Cpu;
  p.num_threads = threads;
  p.pruning = pruning;
  const double t0 = wall_now();
  const fkm::KMeansResult r = fkm::fit(fkm::host_view(x.values.data(), x.rows, x.cols), p);
  const double seconds = wall_now() - t0;
  double iter_seconds = 0;
  for (const auto& h : r.history) iter_seconds += h.seconds;
  std::string skipped;
  for (const auto& h : r.history) skipped += (skipped.empty() ? "" : ", ") + std::to_string(h.n_skipped);
  std::printf("{\"seconds\": %.6f, \"s_per_iter\": %.6f, \"inertia\": %.17g, \"n_iter\": %d, \"device\": \"%s\", "
              "\"pruning\": \"%s\", \"skipped\": [%s]}\n",
              seconds, iter_seconds / r.n_iter, r.inertia, r.n_iter, r.device.c_str(), fkm::to_string(pruning),
              skipped.c_str());
  if (labels_out && std::string(labels_out) != "-") fkm_perf::write_npy_i32(labels_out, r.labels);
  return 0;
}

int run_steps(const fkm_perf::NpyMatrix& x, const fkm_perf::NpyMatrix& c0, int iters, int threads,
              fkm::Pruning pruning) {
  fkm::ProblemSpec spec;
  spec.x = fkm::host_view(x.values.data(), x.rows, x.cols);
  spec.num_threads = threads;
  spec.pruning = pruning;
  auto problem = fkm::select_backend(fkm::BackendKind::Cpu).bind(spec);
  std::vector<double> c(c0.values.begin(), c0.values.end());
  problem->set_centroids(c.data(), c0.rows);
  std::printf("%s\n", problem->device_name().c_str());
  const double flop = 2.0 * double(x.rows) * double(c0.rows) * double(x.cols);
  for (int it = 0; it < iters; ++it) {
    double w[4], u[4];
    w[0] = wall_now();
    u[0] = cpu_now();
    const double inertia = problem->assign();
    w[1] = wall_now();
    u[1] = cpu_now();
    problem->accumulate();
    w[2] = wall_now();
    u[2] = cpu_now();
    problem->update();
    w[3] = wall_now();
    u[3] = cpu_now();
    std::printf(
        "iter %d  assign %.1f ms (cpu %.1f, %.1f GFLOP/s wall)  accumulate %.1f ms (cpu %.1f)  update %.1f ms (cpu %.1f)  "
        "inertia %.10g  skipped %lld\n",
        it, 1e3 * (w[1] - w[0]), 1e3 * (u[1] - u[0]), flop / (w[1] - w[0]) * 1e-9, 1e3 * (w[2] - w[1]),
        1e3 * (u[2] - u[1]), 1e3 * (w[3] - w[2]), 1e3 * (u[3] - u[2]), inertia,
        static_cast<long long>(problem->last_assign_skipped()));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 2 && std::string(argv[1]) == "peak") return run_peak();
    if (argc == 5 && std::string(argv[1]) == "predict") {
      const auto x = fkm_perf::read_npy_f32(argv[2]), c = fkm_perf::read_npy_f32(argv[3]);
      fkm::KMeansParams p;
      p.k = c.rows;
      p.backend = fkm::BackendKind::Cpu;
      fkm::KMeans km(p);
      km.set_centroids(std::vector<double>(c.values.begin(), c.values.end()), c.rows, c.cols);
      fkm_perf::write_npy_i32(argv[4], km.predict(fkm::host_view(x.values.data(), x.rows, x.cols)));
      return 0;
    }
    if (argc < 4) throw std::runtime_error("usage: see the comment at the top of perf/cpu_bench.cpp");
    const std::string mode = argv[1];
    fkm_perf::NpyMatrix x, c0;
    int arg = 2;
    if (std::string(argv[arg]).rfind("synthetic:", 0) == 0) {
      long long n = 0, d = 0, k = 0;
      if (std::sscanf(argv[arg], "synthetic:%lld:%lld:%lld", &n, &d, &k) != 3) throw std::runtime_error("synthetic:N:D:K");
      synthetic(n, d, k, x, c0);
      arg += 1;
    } else {
      x = fkm_perf::read_npy_f32(argv[arg]);
      c0 = fkm_perf::read_npy_f32(argv[arg + 1]);
      arg += 2;
    }
    if (argc <= arg) throw std::runtime_error("missing ITERS");
    const int iters = std::atoi(argv[arg]);
    const int threads = argc > arg + 1 ? std::atoi(argv[arg + 1]) : 0;
    const fkm::Pruning pruning = argc > arg + 3 ? fkm::parse_pruning(argv[arg + 3]) : fkm::Pruning::Off;
    if (mode == "fit") return run_fit(x, c0, iters, threads, argc > arg + 2 ? argv[arg + 2] : nullptr, pruning);
    if (mode == "steps") return run_steps(x, c0, iters, threads, pruning);
    throw std::runtime_error("mode must be fit or steps");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cpu_bench: error: %s\n", e.what());
    return 2;
  }
}
