// fkm_mpi_bench: time per Lloyd iteration of fit_distributed with R processes (mpirun -np R),
// beside the single-process fkm::fit on the same data (rank 0, only when R == 1), and the
// roofline floor of the work each process does. One JSON line on rank 0.
//
//   mpirun -np R fkm_mpi_bench N D K ITERS BACKEND THREADS_PER_RANK PEAK_GFLOPS MEM_GBPS
//
// PEAK_GFLOPS / MEM_GBPS: the machine's fp32 matrix rate and memory bandwidth for all ranks
// together (the floor is max(2 N K D / peak, N D 4 / bw)); pass what the machine has.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "fkm/distributed.hpp"
#include "fkm/fkm.hpp"

namespace {

/// CPU seconds of this process (all its threads): robust to other load on a shared machine.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

double median_ms(const std::vector<fkm::IterationRecord>& h) {
  std::vector<double> s;
  for (std::size_t i = 1; i < h.size(); ++i) s.push_back(h[i].seconds * 1e3);  // first is warm-up
  if (s.empty()) return 0;
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 9) {
    if (rank == 0) std::fprintf(stderr, "usage: fkm_mpi_bench N D K ITERS BACKEND THREADS PEAK_GFLOPS MEM_GBPS\n");
    MPI_Finalize();
    return 2;
  }
  const std::int64_t n = std::atoll(argv[1]), d = std::atoll(argv[2]), k = std::atoll(argv[3]);
  const int iters = std::atoi(argv[4]);
  const std::string backend = argv[5];
  const int threads = std::atoi(argv[6]);
  const double peak = std::atof(argv[7]) * 1e9, bw = std::atof(argv[8]) * 1e9;

  // Each rank makes only its rows: blobs, identical whatever the process count.
  const std::int64_t b0 = n * rank / size, b1 = n * (rank + 1) / size;
  std::vector<float> x((b1 - b0) * d);
  for (std::int64_t i = b0; i < b1; ++i) {
    std::mt19937_64 g(std::uint64_t(i) * 0x9e3779b97f4a7c15ull);
    std::normal_distribution<float> noise(0, 1);
    const std::int64_t blob = i % k;
    for (std::int64_t f = 0; f < d; ++f) x[(i - b0) * d + f] = float((blob * 31 + f * 7) % 97) * 0.2f + noise(g);
  }
  fkm::KMeansParams p;
  p.k = k;
  p.max_iter = iters;
  p.tol = 0;
  p.init = fkm::Init::Random;
  p.backend = fkm::parse_backend(backend);
  p.num_threads = threads;
  MPI_Barrier(MPI_COMM_WORLD);
  const auto t0 = std::chrono::steady_clock::now();
  double cpu = cpu_seconds();
  const fkm::KMeansResult r = fkm::fit_distributed(MPI_COMM_WORLD, fkm::host_view(x.data(), b1 - b0, d), p);
  cpu = cpu_seconds() - cpu;
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MPI_Allreduce(MPI_IN_PLACE, &cpu, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  double ms = median_ms(r.history);
  MPI_Allreduce(MPI_IN_PLACE, &ms, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);

  double local_ms = -1, local_cpu = -1;
  if (size == 1) {
    local_cpu = cpu_seconds();
    const fkm::KMeansResult l = fkm::fit(fkm::host_view(x.data(), n, d), p);
    local_cpu = cpu_seconds() - local_cpu;
    local_ms = median_ms(l.history);
  }
  const double floor_ms = 1e3 * std::max(2.0 * double(n) * double(k) * double(d) / peak, double(n) * double(d) * 4 / bw);
  if (rank == 0)
    std::printf("{\"ranks\": %d, \"threads_per_rank\": %d, \"backend\": \"%s\", \"n\": %lld, \"d\": %lld, \"k\": %lld, "
                "\"ms_per_iter\": %.3f, \"fit_ms_per_iter_single_process\": %.3f, \"floor_ms\": %.3f, "
                "\"seconds_total\": %.3f, \"cpu_seconds_all_ranks\": %.3f, \"fit_cpu_seconds_single_process\": %.3f, "
                "\"inertia\": %.17g}\n",
                size, threads, backend.c_str(), (long long)n, (long long)d, (long long)k, ms, local_ms, floor_ms, total,
                cpu, local_cpu, r.inertia);
  MPI_Finalize();
  return 0;
}
