// Process metrics in Prometheus' text exposition format: counters, gauges
// computed when scraped, and histograms, with labels.
// Thread-safe; one registry per process (Metrics::Global()).
#ifndef SHAREPLANE_COMMON_CORE_METRICS_H_
#define SHAREPLANE_COMMON_CORE_METRICS_H_

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace shareplane {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  static Metrics& Global();

  // Adds `v` to counter `name` (a name ending in _total).
  void Increment(const std::string& name, const MetricLabels& labels,
                 double v = 1);
  // Records one observation (seconds) in histogram `name`.
  void Observe(const std::string& name, const MetricLabels& labels,
               double seconds);
  // A gauge whose value is computed at each scrape (e.g. outbox depth).
  // A failing `fn` (returning NaN) leaves the gauge out.
  void GaugeFunction(const std::string& name, const std::string& help,
                     std::function<double()> fn);
  // HELP text of a metric (Global() describes Shareplane's own).
  void Describe(const std::string& name, const std::string& help);

  // Everything, in the text format (version 0.0.4).
  std::string Render();

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
  Family& FamilyLocked(const std::string& name, Kind kind);

  std::mutex mu_;
  std::map<std::string, Family> families_;
  std::map<std::string, std::pair<std::string, std::function<double()>>>
      functions_;
};

// A request path as a bounded metric label: segments that are not route
// words (ids, names, keys) become "{id}", the query is dropped.
std::string RouteTemplate(const std::string& path);

// Latency buckets (seconds) every histogram uses.
const std::vector<double>& MetricBuckets();

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_METRICS_H_
