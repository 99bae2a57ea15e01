#include "cli/manage_ca.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/core/run.h"

namespace shareplane {
namespace {

namespace fs = std::filesystem;

constexpr int kOpensslTimeout = 60;

std::vector<std::string> All(
    const std::multimap<std::string, std::string>& opts,
    const std::string& key) {
  std::vector<std::string> out;
  auto [b, e] = opts.equal_range(key);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

std::string One(const std::multimap<std::string, std::string>& opts,
                const std::string& key, const std::string& fallback) {
  auto it = opts.find(key);
  return it == opts.end() ? fallback : it->second;
}

// A DNS name as certificates carry it: letters, digits, '-', '.', '_'.
bool ValidName(const std::string& n) {
  if (n.empty() || n.size() > 253 || n.front() == '.' || n.front() == '-') {
    return false;
  }
  for (char c : n) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.' && c != '_') {
      return false;
    }
  }
  return true;
}

bool ValidIp(const std::string& ip) {
  unsigned char buf[16];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

// openssl with a private umask: its keys are never readable by others.
absl::Status Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  const mode_t old = umask(077);
  absl::Status s = RunCommand(args, kOpensslTimeout);
  umask(old);
  return s;
}

int Fail(std::ostream& err, const std::string& what, const absl::Status& s) {
  err << "error: " << what << ": " << s.message() << "\n";
  return 1;
}

int Init(const std::string& dir, int days, std::ostream& out,
         std::ostream& err) {
  const std::string key = dir + "/ca.key", pem = dir + "/ca.pem";
  if (fs::exists(key)) {
    err << "error: " << key
        << " exists: a new CA would orphan every certificate it signed\n";
    return 1;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    err << "error: cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  absl::Status s = Openssl({"req",
                            "-x509",
                            "-new",
                            "-newkey",
                            "ec",
                            "-pkeyopt",
                            "ec_paramgen_curve:prime256v1",
                            "-nodes",
                            "-days",
                            std::to_string(days),
                            "-subj",
                            "/CN=Shareplane agent plane CA",
                            "-keyout",
                            key,
                            "-out",
                            pem,
                            "-addext",
                            "basicConstraints=critical,CA:TRUE",
                            "-addext",
                            "keyUsage=critical,keyCertSign,cRLSign"});
  if (!s.ok()) return Fail(err, "creating the CA", s);
  fs::permissions(pem, fs::perms::owner_read | fs::perms::owner_write |
                           fs::perms::group_read | fs::perms::others_read);
  out << "CA certificate " << pem << " (give it to every host as "
      << "[compute] grpc_tls_ca_file), key " << key << " (keep it here)\n";
  return 0;
}

int Issue(const std::string& dir, const std::string& name, int days,
          const std::vector<std::string>& dns,
          const std::vector<std::string>& ips, std::ostream& out,
          std::ostream& err) {
  if (!fs::exists(dir + "/ca.key") || !fs::exists(dir + "/ca.pem")) {
    err << "error: no CA in " << dir << " (shareplane-manage ca init)\n";
    return 1;
  }
  std::vector<std::string> san = {"DNS:" + name};
  for (const auto& d : dns) {
    if (!ValidName(d)) {
      err << "error: --dns '" << d << "' is not a DNS name\n";
      return 2;
    }
    san.push_back("DNS:" + d);
  }
  for (const auto& ip : ips) {
    if (!ValidIp(ip)) {
      err << "error: --ip '" << ip << "' is not an IP address\n";
      return 2;
    }
    san.push_back("IP:" + ip);
  }
  const std::string base = dir + "/" + name;
  const std::string ext = base + ".ext", csr = base + ".csr";
  {
    std::ofstream f(ext);
    f << "basicConstraints=critical,CA:FALSE\n"
         "keyUsage=critical,digitalSignature,keyEncipherment\n"
         "extendedKeyUsage=serverAuth,clientAuth\n"
         "subjectAltName="
      << absl::StrJoin(san, ",") << "\n";
    if (!f) {
      err << "error: cannot write " << ext << "\n";
      return 1;
    }
  }
  absl::Status s =
      Openssl({"req", "-new", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + name,
               "-keyout", base + ".key", "-out", csr});
  if (s.ok()) {
    s = Openssl({"x509", "-req", "-in", csr, "-CA", dir + "/ca.pem", "-CAkey",
                 dir + "/ca.key", "-CAcreateserial", "-days",
                 std::to_string(days), "-extfile", ext, "-out", base + ".pem"});
  }
  std::error_code ec;
  fs::remove(ext, ec);
  fs::remove(csr, ec);
  if (!s.ok()) return Fail(err, "issuing the certificate for " + name, s);
  fs::permissions(base + ".pem",
                  fs::perms::owner_read | fs::perms::owner_write |
                      fs::perms::group_read | fs::perms::others_read);
  out << "Certificate " << base << ".pem for " << absl::StrJoin(san, ", ")
      << ", key " << base << ".key: set them as [compute] "
      << "grpc_tls_cert_file and grpc_tls_key_file on " << name << "\n";
  return 0;
}

}  // namespace

int RunCa(const std::vector<std::string>& words,
          const std::multimap<std::string, std::string>& opts,
          std::ostream& out, std::ostream& err) {
  const std::string dir = One(opts, "dir", "/etc/shareplane/pki");
  const bool init = words.size() >= 2 && words[1] == "init";
  int days = 0;
  if (!absl::SimpleAtoi(One(opts, "days", init ? "3650" : "825"), &days) ||
      days < 1) {
    err << "--days takes a positive number of days\n";
    return 2;
  }
  if (init && words.size() == 2) return Init(dir, days, out, err);
  if (words.size() == 3 && words[1] == "issue") {
    if (!ValidName(words[2])) {
      err << "error: '" << words[2]
          << "' is not a host name (letters, digits, '-', '.', '_')\n";
      return 2;
    }
    return Issue(dir, words[2], days, All(opts, "dns"), All(opts, "ip"), out,
                 err);
  }
  err << "usage: shareplane-manage ca init [--dir D] [--days N]\n"
         "       shareplane-manage ca issue NAME [--dir D] [--days N] "
         "[--ip ADDR]... [--dns NAME]...\n";
  return 2;
}

}  // namespace shareplane
