// A Communicator over the threads of one process, for tests of whole distributed fits without
// an MPI launcher: R threads each call detail::fit_distributed with their own shard and their
// rank's ThreadCommunicator. Every collective is one exchange of bytes through a shared hub,
// combined in rank order (integer sums, maxima and ors: the same results as any MPI reduction).
#pragma once
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <vector>

#include "../communicator.hpp"

namespace fkm_test {

/// The meeting point of R threads: exchange() returns every thread's bytes, in rank order.
class ThreadHub {
 public:
  explicit ThreadHub(int size) : size_(size), slots_(size) {}
  int size() const { return size_; }

  std::vector<std::vector<char>> exchange(int rank, std::vector<char> mine) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !draining_; });  // the previous exchange fully read
    slots_[rank] = std::move(mine);
    if (++arrived_ == size_) {
      draining_ = true;
      changed_.notify_all();
    } else {
      changed_.wait(lock, [&] { return draining_; });
    }
    std::vector<std::vector<char>> out = slots_;
    if (++left_ == size_) {
      arrived_ = left_ = 0;
      draining_ = false;
      changed_.notify_all();
    }
    return out;
  }

 private:
  int size_;
  std::vector<std::vector<char>> slots_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int arrived_ = 0, left_ = 0;
  bool draining_ = false;
};

class ThreadCommunicator final : public fkm::detail::Communicator {
 public:
  ThreadCommunicator(ThreadHub& hub, int rank) : hub_(hub), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return hub_.size(); }
  void sum(std::int64_t* data, std::int64_t n) override {
    reduce(data, n, [](std::int64_t a, std::int64_t b) { return std::int64_t(std::uint64_t(a) + std::uint64_t(b)); }, size());
  }
  void exclusive_sum(std::int64_t* data, std::int64_t n) override {
    reduce(data, n, [](std::int64_t a, std::int64_t b) { return std::int64_t(std::uint64_t(a) + std::uint64_t(b)); }, rank_,
           true);
  }
  void max(std::int64_t* data, std::int64_t n) override {
    reduce(data, n, [](std::int64_t a, std::int64_t b) { return std::max(a, b); }, size());
  }
  void max(double* data, std::int64_t n) override {
    reduce(data, n, [](double a, double b) { return std::max(a, b); }, size());
  }
  void bit_or(std::uint64_t* data, std::int64_t n) override {
    reduce(data, n, [](std::uint64_t a, std::uint64_t b) { return a | b; }, size());
  }
  std::vector<std::vector<char>> all_gather(const std::vector<char>& mine) override { return hub_.exchange(rank_, mine); }
  void broadcast(std::vector<char>& bytes, int root) override { bytes = hub_.exchange(rank_, bytes)[root]; }

 private:
  /// data[i] := op over ranks r < upto of their data[i], starting from 0 (from_zero) or from
  /// rank 0's value.
  template <class T, class Op>
  void reduce(T* data, std::int64_t n, Op op, int upto, bool from_zero = false) {
    std::vector<char> mine(std::size_t(n) * sizeof(T));
    if (n > 0) std::memcpy(mine.data(), data, mine.size());
    const auto all = hub_.exchange(rank_, std::move(mine));
    for (std::int64_t i = 0; i < n; ++i) {
      bool have = from_zero;
      T acc = T{};
      for (int r = 0; r < upto; ++r) {
        T v;
        std::memcpy(&v, all[r].data() + i * sizeof(T), sizeof(T));
        acc = have ? op(acc, v) : v;
        have = true;
      }
      data[i] = acc;
    }
  }

  ThreadHub& hub_;
  int rank_;
};

}  // namespace fkm_test
