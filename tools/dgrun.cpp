// dgrun: torchrun's role on one host. Starts --nproc copies of a program with
// the environment a process group reads (RANK, LOCAL_RANK, WORLD_SIZE,
// LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT; OMP_NUM_THREADS=1
// when unset and N > 1, as torchrun), forwards each one's
// stdout and stderr line by line prefixed with "[rank k] ", and when one of
// them fails (nonzero exit or a signal) stops the others (SIGTERM, then
// SIGKILL after a grace period) and exits 1 naming the failed rank and how it
// ended. Exits 0 when every rank exits 0.
//
//   dgrun --nproc N [--master-addr A] [--master-port P]
//         [--nnodes M --node-rank K] [--] program args...
//
// torchrun's spellings (--nproc_per_node, --master_addr, --master_port,
// --node_rank) and --opt=value are accepted too. Many hosts: one dgrun per
// host, each with the same --nnodes, --master-addr and --master-port and its
// own --node-rank; global ranks are node_rank * nproc + local_rank.
// Depends on nothing but POSIX, so it runs wherever the programs do.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kDefaultMasterPort = 29500;          // torchrun's, used when several hosts meet
constexpr std::chrono::milliseconds kGrace{5000};  // SIGTERM to SIGKILL

struct Options {
  int nproc = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  std::optional<int> master_port;
  std::vector<std::string> command;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr,
               "dgrun: %s\nusage: dgrun --nproc N [--master-addr A] [--master-port P] [--nnodes M --node-rank K] "
               "[--] program args...\n",
               message.c_str());
  std::exit(2);
}

int parse_int(const std::string& flag, const std::string& text, int min, int max) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min || value > max) {
    usage_error(flag + " expects an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got '" +
                text + "'");
  }
  return static_cast<int>(value);
}

Options parse(int argc, char** argv) {
  Options o;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.rfind("--", 0) != 0) break;  // the program
    if (arg == "--help" || arg == "-h") usage_error("starts N copies of a program for a process group");
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else {
      if (i + 1 >= argc) usage_error(arg + " needs a value");
      value = argv[++i];
    }
    for (char& c : arg) c = c == '_' ? '-' : c;  // torchrun's spelling
    if (arg == "--nproc" || arg == "--nproc-per-node") {
      o.nproc = parse_int(arg, value, 1, 4096);
    } else if (arg == "--nnodes") {
      o.nnodes = parse_int(arg, value, 1, 65536);
    } else if (arg == "--node-rank") {
      o.node_rank = parse_int(arg, value, 0, 65535);
    } else if (arg == "--master-addr") {
      if (value.empty()) usage_error("--master-addr needs a host name or address");
      o.master_addr = value;
    } else if (arg == "--master-port") {
      o.master_port = parse_int(arg, value, 1, 65535);
    } else {
      usage_error("unknown option '" + std::string(argv[i - (eq == std::string::npos ? 1 : 0)]) + "'");
    }
  }
  for (; i < argc; ++i) o.command.emplace_back(argv[i]);
  if (o.command.empty()) usage_error("no program to run");
  if (o.node_rank >= o.nnodes) {
    usage_error("--node-rank " + std::to_string(o.node_rank) + " must be below --nnodes " + std::to_string(o.nnodes));
  }
  return o;
}

// A port nobody listens on now (the kernel's pick for port 0). Rank 0 binds it
// a moment later; another program could take it in between, which rank 0's
// store then reports as a port in use.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return kDefaultMasterPort;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = kDefaultMasterPort;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// One output stream of one rank: bytes read so far that end no line yet.
struct Stream {
  int fd = -1;
  int rank = 0;
  FILE* out = nullptr;
  std::string pending;
};

struct Child {
  pid_t pid = -1;
  int rank = 0;
  bool running = false;
  int status = 0;
};

void write_lines(Stream& s, bool flush_partial) {
  size_t start = 0;
  for (size_t nl = s.pending.find('\n'); nl != std::string::npos; nl = s.pending.find('\n', start)) {
    std::fprintf(s.out, "[rank %d] %.*s\n", s.rank, static_cast<int>(nl - start), s.pending.data() + start);
    start = nl + 1;
  }
  s.pending.erase(0, start);
  if (flush_partial && !s.pending.empty()) {
    std::fprintf(s.out, "[rank %d] %s\n", s.rank, s.pending.c_str());
    s.pending.clear();
  }
  std::fflush(s.out);
}

// Reads what is there; false at end of stream.
bool pump(Stream& s) {
  char buffer[65536];
  const ssize_t n = ::read(s.fd, buffer, sizeof(buffer));
  if (n > 0) {
    s.pending.append(buffer, static_cast<size_t>(n));
    write_lines(s, false);
    return true;
  }
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  write_lines(s, true);
  ::close(s.fd);
  s.fd = -1;
  return false;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return "signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : std::string());
  }
  return "status " + std::to_string(status);
}

volatile sig_atomic_t g_interrupt = 0;
void on_interrupt(int sig) { g_interrupt = sig; }

void signal_all(const std::vector<Child>& children, int sig) {
  for (const Child& c : children) {
    if (c.running) ::kill(-c.pid, sig);  // its process group: the rank and what it started
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const int port = o.master_port ? *o.master_port : (o.nnodes == 1 ? free_port() : kDefaultMasterPort);
  const int world_size = o.nproc * o.nnodes;
  // torchrun's default: one OpenMP thread a rank unless told otherwise, so
  // that nproc ranks do not each start a thread per core.
  const bool set_omp = o.nproc > 1 && std::getenv("OMP_NUM_THREADS") == nullptr;
  if (set_omp) {
    std::fprintf(stderr,
                 "dgrun: setting OMP_NUM_THREADS=1 for each rank (as torchrun does) so %d ranks do not overload the "
                 "machine; set it yourself to change that\n",
                 o.nproc);
  }

  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGHUP, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<Child> children;
  std::vector<Stream> streams;
  std::vector<char*> child_argv;
  for (const std::string& a : o.command) child_argv.push_back(const_cast<char*>(a.c_str()));
  child_argv.push_back(nullptr);

  for (int local = 0; local < o.nproc; ++local) {
    const int rank = o.node_rank * o.nproc + local;
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
      std::fprintf(stderr, "dgrun: pipe: %s\n", std::strerror(errno));
      signal_all(children, SIGKILL);
      return 1;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::fprintf(stderr, "dgrun: fork: %s\n", std::strerror(errno));
      signal_all(children, SIGKILL);
      return 1;
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      ::dup2(out_pipe[1], STDOUT_FILENO);
      ::dup2(err_pipe[1], STDERR_FILENO);
      ::signal(SIGPIPE, SIG_DFL);
      const auto set = [](const char* name, const std::string& value) { ::setenv(name, value.c_str(), 1); };
      set("RANK", std::to_string(rank));
      set("LOCAL_RANK", std::to_string(local));
      set("WORLD_SIZE", std::to_string(world_size));
      set("LOCAL_WORLD_SIZE", std::to_string(o.nproc));
      set("GROUP_RANK", std::to_string(o.node_rank));
      set("MASTER_ADDR", o.master_addr);
      set("MASTER_PORT", std::to_string(port));
      if (set_omp) set("OMP_NUM_THREADS", "1");
      ::execvp(child_argv[0], child_argv.data());
      std::fprintf(stderr, "dgrun: cannot run '%s': %s\n", child_argv[0], std::strerror(errno));
      std::_Exit(127);
    }
    ::setpgid(pid, pid);  // also here, so signal_all works before the child ran
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    children.push_back({pid, rank, true, 0});
    streams.push_back({out_pipe[0], rank, stdout, {}});
    streams.push_back({err_pipe[0], rank, stderr, {}});
  }

  std::optional<size_t> failed;  // the first rank to fail
  bool interrupted = false;
  bool kill_pending = false;  // SIGKILL at kill_at for ranks still running
  std::chrono::steady_clock::time_point kill_at{};
  size_t running = children.size();
  while (running > 0 || std::any_of(streams.begin(), streams.end(), [](const Stream& s) { return s.fd >= 0; })) {
    std::vector<pollfd> fds;
    std::vector<size_t> which;
    for (size_t i = 0; i < streams.size(); ++i) {
      if (streams[i].fd >= 0) {
        fds.push_back({streams[i].fd, POLLIN, 0});
        which.push_back(i);
      }
    }
    const int ready = ::poll(fds.data(), fds.size(), 50);
    if (ready > 0) {
      for (size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents != 0) pump(streams[which[k]]);
      }
    }
    for (size_t i = 0; i < children.size(); ++i) {
      Child& c = children[i];
      if (!c.running) continue;
      int status = 0;
      if (::waitpid(c.pid, &status, WNOHANG) != c.pid) continue;
      c.running = false;
      c.status = status;
      --running;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && !failed && !interrupted) {
        failed = i;
        std::fprintf(stderr, "dgrun: rank %d (pid %d) failed with %s; stopping the other ranks\n", c.rank,
                     static_cast<int>(c.pid), describe(status).c_str());
        signal_all(children, SIGTERM);
        kill_pending = true;
        kill_at = std::chrono::steady_clock::now() + kGrace;
      }
    }
    if (g_interrupt != 0 && !interrupted) {
      interrupted = true;
      std::fprintf(stderr, "dgrun: got signal %d; stopping the ranks\n", static_cast<int>(g_interrupt));
      signal_all(children, static_cast<int>(g_interrupt));
      if (!kill_pending) kill_at = std::chrono::steady_clock::now() + kGrace;
      kill_pending = true;
    }
    if (kill_pending && running > 0 && std::chrono::steady_clock::now() >= kill_at) {
      signal_all(children, SIGKILL);
      kill_pending = false;
    }
    // Once every rank is gone, a descendant still holding a pipe must not keep
    // dgrun alive: what it writes later is lost.
    if (running == 0 && ready == 0) {
      for (Stream& s : streams) {
        if (s.fd >= 0) {
          write_lines(s, true);
          ::close(s.fd);
          s.fd = -1;
        }
      }
    }
  }

  if (failed) {
    const Child& c = children[*failed];
    std::fprintf(stderr, "dgrun: FAILED: rank %d (local rank %d, pid %d) ended with %s\n", c.rank,
                 c.rank - o.node_rank * o.nproc, static_cast<int>(c.pid), describe(c.status).c_str());
    return 1;
  }
  if (interrupted) return 128 + static_cast<int>(g_interrupt);
  return 0;
}
