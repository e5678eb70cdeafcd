// Bad usage: exit 2 and one line; --help: every flag with its default on stdout, exit 0.
#include <catch2/catch.hpp>

#include "cli_support.hpp"

using namespace fkm_cli_test;
using fkm_io_test::ScratchDir;

TEST_CASE("usage: errors are one line and exit 2") {
  ScratchDir dir;
  check_usage_error(run_fkm({}, dir), {"subcommand is required"});
  check_usage_error(run_fkm({"cluster"}, dir), {"unknown subcommand 'cluster'"});
  check_usage_error(run_fkm({"fit", "x.npy"}, dir), {"--k is required"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--bogus"}, dir), {"--bogus"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "three"}, dir), {"three"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--metric", "l3"}, dir), {"--metric", "l3"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--max-iter", "0"}, dir), {"--max-iter", "at least 1"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--tol", "-1"}, dir), {"--tol"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--n-init", "0"}, dir), {"--n-init"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--pruning", "elkan"}, dir), {"--pruning", "elkan"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--transport", "gloo"}, dir), {"--transport", "gloo"});
  // NCCL sums between processes: without an MPI launcher there is one process
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--transport", "nccl"}, dir), {"--transport nccl", "several processes"});
  // Values CLI11 would convert silently: a negative seed wraps to 2^64 - 1, a number beyond 64
  // bits is clamped, an empty value becomes 0.
  for (const char* seed : {"-1", "18446744073709551616", "0x10", ""})
    check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--seed", seed}, dir), {"--seed", "0 to 18446744073709551615"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "99999999999999999999"}, dir), {"--k", "99999999999999999999", "out of the range"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", ""}, dir), {"--k", "empty"});
  // Thread counts libgomp cannot start (it crashes or exits) are refused first.
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--threads", "100000"}, dir), {"--threads", "between 0 and 4096", "100000"});
  check_usage_error(run_fkm({"predict", "x.npy", "--centroids", "c.npy", "--labels-out", "l.npy", "--threads", "-1"}, dir),
                    {"--threads", "between 0 and 4096"});
  // '-' for a .npy output, or an empty path (an unset shell variable), would write nothing.
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--labels-out", "-"}, dir), {"--labels-out", "'-'", "only for --report"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--centroids-out", "-"}, dir), {"--centroids-out", "'-'"});
  check_usage_error(run_fkm({"predict", "x.npy", "--centroids", "c.npy", "--labels-out", "-"}, dir), {"--labels-out", "'-'"});
  for (const char* flag : {"--labels-out", "--centroids-out", "--report", "--init", "--weights"})
    check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", flag, ""}, dir), {flag, "the path is empty"});
  check_usage_error(run_fkm({"fit", "", "--k", "3"}, dir), {"DATA", "the path is empty"});
  CHECK(dir.entries().empty());
}

TEST_CASE("usage: --help lists every flag with its default") {
  ScratchDir dir;
  const auto fit = run_fkm({"fit", "--help"}, dir);
  CHECK(fit.exit_code == 0);
  CHECK(fit.err.empty());
  for (const char* flag : {"--k", "--init", "--n-init", "--max-iter", "--tol", "--seed", "--metric", "--precision", "--backend",
                           "--weights", "--centroids-out", "--labels-out", "--report", "--quiet", "--dtype", "--threads", "--pruning",
                           "--transport"})
    CHECK(fit.out.find(flag) != std::string::npos);
  for (const char* dflt : {"=kmeans++", "=1", "=300", "=0.0001", "=l2", "=exact", "=auto"}) CHECK(fit.out.find(dflt) != std::string::npos);
  const auto predict = run_fkm({"predict", "--help"}, dir);
  CHECK(predict.exit_code == 0);
  for (const char* flag : {"--centroids", "--labels-out", "--backend", "--metric", "--report"})
    CHECK(predict.out.find(flag) != std::string::npos);
  const auto top = run_fkm({"--help"}, dir);
  CHECK(top.exit_code == 0);
  for (const char* sub : {"fit", "predict", "info"}) CHECK(top.out.find(sub) != std::string::npos);
  const auto version = run_fkm({"--version"}, dir);
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("fkm ", 0) == 0);
}
