#include "common/core/metrics.h"

#include <cmath>
#include <set>
#include <sstream>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace shareplane {
namespace {

std::string RenderLabels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    absl::StrAppend(
        &out, i ? "," : "", labels[i].first, "=\"",
        absl::StrReplaceAll(labels[i].second,
                            {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}}),
        "\"");
  }
  return out + "}";
}

// Adds `extra` (le="...") to rendered labels.
std::string WithLabel(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream s;
  s.precision(12);
  s << v;
  return s.str();
}

}  // namespace

std::string RouteTemplate(const std::string& path) {
  static const auto* words =
      new std::set<std::string, std::less<>>{"v2",
                                             "v2.1",
                                             "servers",
                                             "detail",
                                             "action",
                                             "shares",
                                             "flavors",
                                             "os-extra_specs",
                                             "os-services",
                                             "os-hypervisors",
                                             "os-instance-actions",
                                             "share-access-rules",
                                             "resource-locks",
                                             "export_locations",
                                             "healthcheck",
                                             "metrics",
                                             "openstack",
                                             "latest",
                                             "meta_data.json"};
  std::string out;
  const std::string_view p(path.data(), path.find('?') == std::string::npos
                                            ? path.size()
                                            : path.find('?'));
  size_t start = 0;
  while (start < p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    if (end > start) {
      const std::string_view seg = p.substr(start, end - start);
      out += "/";
      out += words->count(seg) ? std::string(seg) : std::string("{id}");
    }
    start = end + 1;
  }
  return out.empty() ? "/" : out;
}

const std::vector<double>& MetricBuckets() {
  static const auto* buckets =
      new std::vector<double>{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                              0.25,  0.5,    1,     2.5,  5,     10,   30};
  return *buckets;
}

Metrics& Metrics::Global() {
  static Metrics* metrics = [] {
    auto* m = new Metrics();
    for (const auto& [name, help] :
         std::vector<std::pair<const char*, const char*>>{
             {"shareplane_api_requests_total",
              "Compute API requests by method, route template and status"},
             {"shareplane_api_request_duration_seconds",
              "Compute API request latency"},
             {"shareplane_api_grpc_requests_total",
              "Public gRPC API calls by RPC and canonical code"},
             {"shareplane_api_grpc_request_duration_seconds",
              "Public gRPC API call latency"},
             {"shareplane_workflow_runs_total",
              "Conductor task runs by kind and result (done or requeued)"},
             {"shareplane_workflow_duration_seconds",
              "Conductor task run duration"},
             {"shareplane_agent_heartbeats_total",
              "Agent heartbeats received by host and result"},
             {"shareplane_agent_registry_calls_total",
              "Registration and heartbeat calls of this agent by result"},
             {"shareplane_manila_request_duration_seconds",
              "Manila API call latency by method and call"},
             {"shareplane_manila_errors_total",
              "Manila API calls that failed, by call and HTTP code"},
             {"shareplane_keystone_validations_total",
              "Token validations Keystone answered (cache misses), by result"},
             {"shareplane_amqp_dead_lettered_total",
              "Task messages moved to <queue>.dead (failed too often or "
              "rejected), by queue"},
         }) {
      m->Describe(name, help);
    }
    return m;
  }();
  return *metrics;
}

Metrics::Family& Metrics::FamilyLocked(const std::string& name, Kind kind) {
  Family& f = families_[name];
  // The first sample fixes the kind (a family may exist by its description
  // alone).
  if (f.values.empty() && f.histograms.empty()) f.kind = kind;
  return f;
}

void Metrics::Increment(const std::string& name, const MetricLabels& labels,
                        double v) {
  MutexLock lock(&mu_);
  FamilyLocked(name, Kind::kCounter).values[RenderLabels(labels)] += v;
}

void Metrics::Observe(const std::string& name, const MetricLabels& labels,
                      double seconds) {
  const auto& buckets = MetricBuckets();
  MutexLock lock(&mu_);
  Histogram& h =
      FamilyLocked(name, Kind::kHistogram).histograms[RenderLabels(labels)];
  if (h.counts.empty()) h.counts.assign(buckets.size() + 1, 0);
  size_t i = 0;
  while (i < buckets.size() && seconds > buckets[i]) ++i;
  h.counts[i] += 1;
  h.sum += seconds;
  h.count += 1;
}

void Metrics::GaugeFunction(const std::string& name, const std::string& help,
                            std::function<double()> fn) {
  MutexLock lock(&mu_);
  functions_[name] = {help, std::move(fn)};
}

void Metrics::Describe(const std::string& name, const std::string& help) {
  MutexLock lock(&mu_);
  // A family with a description and no samples renders nothing.
  families_[name].help = help;
}

std::string Metrics::Render() {
  // Computed gauges run outside the lock (they may query a database).
  std::map<std::string, std::pair<std::string, std::function<double()>>> fns;
  {
    MutexLock lock(&mu_);
    fns = functions_;
  }
  std::string out;
  for (const auto& [name, fn] : fns) {
    const double v = fn.second();
    if (std::isnan(v)) continue;
    absl::StrAppend(&out, "# HELP ", name, " ", fn.first, "\n# TYPE ", name,
                    " gauge\n", name, " ", Number(v), "\n");
  }
  MutexLock lock(&mu_);
  const auto& buckets = MetricBuckets();
  for (const auto& [name, f] : families_) {
    if (f.values.empty() && f.histograms.empty()) continue;
    if (!f.help.empty())
      absl::StrAppend(&out, "# HELP ", name, " ", f.help, "\n");
    absl::StrAppend(&out, "# TYPE ", name, " ",
                    f.kind == Kind::kCounter ? "counter" : "histogram", "\n");
    for (const auto& [labels, v] : f.values) {
      absl::StrAppend(&out, name, labels, " ", Number(v), "\n");
    }
    for (const auto& [labels, h] : f.histograms) {
      double cumulative = 0;
      for (size_t i = 0; i <= buckets.size(); ++i) {
        cumulative += h.counts[i];
        const std::string le =
            i < buckets.size() ? Number(buckets[i]) : std::string("+Inf");
        absl::StrAppend(&out, name, "_bucket",
                        WithLabel(labels, "le=\"" + le + "\""), " ",
                        Number(cumulative), "\n");
      }
      absl::StrAppend(&out, name, "_sum", labels, " ", Number(h.sum), "\n",
                      name, "_count", labels, " ", Number(h.count), "\n");
    }
  }
  return out;
}

}  // namespace shareplane
