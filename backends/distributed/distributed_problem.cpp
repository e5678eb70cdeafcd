#include "distributed_problem.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "../../core/src/convert.hpp"
#include "../../core/src/fixed_point.hpp"
#include "all_or_none.hpp"
#include "exact_sum.hpp"
#include "fkm/error.hpp"

namespace fkm::detail {
namespace {

// Rows per gather_rows call of the whole-data passes: about 2^21 values (16 MiB of fp64), at
// least 256 rows. Few calls: on a GPU backend each is a device round trip.
std::int64_t row_block(std::int64_t d) { return std::max<std::int64_t>(256, (std::int64_t(1) << 21) / std::max<std::int64_t>(1, d)); }
constexpr std::int64_t kSumBlock = 65536;  // points per partial long accumulator

template <class T>
std::vector<char> to_bytes(const std::vector<T>& v) {
  std::vector<char> out(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

template <class T>
std::vector<T> from_bytes(const std::vector<char>& b) {
  std::vector<T> out(b.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), b.data(), out.size() * sizeof(T));
  return out;
}

/// Sums accumulators element-wise over all processes.
void reduce(Communicator& comm, std::vector<ExactSum>& acc) {
  std::vector<std::int64_t> words(acc.size() * ExactSum::kWords);
  for (std::size_t j = 0; j < acc.size(); ++j) {
    acc[j].normalise();
    std::copy_n(acc[j].words(), ExactSum::kWords, &words[j * ExactSum::kWords]);
  }
  comm.sum(words.data(), std::int64_t(words.size()));
  for (std::size_t j = 0; j < acc.size(); ++j) std::copy_n(&words[j * ExactSum::kWords], ExactSum::kWords, acc[j].words());
}

}  // namespace

DistributedProblem::DistributedProblem(Communicator& comm, const Backend& backend, const ProblemSpec& spec,
                                       std::unique_ptr<Problem> local)
    : comm_(comm), backend_(backend), spec_(spec), local_(std::move(local)) {
  n_local_ = local_->n();
  d_ = local_->d();
  offset_ = spec.row_offset;
  n_global_ = n_local_;
  comm_.sum(&n_global_, 1);
  w_.resize(n_local_);
  for (std::int64_t i = 0; i < n_local_; ++i) w_[i] = weight_at(spec.weights, i);
  dist_.assign(n_local_, std::numeric_limits<double>::infinity());
  threads_ = spec.num_threads > 0 ? spec.num_threads : int(std::max(1u, std::thread::hardware_concurrency()));
}

template <class Step>
void DistributedProblem::step(Step&& s) const {
  all_or_none(comm_, std::forward<Step>(s));
}

std::string DistributedProblem::device_name() const {
  return local_->device_name() + " x " + std::to_string(comm_.size()) + " processes";
}

ValueCheck DistributedProblem::check_values() const {
  ValueCheck mine;
  step([&] { mine = local_->check_values(); });
  // The first bad value in global row order: the lowest rank that has one.
  const std::vector<std::int64_t> record = {mine.bad_row < 0 ? -1 : offset_ + mine.bad_row, mine.bad_col,
                                            mine.in_weights ? 1 : 0, mine.positive_weights};
  ValueCheck out;
  for (const auto& bytes : comm_.all_gather(to_bytes(record))) {
    const auto r = from_bytes<std::int64_t>(bytes);
    if (out.bad_row < 0 && r[0] >= 0) {
      out.bad_row = r[0];
      out.bad_col = r[1];
      out.in_weights = r[2] != 0;
    }
    out.positive_weights += r[3];
  }
  return out;
}

double DistributedProblem::weighted_sum(const std::vector<double>& v) const {
  // Blocks summed in parallel, then merged: exact, so the blocking changes nothing.
  const std::int64_t blocks = (n_local_ + kSumBlock - 1) / kSumBlock;
  std::vector<ExactSum> part(blocks);
#pragma omp parallel for schedule(static) num_threads(threads_)
  for (std::int64_t b = 0; b < blocks; ++b)
    for (std::int64_t i = b * kSumBlock; i < std::min(n_local_, (b + 1) * kSumBlock); ++i)
      if (w_[i] != 0) part[b].add(w_[i] * v[i]);
  std::vector<ExactSum> acc(1);
  for (const ExactSum& p : part) acc[0].add(p);
  reduce(comm_, acc);
  return acc[0].value();
}

double DistributedProblem::total_weight() const {
  if (total_weight_ < 0) {
    std::vector<ExactSum> acc(1);
    for (double w : w_) acc[0].add(w);
    reduce(comm_, acc);
    total_weight_ = acc[0].value();
    if (std::isnan(total_weight_)) total_weight_ = std::numeric_limits<double>::quiet_NaN();
  }
  return total_weight_;
}

template <class F>
void DistributedProblem::for_row_blocks(F&& f) const {
  std::vector<std::int64_t> idx;
  std::vector<double> rows;
  const std::int64_t block = row_block(d_);
  for (std::int64_t i0 = 0; i0 < n_local_; i0 += block) {
    const std::int64_t m = std::min(block, n_local_ - i0);
    idx.resize(m);
    for (std::int64_t t = 0; t < m; ++t) idx[t] = i0 + t;
    rows.resize(m * d_);
    local_->gather_rows(idx.data(), m, rows.data());
    f(i0, m, rows.data());
  }
}

const std::vector<double>& DistributedProblem::feature_max_abs() const {
  if (feature_max_abs_.empty()) {
    std::vector<double> mx(d_, 0.0);
    step([&] {
      // Per-thread maxima over contiguous row ranges, then their maximum: exact in any order.
      std::vector<double> part(std::size_t(threads_) * d_, 0.0);
      for_row_blocks([&](std::int64_t, std::int64_t m, const double* rows) {
#pragma omp parallel for num_threads(threads_) schedule(static)
        for (int c = 0; c < threads_; ++c) {
          double* p = &part[std::size_t(c) * d_];
          for (std::int64_t t = m * c / threads_; t < m * (c + 1) / threads_; ++t)
            for (std::int64_t f = 0; f < d_; ++f) p[f] = std::max(p[f], std::fabs(rows[t * d_ + f]));
        }
      });
      for (int c = 0; c < threads_; ++c)
        for (std::int64_t f = 0; f < d_; ++f) mx[f] = std::max(mx[f], part[std::size_t(c) * d_ + f]);
    });
    comm_.max(mx.data(), d_);
    feature_max_abs_ = std::move(mx);
  }
  return feature_max_abs_;
}

double DistributedProblem::max_weight() const {
  if (max_weight_ < 0) {
    double mx = 0;
    for (double w : w_) mx = std::max(mx, w);
    comm_.max(&mx, 1);
    max_weight_ = mx;
  }
  return max_weight_;
}

const FixedPointFormat& DistributedProblem::format() const {
  if (format_.exponent.empty()) {
    const auto& mx = feature_max_abs();
    const double wmax = max_weight();
    FixedPointFormat f;
    f.exponent.resize(d_);
    // |w_i x_if| <= wmax * max|x_f|, also after rounding (rounding is monotone).
    for (std::int64_t j = 0; j < d_; ++j) f.exponent[j] = fixed_exponent(wmax * mx[j]);
    f.weight_exponent = fixed_exponent(wmax);
    format_ = std::move(f);
  }
  return format_;
}

double DistributedProblem::mean_variance() const {
  if (mean_variance_ >= 0) return mean_variance_;
  // Two exact passes (mean, then squared deviations), each on a fixed-point grid fixed from the
  // global range, so the tolerance scale is the same for every split of the rows.
  const auto& mx = feature_max_abs();
  std::vector<int> e(d_);
  std::vector<FixedScale> scale(d_);
  auto pass = [&](auto&& term) {
    std::vector<__int128> s(d_, 0);
    step([&] {
      // Per-thread integer sums over contiguous row ranges, then their sum: exact in any order.
      std::vector<__int128> part(std::size_t(threads_) * d_, 0);
      for_row_blocks([&](std::int64_t, std::int64_t m, const double* rows) {
#pragma omp parallel for num_threads(threads_) schedule(static)
        for (int c = 0; c < threads_; ++c) {
          __int128* p = &part[std::size_t(c) * d_];
          for (std::int64_t t = m * c / threads_; t < m * (c + 1) / threads_; ++t)
            for (std::int64_t f = 0; f < d_; ++f) p[f] += fixed_term(term(f, rows[t * d_ + f]), scale[f]);
        }
      });
      for (int c = 0; c < threads_; ++c)
        for (std::int64_t f = 0; f < d_; ++f) s[f] += part[std::size_t(c) * d_ + f];
    });
    FixedVector v(d_);
    for (std::int64_t f = 0; f < d_; ++f) v.set(f, s[f]);
    comm_.sum(v.words(), v.word_count());
    std::vector<double> out(d_);
    for (std::int64_t f = 0; f < d_; ++f) out[f] = fixed_to_double(v.get(f), e[f]);
    return out;
  };
  for (std::int64_t f = 0; f < d_; ++f) {
    e[f] = fixed_exponent(mx[f]);
    scale[f] = fixed_scale(e[f]);
  }
  std::vector<double> mean = pass([](std::int64_t, double x) { return x; });
  for (auto& m : mean) m /= double(n_global_);
  for (std::int64_t f = 0; f < d_; ++f) {
    const double b = mx[f] + std::fabs(mean[f]);  // |x - mean| <= b
    e[f] = fixed_exponent(b * b);
    scale[f] = fixed_scale(e[f]);
  }
  const std::vector<double> var = pass([&](std::int64_t f, double x) { return (x - mean[f]) * (x - mean[f]); });
  double total = 0;
  for (double v : var) total += v / double(n_global_);
  mean_variance_ = total / double(d_);
  return mean_variance_;
}

void DistributedProblem::set_centroids(const double* c, std::int64_t k) {
  step([&] { local_->set_centroids(c, k); });
  k_ = k;
}

double DistributedProblem::assign() {
  step([&] { local_->assign(); });
  dist_stale_ = true;
  return weighted_distance_sum();
}

const std::vector<double>& DistributedProblem::distances() const {
  if (dist_stale_) {
    step([&] { local_->get_distances(dist_.data()); });
    dist_stale_ = false;
  }
  return dist_;
}

double DistributedProblem::weighted_distance_sum() const {
  // The local backend sums the terms exactly where its distances are (a GPU), if it can; else
  // the distances come to the host. Either way the same exact sum, so the same bits.
  std::vector<ExactSum> acc(1);
  if (local_sums_ < 0) {  // agreed once: every process takes the same path
    bool here = false;
    step([&] { here = local_->exact_weighted_distance_sum(acc[0].words()); });
    std::int64_t any_not = here ? 0 : 1;
    comm_.max(&any_not, 1);
    local_sums_ = any_not == 0 ? 1 : 0;
  } else if (local_sums_ == 1) {
    step([&] {
      if (!local_->exact_weighted_distance_sum(acc[0].words()))
        throw Error(ErrorCode::Internal, "the local backend stopped summing distances exactly");
    });
  }
  if (local_sums_ == 0) return weighted_sum(distances());
  acc[0].normalise();
  reduce(comm_, acc);
  return acc[0].value();
}

void DistributedProblem::accumulate() {
  const FixedPointFormat& f = format();
  if (device_sums_ != 0) {
    // The totals summed where they are, in device memory, when the communicator can (NCCL) and
    // every process's backend keeps them there; agreed once, so every process takes one path.
    DeviceWords words;
    step([&] {
      if (comm_.sums_device_words()) words = local_->accumulate_fixed_words(f);
    });
    if (device_sums_ < 0) {
      std::int64_t any_not = words.data ? 0 : 1;
      comm_.max(&any_not, 1);
      device_sums_ = any_not == 0 ? 1 : 0;
    }
    if (device_sums_ == 1) {
      step([&] {
        if (!words.data) throw Error(ErrorCode::Internal, "the local backend stopped keeping its totals in device memory");
      });
      comm_.sum_device(words);  // the same integers the host path sums: the same bits
      return;
    }
  }
  std::vector<FixedSum> s(k_ * d_), w(k_);
  step([&] { local_->accumulate_fixed(f, s.data(), w.data()); });
  FixedVector v(k_ * d_ + k_);
  for (std::int64_t t = 0; t < k_ * d_; ++t) v.set(t, from_fixed_sum(s[t]));
  for (std::int64_t j = 0; j < k_; ++j) v.set(k_ * d_ + j, from_fixed_sum(w[j]));
  comm_.sum(v.words(), v.word_count());
  sums_.resize(k_ * d_);
  weights_.resize(k_);
  for (std::int64_t j = 0; j < k_; ++j) {
    for (std::int64_t t = 0; t < d_; ++t) sums_[j * d_ + t] = fixed_to_double(v.get(j * d_ + t), f.exponent[t]);
    weights_[j] = fixed_to_double(v.get(k_ * d_ + j), f.weight_exponent);
  }
}

std::vector<std::int64_t> DistributedProblem::update() {
  std::vector<std::int64_t> empties;
  if (device_sums_ == 1) step([&] { empties = local_->update_from_fixed_words(format()); });
  else step([&] { empties = local_->update_from(sums_.data(), weights_.data()); });
  return empties;
}

void DistributedProblem::replace_centroids(const std::int64_t* ids, std::int64_t m, const double* rows) {
  step([&] { local_->replace_centroids(ids, m, rows); });
}

double DistributedProblem::update_nearest(const double* c, std::int64_t m, bool reset, std::int64_t first_label) {
  step([&] { local_->update_nearest(c, m, reset, first_label); });
  dist_stale_ = true;
  if (m == 0) return std::numeric_limits<double>::infinity();
  return weighted_distance_sum();
}

Problem& DistributedProblem::scratch() const {
  if (!scratch_) step([&] { scratch_ = backend_.bind(spec_); });
  return *scratch_;
}

void DistributedProblem::potentials(const double* c, std::int64_t m, double* out) const {
  Problem& s = scratch();
  const std::vector<double>& dist = distances();
  std::vector<ExactSum> acc(m);
  step([&] {
    std::vector<double> to_c(n_local_);
    for (std::int64_t j = 0; j < m; ++j) {
      s.set_centroids(c + j * d_, 1);
      s.assign();
      s.get_distances(to_c.data());
      for (std::int64_t i = 0; i < n_local_; ++i)
        if (w_[i] != 0) acc[j].add(w_[i] * std::min(dist[i], to_c[i]));
    }
  });
  reduce(comm_, acc);
  for (std::int64_t j = 0; j < m; ++j) out[j] = acc[j].value();
}

void DistributedProblem::sample(const double* targets, std::int64_t m, bool by_weight, std::int64_t* out) const {
  // Inverse CDF over the global row order on a fixed-point grid: p_i rounds to an integer q_i,
  // prefix sums are exact, and the chosen row is the first whose prefix exceeds the target.
  // Negative p (inner-product "distances") count as 0.
  const std::vector<double>& dist = distances();
  std::vector<double> p(n_local_);
  double pmax = 0;
  for (std::int64_t i = 0; i < n_local_; ++i) {
    const double v = by_weight ? w_[i] : (w_[i] > 0 ? w_[i] * dist[i] : 0.0);
    p[i] = v > 0 ? v : 0.0;
    pmax = std::max(pmax, p[i]);
  }
  comm_.max(&pmax, 1);
  if (!std::isfinite(pmax)) throw Error(ErrorCode::Internal, "sample: a sampling weight is not finite");
  const int e = fixed_exponent(pmax);
  const FixedScale scale = fixed_scale(e);
  std::vector<__int128> q(n_local_);
  __int128 local_total = 0;
  std::int64_t last_positive = -1;
  for (std::int64_t i = 0; i < n_local_; ++i) {
    q[i] = fixed_term(p[i], scale);
    local_total += q[i];
    if (q[i] > 0) last_positive = offset_ + i;
  }
  FixedVector before(1), total(1);
  before.set(0, local_total);
  total.set(0, local_total);
  comm_.exclusive_sum(before.words(), before.word_count());
  comm_.sum(total.words(), total.word_count());
  const __int128 start = before.get(0), global_total = total.get(0);

  std::vector<std::int64_t> found(m + 1, -1);  // found[m]: the last row of positive q
  found[m] = last_positive;
  for (std::int64_t t = 0; t < m; ++t) {
    const double scaled = std::floor(targets[t] * scale.hi * scale.lo);
    if (!(scaled >= 0)) {  // negative (or NaN) target: the first row, as an upper bound search gives
      found[t] = 0;
      continue;
    }
    if (!(scaled < std::ldexp(1.0, 126))) continue;  // beyond any total: clamped below
    const __int128 target = __int128(scaled);
    if (target >= global_total || target < start || target >= start + local_total) continue;
    __int128 run = start;
    for (std::int64_t i = 0; i < n_local_; ++i) {
      run += q[i];
      if (run > target) {
        found[t] = offset_ + i;
        break;
      }
    }
  }
  comm_.max(found.data(), m + 1);
  const std::int64_t clamp = std::max<std::int64_t>(found[m], 0);
  for (std::int64_t t = 0; t < m; ++t) out[t] = found[t] >= 0 ? found[t] : clamp;
}

std::vector<std::int64_t> DistributedProblem::sample_independent(double scale, double potential,
                                                                 std::uint64_t seed) const {
  std::vector<std::int64_t> mine;
  step([&] { mine = local_->sample_independent(scale, potential, seed); });
  for (auto& i : mine) i += offset_;
  std::vector<std::int64_t> out;
  for (const auto& bytes : comm_.all_gather(to_bytes(mine))) {
    const auto part = from_bytes<std::int64_t>(bytes);
    out.insert(out.end(), part.begin(), part.end());  // rank order = ascending global index
  }
  return out;
}

void DistributedProblem::gather_rows(const std::int64_t* idx, std::int64_t m, double* out) const {
  // Each row comes from the one process that holds it; the others contribute zero bits.
  std::vector<std::uint64_t> bits(m * d_, 0);
  step([&] {
    std::vector<std::int64_t> local_idx, slot;
    for (std::int64_t t = 0; t < m; ++t) {
      if (idx[t] < 0 || idx[t] >= n_global_)
        throw Error(ErrorCode::Internal, "gather_rows: row " + std::to_string(idx[t]) + " out of range");
      if (idx[t] >= offset_ && idx[t] < offset_ + n_local_) {
        local_idx.push_back(idx[t] - offset_);
        slot.push_back(t);
      }
    }
    std::vector<double> rows(local_idx.size() * d_);
    if (!local_idx.empty()) local_->gather_rows(local_idx.data(), std::int64_t(local_idx.size()), rows.data());
    for (std::size_t r = 0; r < slot.size(); ++r) std::memcpy(&bits[slot[r] * d_], &rows[r * d_], d_ * sizeof(double));
  });
  comm_.bit_or(bits.data(), m * d_);
  std::memcpy(out, bits.data(), m * d_ * sizeof(double));
}

void DistributedProblem::label_weights(std::int64_t m, double* out) const {
  const FixedPointFormat& f = format();
  std::vector<__int128> w(m, 0);
  step([&] {
    std::vector<std::int32_t> labels(n_local_);
    local_->get_labels(labels.data());
    const FixedScale scale = fixed_scale(f.weight_exponent);
    for (std::int64_t i = 0; i < n_local_; ++i)
      if (labels[i] >= 0 && labels[i] < m) w[labels[i]] += fixed_term(w_[i], scale);
  });
  FixedVector v(m);
  for (std::int64_t j = 0; j < m; ++j) v.set(j, w[j]);
  comm_.sum(v.words(), v.word_count());
  for (std::int64_t j = 0; j < m; ++j) out[j] = fixed_to_double(v.get(j), f.weight_exponent);
}

std::vector<std::int64_t> DistributedProblem::farthest_points(std::int64_t m) const {
  // The global m farthest are among the union of every process's m farthest.
  struct Candidate {
    double dist;
    std::int64_t row;
  };
  const std::vector<double>& nearest = distances();
  std::vector<Candidate> mine;
  step([&] {
    for (std::int64_t i : local_->farthest_points(m)) mine.push_back({nearest[i], offset_ + i});
  });
  std::vector<Candidate> all;
  for (const auto& bytes : comm_.all_gather(to_bytes(mine))) {
    const auto part = from_bytes<Candidate>(bytes);
    all.insert(all.end(), part.begin(), part.end());
  }
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    return a.dist > b.dist || (a.dist == b.dist && a.row < b.row);
  });
  std::vector<std::int64_t> out;
  for (std::int64_t t = 0; t < std::min<std::int64_t>(m, std::int64_t(all.size())); ++t) out.push_back(all[t].row);
  return out;
}

}  // namespace fkm::detail
