// SPDX-License-Identifier: Apache-2.0
// tools/args.hpp: the small command-line parser of the tools (--name value and --flag), and
// what every tool shares besides: peak RSS, splitting rows over threads.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lowbit/core/types.hpp"

namespace lowbit::tools {

/// Thrown for a usage error (the tools print it with the usage text and exit with 2).
struct UsageError {
  std::string what;
};

class Args {
 public:
  /// `valued`: options that take a value; `flags`: options that do not.
  Args(int argc, char** argv, const std::set<std::string>& valued,
       const std::set<std::string>& flags) {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (valued.count(a) != 0) {
        if (i + 1 >= argc) throw UsageError{a + " needs a value"};
        if (values_.count(a) != 0) throw UsageError{a + " given twice"};
        values_[a] = argv[++i];
      } else if (flags.count(a) != 0) {
        flags_.insert(a);
      } else {
        throw UsageError{"unknown argument '" + a + "'"};
      }
    }
  }
  bool has(const std::string& k) const { return values_.count(k) != 0 || flags_.count(k) != 0; }
  std::string str(const std::string& k, const std::string& def = "") const {
    const auto it = values_.find(k);
    return it == values_.end() ? def : it->second;
  }
  /// A whole number in [lo, hi], or def when absent.
  long long num(const std::string& k, long long def, long long lo, long long hi) const {
    const auto it = values_.find(k);
    if (it == values_.end()) return def;
    char* end = nullptr;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < lo || v > hi)
      throw UsageError{k + " needs a whole number in " + std::to_string(lo) + ".." +
                       std::to_string(hi) + ", got '" + it->second + "'"};
    return v;
  }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

/// Whether s ends with suffix (file kinds by extension: .gguf, .safetensors).
inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The process's peak resident set so far, in MB (getrusage; Linux reports it in KiB).
inline double peak_rss_mb() {
  struct rusage ru {};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

/// Calls fn(begin, end) on `threads` contiguous chunks of [0, n) (fewer when n is smaller), one
/// std::thread each besides the caller, and waits; the first chunk's exception is rethrown.
template <class Fn>
void parallel_rows(Index n, int threads, const Fn& fn) {
  const auto nt = static_cast<Index>(std::max<Index>(1, std::min<Index>(threads, n)));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(nt));
  auto run = [&](Index k) {
    try {
      fn(n * k / nt, n * (k + 1) / nt);
    } catch (...) {
      errors[static_cast<std::size_t>(k)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (Index k = 1; k < nt; ++k) pool.emplace_back(run, k);
  run(0);
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace lowbit::tools
