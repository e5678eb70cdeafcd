// Thread safety of the C++ API: fits on different KMeans objects run at the same time from
// several std::threads give the bits they give one after another, for every backend (Kokkos
// included: its operations take turns on the one execution space, backends/kokkos/
// locked_problem.hpp); const calls (predict, score) on one fitted KMeans may run concurrently.
// Run under ThreadSanitizer by the "tsan" preset (docs/reliability.md says what TSan can and
// cannot see here).
#include <cstring>
#include <thread>

#include "support.hpp"

namespace {

/// Under ThreadSanitizer every fit uses one OpenMP thread: Debian's libgomp is not built with
/// TSan, which then reports its fork/join as races between a team's threads (docs/reliability.md).
/// One thread per team leaves exactly what this test is about: fkm called from several threads.
constexpr bool kUnderTsan =
#if defined(__SANITIZE_THREAD__)
    true;
#else
    false;
#endif

struct Job {
  fkm_test::TypedData data;
  fkm::KMeansParams params;
};

/// Different problems (sizes, dtypes, metrics, inits, seeds) so threads share no work.
std::vector<Job> make_jobs(fkm::BackendKind backend) {
  const fkm::DType dtypes[] = {fkm::DType::F32, fkm::DType::F64, fkm::DType::F16, fkm::DType::F32};
  const fkm::Metric metrics[] = {fkm::Metric::L2, fkm::Metric::Cosine, fkm::Metric::L2, fkm::Metric::InnerProduct};
  const fkm::Init inits[] = {fkm::Init::KMeansPlusPlus, fkm::Init::Random, fkm::Init::KMeansParallel, fkm::Init::KMeansPlusPlus};
  std::vector<Job> jobs;
  for (int j = 0; j < 4; ++j) {
    const std::int64_t n = 397 + 101 * j, d = 7 + 4 * j, k = 5 + 3 * j;
    Job job{fkm_test::as_dtype(fkm_test::blob_data(n, d, k, 3.0, 100 + j), n, d, dtypes[j]), {}};
    job.params.k = k;
    job.params.metric = metrics[j];
    job.params.init = inits[j];
    job.params.seed = 11 + j;
    job.params.max_iter = 12;
    job.params.n_init = 2;
    job.params.num_threads = kUnderTsan ? 1 : 1 + j % 2;  // OpenMP teams inside concurrent host threads
    job.params.backend = backend;
    jobs.push_back(std::move(job));
  }
  return jobs;
}

bool same_result(const fkm::KMeansResult& a, const fkm::KMeansResult& b) {
  return a.labels == b.labels && a.centroids.size() == b.centroids.size() &&
         std::memcmp(a.centroids.data(), b.centroids.data(), a.centroids.size() * sizeof(double)) == 0 &&
         std::memcmp(&a.inertia, &b.inertia, sizeof(double)) == 0 && a.n_iter == b.n_iter;
}

}  // namespace

TEST_CASE("threads: concurrent fits on different KMeans objects equal sequential fits", "[threads]") {
  auto backends = fkm_test::backends_under_test();
  backends.push_back(fkm::BackendKind::Reference);
  for (const auto backend : backends) {
    INFO("backend " << fkm_test::describe(backend));
    const std::vector<Job> jobs = make_jobs(backend);
    std::vector<fkm::KMeansResult> sequential;
    for (const Job& job : jobs) sequential.push_back(fkm::fit(job.data.view(), job.params));

    std::vector<fkm::KMeansResult> concurrent(jobs.size());
    std::vector<std::string> errors(jobs.size());
    std::vector<std::thread> threads;
    for (std::size_t j = 0; j < jobs.size(); ++j)
      threads.emplace_back([&, j] {
        try {
          fkm::KMeans km(jobs[j].params);
          concurrent[j] = km.fit(jobs[j].data.view());
        } catch (const std::exception& e) {
          errors[j] = e.what();
        }
      });
    for (auto& t : threads) t.join();
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      INFO("job " << j);
      CHECK(errors[j].empty());
      CHECK(same_result(concurrent[j], sequential[j]));
    }
  }
}

TEST_CASE("threads: predict and score on one fitted KMeans from several threads", "[threads]") {
  auto backends = fkm_test::backends_under_test();
  backends.push_back(fkm::BackendKind::Reference);
  for (const auto backend : backends) {
    INFO("backend " << fkm_test::describe(backend));
    Job job = make_jobs(backend)[0];
    fkm::KMeans km(job.params);
    km.fit(job.data.view());
    const auto labels = km.predict(job.data.view());
    const double score = km.score(job.data.view());
    std::vector<std::vector<std::int32_t>> got(3);
    std::vector<double> scores(3);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
      threads.emplace_back([&, t] {
        got[t] = km.predict(job.data.view());
        scores[t] = km.score(job.data.view());
      });
    for (auto& t : threads) t.join();
    for (int t = 0; t < 3; ++t) {
      CHECK(got[t] == labels);
      CHECK(std::memcmp(&scores[t], &score, sizeof(double)) == 0);
    }
  }
}
