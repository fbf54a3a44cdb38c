#pragma once
// Sends one batch of audit entries to a receiver: an HTTP(S) POST with a deadline. TLS
// verifies the receiver's certificate chain against the system's CA store and its name, unless
// the webhook says skip_ssl_verification (as Konnect's setting does).

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace ok::audit {

struct WebhookPost {
  std::string endpoint;  // http:// or https:// URL
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool skip_ssl_verification = false;
  std::chrono::milliseconds timeout{10'000};
};

struct WebhookAnswer {
  unsigned status = 0;  // 0: no answer (no connection, TLS refused, timed out)
  std::string message;  // the reason phrase, or what went wrong before one
  bool ok() const { return status >= 200 && status < 300; }
};

class WebhookClient {
 public:
  WebhookClient();
  // Never throws: every failure is an answer with status 0.
  WebhookAnswer post(const WebhookPost& request);

 private:
  boost::asio::ssl::context verifying_;
  boost::asio::ssl::context trusting_;
};

}  // namespace ok::audit
