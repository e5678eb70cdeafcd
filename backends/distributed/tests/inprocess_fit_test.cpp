// Whole distributed fits without an MPI launcher: R threads of this process are the R
// processes (ThreadCommunicator), each with its shard, on every compiled backend that has a
// device. The results must be the same bits for 1, 2, 3 and 4 shards, uneven ones and one
// without rows included: centroids, inertia, iterations, history and the labels in row order.
// (The MPI tests, ctest label mpi, check the same across real processes.)
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "../fit_distributed.hpp"
#include "fkm/fkm.hpp"
#include "thread_communicator.hpp"

namespace {

using fkm::BackendKind;
using fkm::DType;
using fkm::Init;
using fkm::Metric;

struct Case {
  const char* name;
  std::int64_t n, d, k;
  DType dtype;
  Metric metric;
  Init init;
  bool weights;
  int distinct;  ///< > 0: only this many distinct points (duplicates, empty clusters)
};

/// Blobs of k centres (or `distinct` points), as float64 values the dtype then stores.
std::vector<double> make_values(const Case& c) {
  std::mt19937_64 g(c.n * 31 + c.d);
  std::uniform_real_distribution<double> u(-5, 5), noise(-1.2, 1.2);
  const std::int64_t blobs = c.distinct > 0 ? c.distinct : c.k;
  std::vector<double> centres(blobs * c.d), x(c.n * c.d);
  for (auto& v : centres) v = u(g);
  for (std::int64_t i = 0; i < c.n; ++i)
    for (std::int64_t f = 0; f < c.d; ++f)
      x[i * c.d + f] = centres[((i * 7919) % blobs) * c.d + f] + (c.distinct > 0 ? 0.0 : noise(g));
  return x;
}

struct Stored {
  std::vector<unsigned char> bytes;
  std::size_t es;
};

Stored store(const std::vector<double>& x, DType t) {
  Stored s{std::vector<unsigned char>(x.size() * fkm::size_of(t)), fkm::size_of(t)};
  for (std::size_t i = 0; i < x.size(); ++i) {
    switch (t) {
      case DType::F32: { const float v = float(x[i]); std::memcpy(&s.bytes[i * 4], &v, 4); break; }
      case DType::F64: std::memcpy(&s.bytes[i * 8], &x[i], 8); break;
      case DType::F16: { const fkm::half v = fkm::to_half(float(x[i])); std::memcpy(&s.bytes[i * 2], &v, 2); break; }
      case DType::BF16: { const fkm::bfloat16 v = fkm::to_bfloat16(float(x[i])); std::memcpy(&s.bytes[i * 2], &v, 2); break; }
    }
  }
  return s;
}

/// Everything a fit returns that must not depend on the shards, as bytes.
std::vector<char> bits_of(const std::vector<fkm::KMeansResult>& shards) {
  std::vector<char> out;
  auto put = [&](const void* p, std::size_t n) { out.insert(out.end(), (const char*)p, (const char*)p + n); };
  const fkm::KMeansResult& r = shards.front();
  put(r.centroids.data(), r.centroids.size() * sizeof(double));
  put(&r.inertia, sizeof r.inertia);
  put(&r.n_iter, sizeof r.n_iter);
  put(r.initial_centroids.data(), r.initial_centroids.size() * sizeof(double));
  for (const auto& h : r.history) {
    put(&h.inertia, sizeof h.inertia);
    put(&h.shift, sizeof h.shift);
    put(&h.n_empty, sizeof h.n_empty);
  }
  for (const auto& s : shards) put(s.labels.data(), s.labels.size() * sizeof(s.labels[0]));
  return out;
}

/// One process whose "device all-reduce" is the identity (the sum over one process): a fit
/// through it takes the device-memory path of the totals (Problem::accumulate_fixed_words,
/// update_from_fixed_words) wherever the backend offers it, as an NCCL fit does.
class DeviceLoopback final : public fkm::detail::ForwardingCommunicator {
 public:
  explicit DeviceLoopback(fkm::detail::Communicator& host) : ForwardingCommunicator(host) {}
  bool sums_device_words() const override { return true; }
  void sum_device(const fkm::DeviceWords& words) override {
    REQUIRE(size() == 1);
    REQUIRE(words.data != nullptr);
    ++calls;
  }
  int calls = 0;
};

/// Fits case c split at `cuts` (shard s: rows [cuts[s], cuts[s + 1])), one thread per shard;
/// with `loopback` (one shard), through DeviceLoopback, counting its device sums there.
std::vector<fkm::KMeansResult> fit_split(const Case& c, BackendKind kind, const Stored& x, const std::vector<double>& w,
                                         const std::vector<std::int64_t>& cuts, int* loopback = nullptr) {
  const int shards = int(cuts.size()) - 1;
  fkm_test::ThreadHub hub(shards);
  std::vector<fkm::KMeansResult> out(shards);
  std::vector<std::string> errors(shards);
  std::vector<std::thread> threads;
  for (int s = 0; s < shards; ++s)
    threads.emplace_back([&, s] {
      const std::int64_t b = cuts[s], e = cuts[s + 1];
      const fkm::MatrixView local{e > b ? x.bytes.data() + b * c.d * x.es : nullptr, e - b, c.d, c.d, c.dtype};
      const fkm::VectorView lw = c.weights ? fkm::host_vector(w.data() + b, e - b) : fkm::VectorView{};
      fkm::KMeansParams p;
      p.k = c.k;
      p.init = c.init;
      p.max_iter = 30;
      p.seed = 11;
      p.metric = c.metric;
      p.backend = kind;
      p.num_threads = 1 + s % 2;
      std::vector<double> given;
      if (c.init == Init::Given) {
        std::mt19937_64 g(5);
        std::uniform_real_distribution<double> u(-5, 5);
        for (std::int64_t t = 0; t < c.k * c.d; ++t) given.push_back(u(g));
        p.initial_centroids = fkm::host_view(given.data(), c.k, c.d);
      }
      fkm_test::ThreadCommunicator comm(hub, s);
      DeviceLoopback device(comm);
      try {
        // Transport::Host with the loopback: fkm adds no NCCL communicator of its own (a build with
        // NCCL would, for one process), so the device sums are the loopback's.
        out[s] = loopback ? fkm::detail::fit_distributed(device, local, p, lw, fkm::Transport::Host)
                          : fkm::detail::fit_distributed(comm, local, p, lw);
      } catch (const std::exception& ex) {
        errors[s] = ex.what();
      }
      if (loopback) *loopback = device.calls;
    });
  for (auto& t : threads) t.join();
  for (int s = 0; s < shards; ++s) {
    INFO("shard " << s << " of " << shards);
    REQUIRE(errors[s].empty());
    REQUIRE(std::int64_t(out[s].labels.size()) == cuts[s + 1] - cuts[s]);
  }
  return out;
}

}  // namespace

TEST_CASE("fit_distributed over in-process shards: the same bits for 1-4 shards on every backend", "[distributed]") {
  const Case cases[] = {
      {"l2 f32 k-means++ weights", 1003, 9, 11, DType::F32, Metric::L2, Init::KMeansPlusPlus, true, 0},
      {"cosine f16 k-means||", 777, 33, 17, DType::F16, Metric::Cosine, Init::KMeansParallel, false, 0},
      {"inner product f64 given", 501, 5, 7, DType::F64, Metric::InnerProduct, Init::Given, false, 0},
      {"l2 bf16 random", 640, 70, 23, DType::BF16, Metric::L2, Init::Random, true, 0},
      {"duplicates, empty clusters", 300, 4, 9, DType::F32, Metric::L2, Init::KMeansPlusPlus, false, 5},
      {"k = 1", 257, 3, 1, DType::F32, Metric::L2, Init::KMeansPlusPlus, false, 0},
      {"k = n", 40, 6, 40, DType::F32, Metric::L2, Init::KMeansPlusPlus, false, 0},
  };
  for (const auto& b : fkm::list_backends()) {
    if (!b.compiled || b.devices.empty()) continue;
    for (const Case& c : cases) {
      CAPTURE(fkm::to_string(b.kind), c.name);
      const std::vector<double> values = make_values(c);
      const Stored x = store(values, c.dtype);
      std::vector<double> w(c.n);
      for (std::int64_t i = 0; i < c.n; ++i) w[i] = i % 7 == 3 ? 0.0 : 0.5 + double((i * 13) % 5);
      const std::vector<char> one = bits_of(fit_split(c, b.kind, x, w, {0, c.n}));
      // The totals summed in device memory (GPU backends) give the host path's bits.
      int device_sums = -1;
      REQUIRE(bits_of(fit_split(c, b.kind, x, w, {0, c.n}, &device_sums)) == one);
      const bool gpu = b.kind == BackendKind::Cuda || b.kind == BackendKind::Hip;
      CHECK((device_sums > 0) == gpu);
      const std::int64_t n = c.n;
      const std::vector<std::vector<std::int64_t>> splits = {
          {0, n / 4, n},                          // 2, uneven
          {0, n / 9, n / 9, n},                   // 3, one without rows
          {0, 1, n / 2, n - 1, n},                // 4, shards of one row
      };
      for (const auto& cuts : splits) {
        CAPTURE(cuts.size() - 1);
        REQUIRE(bits_of(fit_split(c, b.kind, x, w, cuts)) == one);
      }
    }
  }
}
