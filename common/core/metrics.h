// Process metrics in Prometheus' text exposition format: counters, gauges
// computed when scraped, and histograms, with labels.
// Thread-safe; one registry per process (Metrics::Global()).
#ifndef SHAREPLANE_COMMON_CORE_METRICS_H_
#define SHAREPLANE_COMMON_CORE_METRICS_H_

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/core/mutex.h"

namespace shareplane {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  static Metrics& Global();

  // Adds `v` to counter `name` (a name ending in _total).
  void Increment(const std::string& name, const MetricLabels& labels,
                 double v = 1) ABSL_LOCKS_EXCLUDED(mu_);
  // Records one observation (seconds) in histogram `name`.
  void Observe(const std::string& name, const MetricLabels& labels,
               double seconds) ABSL_LOCKS_EXCLUDED(mu_);
  // A gauge whose value is computed at each scrape (e.g. outbox depth).
  // A failing `fn` (returning NaN) leaves the gauge out.
  void GaugeFunction(const std::string& name, const std::string& help,
                     std::function<double()> fn) ABSL_LOCKS_EXCLUDED(mu_);
  // HELP text of a metric (Global() describes Shareplane's own).
  void Describe(const std::string& name, const std::string& help)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Everything, in the text format (version 0.0.4).
  std::string Render() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Histogram {
    std::vector<double> counts;  // per bucket, not cumulative
    double sum = 0;
    double count = 0;
  };
  enum class Kind { kCounter, kHistogram };
  struct Family {
    Kind kind = Kind::kCounter;
    std::string help;
    std::map<std::string, double> values;  // rendered labels -> value
    std::map<std::string, Histogram> histograms;
  };
  Family& FamilyLocked(const std::string& name, Kind kind)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Mutex mu_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
  // The functions run outside mu_: Render copies the map first.
  std::map<std::string, std::pair<std::string, std::function<double()>>>
      functions_ ABSL_GUARDED_BY(mu_);
};

// A request path as a bounded metric label: segments that are not route
// words (ids, names, keys) become "{id}", the query is dropped.
std::string RouteTemplate(const std::string& path);

// Latency buckets (seconds) every histogram uses.
const std::vector<double>& MetricBuckets();

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_METRICS_H_
