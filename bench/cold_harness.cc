#include "bench/cold_harness.h"

#include <sys/mman.h>

#include <algorithm>
#include <cinttypes>
#include <map>
#include <random>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "mmapio/residency.h"
#include "tools/format.h"

namespace mmapio::bench {
namespace {

thread_local CallTimes* g_call_times = nullptr;

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The pages of `paths` in the page cache, by cachestat.
uint64_t CachedPages(const std::vector<std::string>& paths) {
  uint64_t pages = 0;
  for (const std::string& path : paths) {
    absl::StatusOr<FileResidency> residency = SummarizeFile(path);
    if (!residency.ok()) Die(residency.status().ToString());
    pages += residency->summary.resident_pages;
  }
  return pages;
}

// The results of one variant over the rounds.
struct Rounds {
  std::vector<double> values;
  std::vector<double> seconds;
  // Metric names in the order first reported, and their values per round.
  std::vector<std::string> metric_names;
  std::map<std::string, std::vector<double>> metrics;

  void Add(const std::string& name, double value) {
    auto [it, inserted] = metrics.try_emplace(name);
    if (inserted) metric_names.push_back(name);
    it->second.push_back(value);
  }
};

std::string VariantJson(const ColdVariant& v, const Rounds& r) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"name", cli::JsonString(v.name)},
      {"kind", cli::JsonString(v.kind)},
      {"description", cli::JsonString(v.description)},
      {"params", JsonObject(v.params)},
  };
  if (!v.skipped.empty()) {
    fields.emplace_back("skipped", cli::JsonString(v.skipped));
  } else {
    fields.emplace_back("values", JsonArray(r.values));
    fields.emplace_back("seconds", JsonArray(r.seconds));
    std::vector<std::pair<std::string, std::string>> metrics;
    for (const std::string& name : r.metric_names) {
      metrics.emplace_back(name, JsonArray(r.metrics.at(name)));
    }
    fields.emplace_back("metrics", JsonObject(metrics));
  }
  return JsonObject(fields);
}

std::string ParamsText(const ColdVariant& v) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : v.params) {
    std::string text = value;
    text.erase(std::remove(text.begin(), text.end(), '"'), text.end());
    parts.push_back(absl::StrCat(key, "=", text));
  }
  return parts.empty() ? "" : absl::StrCat(" ", absl::StrJoin(parts, " "));
}

}  // namespace

uint64_t PageStamp(uint64_t page) { return Mix(page); }

void FillPageStamps(uint64_t offset, uint8_t* block, uint64_t length) {
  for (uint64_t at = 0; at < length; at += kPage) {
    const uint64_t stamp = PageStamp((offset + at) / kPage);
    std::memcpy(block + at, &stamp, sizeof(stamp));
  }
}

uint64_t StampSum(absl::Span<const uint64_t> pages) {
  uint64_t sum = 0;
  for (uint64_t page : pages) sum += PageStamp(page);
  return sum;
}

uint64_t StampSumOfPrefix(uint64_t count) {
  uint64_t sum = 0;
  for (uint64_t page = 0; page < count; ++page) sum += PageStamp(page);
  return sum;
}

PagePermutation::PagePermutation(uint64_t file_pages, uint64_t seed)
    : pages_(file_pages), seed_(seed) {
  if (file_pages > UINT32_MAX) Die("the file has too many pages");
  Shuffle();
}

void PagePermutation::Shuffle() {
  for (size_t i = 0; i < pages_.size(); ++i) {
    pages_[i] = static_cast<uint32_t>(i);
  }
  // Fisher-Yates with mt19937_64, whose output the standard fixes: the
  // same pages on every machine for a seed.
  std::mt19937_64 rng(seed_);
  for (size_t i = pages_.size(); i > 1; --i) {
    std::swap(pages_[i - 1], pages_[rng() % i]);
  }
  next_ = 0;
}

std::vector<uint64_t> PagePermutation::Next(uint64_t count) {
  if (count > pages_.size()) {
    Die(absl::StrFormat("%d distinct pages asked of a file of %d", count,
                        pages_.size()));
  }
  if (next_ + count > pages_.size()) {
    ++seed_;
    Shuffle();
  }
  std::vector<uint64_t> slice(pages_.begin() + next_,
                              pages_.begin() + next_ + count);
  next_ += count;
  return slice;
}

namespace {
uint64_t g_resident_sampling = 16;
}  // namespace

void ResidentCounter::SetSamplingInterval(uint64_t every) {
  g_resident_sampling = every;
}

uint64_t ResidentCounter::SamplingInterval() { return g_resident_sampling; }

void ResidentCounter::Sample(const void* page) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(page) & ~(kPage - 1);
  unsigned char vec = 0;
  if (mincore(reinterpret_cast<void*>(address), kPage, &vec) != 0) {
    DieErrno("mincore");
  }
  ++checked_;
  resident_ += vec & 1;
}

CallTimes::CallTimes(size_t expected_calls) {
  stack_.reserve(16);
  samples_ns_.reserve(expected_calls);
  sample_names_.reserve(expected_calls);
  names_.reserve(8);
}

void CallTimes::Push(Frame::Kind kind, const void* coroutine,
                     const char* name) {
  stack_.push_back(
      Frame{kind, coroutine, name, Clock::now(), Clock::duration(0)});
}

CallTimes::Clock::duration CallTimes::Pop() {
  const Clock::duration elapsed = Clock::now() - stack_.back().start;
  stack_.pop_back();
  return elapsed;
}

void CallTimes::ExitCall() {
  const Clock::duration excluded = stack_.back().excluded;
  const char* name = stack_.back().name;
  const Clock::duration elapsed = Pop();
  // A few names per run: a linear search by address (literals) is enough.
  size_t index = 0;
  while (index < names_.size() && names_[index] != name) ++index;
  if (index == names_.size()) {
    if (names_.size() == UINT8_MAX) Die("too many kinds of calls");
    names_.push_back(name);
  }
  sample_names_.push_back(static_cast<uint8_t>(index));
  samples_ns_.push_back(
      std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed - excluded)
          .count());
}

void CallTimes::ExitUser() {
  const Clock::duration elapsed = Pop();
  // User code inside a call is not the call's time. User code outside any
  // call (a callback on the thread's own initiative) is nobody's.
  if (!stack_.empty() && stack_.back().kind == Frame::kCall) {
    stack_.back().excluded += elapsed;
  }
}

void CallTimes::SuspendUser(const void* coroutine) {
  if (stack_.empty() || stack_.back().kind != Frame::kUser ||
      stack_.back().coroutine != coroutine || coroutine == nullptr) {
    return;
  }
  ExitUser();
}

void CallTimes::AddMetrics(
    std::vector<std::pair<std::string, double>>& metrics) const {
  // A variant that makes no calls (a plain fault) has no such metrics.
  if (samples_ns_.empty()) return;
  const auto add = [&metrics](const std::string& suffix,
                              std::vector<double>& us, bool median) {
    std::sort(us.begin(), us.end());
    if (median)
      metrics.emplace_back("call_p50_us" + suffix, Percentile(us, 0.50));
    metrics.emplace_back("call_p99_us" + suffix, Percentile(us, 0.99));
    metrics.emplace_back("call_max_us" + suffix, us.back());
    metrics.emplace_back("calls" + suffix, static_cast<double>(us.size()));
  };
  std::vector<double> all;
  all.reserve(samples_ns_.size());
  for (int64_t ns : samples_ns_) all.push_back(static_cast<double>(ns) / 1e3);
  add("", all, true);
  for (size_t name = 0; name < names_.size(); ++name) {
    std::vector<double> us;
    for (size_t i = 0; i < samples_ns_.size(); ++i) {
      if (sample_names_[i] == name) {
        us.push_back(static_cast<double>(samples_ns_[i]) / 1e3);
      }
    }
    add(absl::StrCat(":", names_[name]), us, false);
  }
}

std::vector<std::pair<std::string, std::string>> CallMetricNotes(
    const std::string& what) {
  return {
      {"call_p50_us", what},
      {"call_p99_us", "as call_p50_us, 99th percentile"},
      {"call_max_us", "as call_p50_us, the slowest call"},
      {"calls", "calls timed in the run"},
      {"call_p99_us:F, call_max_us:F, calls:F",
       "the same for the calls of function F alone"},
  };
}

CallTimes* CurrentCallTimes() { return g_call_times; }

ThreadCallTimes::ThreadCallTimes(CallTimes& times) : previous_(g_call_times) {
  g_call_times = &times;
}

ThreadCallTimes::~ThreadCallTimes() { g_call_times = previous_; }

void EndCoroutine(const CoroutineClock& clock) {
  if (CallTimes* times = CurrentCallTimes()) times->SuspendUser(clock.frame);
}

std::string JsonObject(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  return absl::StrCat(
      "{",
      absl::StrJoin(fields, ", ",
                    [](std::string* out,
                       const std::pair<std::string, std::string>& field) {
                      absl::StrAppend(out, cli::JsonString(field.first), ": ",
                                      field.second);
                    }),
      "}");
}

std::string RunWorkload(const Workload& workload, int rounds) {
  const double start = Now();
  std::vector<Rounds> results(workload.variants.size());
  for (const ColdVariant& v : workload.variants) {
    if (!v.skipped.empty()) {
      Log(absl::StrCat(workload.name, ": ", v.name, ParamsText(v),
                       " skipped: ", v.skipped));
    }
  }
  RunInterleaved(
      workload.name, workload.variants, rounds, [&](int round, size_t i) {
        const ColdVariant& v = workload.variants[i];
        Rounds& r = results[i];
        for (const std::string& path : workload.files) MakeCold(path);
        RunResult m = v.run();
        if (m.checksum.has_value() && *m.checksum != m.expected_checksum) {
          Die(absl::StrFormat(
              "%s/%s%s read wrong data: checksum %016x, expected %016x",
              workload.name, v.name, ParamsText(v), *m.checksum,
              m.expected_checksum));
        }
        if (m.seconds <= 0) {
          Die(absl::StrCat(workload.name, "/", v.name, " measured no time"));
        }
        if (m.pages_asked > 0) {
          m.metrics.emplace_back(
              "amplification",
              static_cast<double>(CachedPages(workload.files)) /
                  static_cast<double>(m.pages_asked));
        }
        const double value = m.work / m.seconds / workload.unit_scale;
        r.values.push_back(value);
        r.seconds.push_back(m.seconds);
        std::string detail;
        for (const auto& [name, metric] : m.metrics) {
          r.Add(name, metric);
          absl::StrAppend(&detail, " ", name, "=",
                          absl::StrFormat("%.4g", metric));
        }
        Log(absl::StrFormat("  round %d %s%s: %.4g %s;%s", round + 1, v.name,
                            ParamsText(v), value, workload.unit, detail));
      });

  std::vector<std::string> variants;
  for (size_t i = 0; i < workload.variants.size(); ++i) {
    variants.push_back(VariantJson(workload.variants[i], results[i]));
  }
  std::vector<std::pair<std::string, std::string>> notes;
  for (const auto& [name, note] : workload.metric_notes) {
    notes.emplace_back(name, cli::JsonString(note));
  }
  std::vector<std::pair<std::string, std::string>> engines;
  if (workload.engines) engines = workload.engines();
  const double elapsed = Now() - start;
  Log(absl::StrFormat("%s took %.0f s", workload.name, elapsed));
  return JsonObject({
      {"name", cli::JsonString(workload.name)},
      {"description", cli::JsonString(workload.description)},
      {"unit", cli::JsonString(workload.unit)},
      {"rounds", absl::StrCat(rounds)},
      {"elapsed_seconds", JsonNumber(elapsed)},
      {"config", JsonObject(workload.config)},
      {"metric_notes", JsonObject(notes)},
      {"engines", JsonObject(engines)},
      {"variants",
       absl::StrCat("[\n    ", absl::StrJoin(variants, ",\n    "), "]")},
  });
}

}  // namespace mmapio::bench
