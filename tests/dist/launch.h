#pragma once
// Starts the ranks of a multi-process scenario (tests/dist/scenario.h) from
// a Catch test: nranks processes of dg_dist_worker, each with RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1 and MASTER_PORT (a free port)
// in its environment, started with posix_spawn (not fork: the test program
// runs OpenMP, which is not fork-safe). Waits for all of them; past
// timeout_s it kills them all (SIGKILL) and says so. Output (stdout and
// stderr) of each rank is collected from a temporary file.
//
//   auto r = dg_dist::run_ranks("allreduce_sum", 2, 20);
//   INFO(r.report());
//   CHECK(r.ok());
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace dg_dist {

struct RankResult {
  int exit_code = -1;  // the process's exit status; -1 when it was killed or died by a signal
  int signal = 0;      // the signal that ended it (SIGKILL after a timeout), 0 when it exited
  std::string output;  // its stdout and stderr
};

struct LaunchResult {
  std::vector<RankResult> ranks;
  bool timed_out = false;  // some rank was still running at the timeout and was killed
  double seconds = 0;      // wall time until the last rank ended
  bool ok() const {
    if (timed_out) return false;
    for (const auto& r : ranks)
      if (r.exit_code != 0) return false;
    return true;
  }
  // Every rank's exit status and output, for INFO().
  std::string report() const {
    std::ostringstream os;
    os << (timed_out ? "TIMED OUT, " : "") << seconds << " s\n";
    for (size_t i = 0; i < ranks.size(); ++i) {
      os << "--- rank " << i << ": ";
      if (ranks[i].signal) os << "killed by signal " << ranks[i].signal;
      else os << "exit code " << ranks[i].exit_code;
      os << "\n" << ranks[i].output;
    }
    return os.str();
  }
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("free_port: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("free_port: bind/getsockname failed");
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// extra_env overrides or adds variables for every rank (e.g. WORLD_SIZE=3 to
// start fewer processes than the group expects); rank_env, for one rank.
inline LaunchResult run_ranks(const std::string& scenario, int nranks, double timeout_s,
                              const std::map<std::string, std::string>& extra_env = {},
                              const std::map<int, std::map<std::string, std::string>>& rank_env = {}) {
  // The worker next to the tests, or where DG_DIST_WORKER says (a bundle
  // unpacked elsewhere, tools/gpu-check.sh --from-bundle).
  const char* worker_env = std::getenv("DG_DIST_WORKER");
  const std::string worker = worker_env && *worker_env ? worker_env : DG_DIST_WORKER;
  const int port = free_port();
  std::vector<pid_t> pids(nranks, -1);
  std::vector<std::string> logs(nranks);
  LaunchResult result;
  result.ranks.resize(nranks);
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < nranks; ++r) {
    std::map<std::string, std::string> env;
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      auto eq = kv.find('=');
      if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    env["RANK"] = std::to_string(r);
    env["LOCAL_RANK"] = std::to_string(r);
    env["WORLD_SIZE"] = std::to_string(nranks);
    env["LOCAL_WORLD_SIZE"] = std::to_string(nranks);
    env["MASTER_ADDR"] = "127.0.0.1";
    env["MASTER_PORT"] = std::to_string(port);
    env["OMP_NUM_THREADS"] = "1";  // ranks share the machine's cores
    for (const auto& [k, v] : extra_env) env[k] = v;
    if (auto it = rank_env.find(r); it != rank_env.end())
      for (const auto& [k, v] : it->second) env[k] = v;
    std::vector<std::string> kvs;
    for (const auto& [k, v] : env) kvs.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : kvs) envp.push_back(s.data());
    envp.push_back(nullptr);

    char tmpl[] = "/tmp/dg_dist_rank_XXXXXX";
    int fd = ::mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("run_ranks: mkstemp failed");
    logs[r] = tmpl;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    posix_spawn_file_actions_addclose(&fa, fd);
    std::string arg0 = worker, arg1 = scenario;
    char* argv[] = {arg0.data(), arg1.data(), nullptr};
    int rc = ::posix_spawn(&pids[r], worker.c_str(), &fa, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(fd);
    if (rc != 0) {
      for (int q = 0; q < r; ++q) ::kill(pids[q], SIGKILL);
      for (int q = 0; q < r; ++q) ::waitpid(pids[q], nullptr, 0);
      throw std::runtime_error("run_ranks: posix_spawn(" + worker + ") failed: " + std::strerror(rc));
    }
  }
  int running = nranks;
  std::vector<bool> done(nranks, false);
  const auto deadline = start + std::chrono::duration<double>(timeout_s);
  while (running > 0) {
    for (int r = 0; r < nranks; ++r) {
      if (done[r]) continue;
      int status = 0;
      pid_t got = ::waitpid(pids[r], &status, WNOHANG);
      if (got == pids[r]) {
        done[r] = true;
        --running;
        if (WIFEXITED(status)) result.ranks[r].exit_code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status)) result.ranks[r].signal = WTERMSIG(status);
      }
    }
    if (running == 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      result.timed_out = true;
      for (int r = 0; r < nranks; ++r)
        if (!done[r]) ::kill(pids[r], SIGKILL);
      for (int r = 0; r < nranks; ++r) {
        if (done[r]) continue;
        int status = 0;
        ::waitpid(pids[r], &status, 0);
        if (WIFSIGNALED(status)) result.ranks[r].signal = WTERMSIG(status);
        else if (WIFEXITED(status)) result.ranks[r].exit_code = WEXITSTATUS(status);
        done[r] = true;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int r = 0; r < nranks; ++r) {
    std::ifstream in(logs[r]);
    std::stringstream ss;
    ss << in.rdbuf();
    result.ranks[r].output = ss.str();
    std::remove(logs[r].c_str());
  }
  return result;
}

}  // namespace dg_dist
