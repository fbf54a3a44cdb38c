// A Transport for the unit tests: answers from a script (one answer per request, in order) or
// from a function of the request, and records every request it was sent.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "openkonnect/client/client.hpp"

namespace openkonnect::client::testing {

/// A response of `status` with a body and extra headers.
inline Response answer(int status, std::string body = {}, Headers headers = {}) {
  return Response{.status = status, .headers = std::move(headers), .body = std::move(body)};
}

/// A problem+json body as openkonnect writes it.
inline std::string problem(int status, const std::string& title, const std::string& detail,
                           const std::string& extra = {}) {
  return R"({"status":)" + std::to_string(status) + R"(,"title":")" + title + R"(","type":"https://httpstatuses.com/)" +
         std::to_string(status) + R"(","instance":"kong:trace:1234567890123456789","detail":")" + detail +
         R"(","message":")" + detail + "\"" + extra + "}";
}

class FakeTransport final : public Transport {
 public:
  using Handler = std::function<Result<Response>(const Request&)>;

  /// Answers requests with `script` in order; a request beyond it fails the test's expectations
  /// (an empty 599 answer).
  void script(std::vector<Result<Response>> answers) {
    for (auto& a : answers) script_.push_back(std::move(a));
  }
  /// Answers every request with `handler` (after the script is used up).
  void handle(Handler handler) { handler_ = std::move(handler); }

  Result<Response> send(const Request& request) override {
    std::lock_guard lock(mutex_);
    requests.push_back(request);
    if (!script_.empty()) {
      auto next = std::move(script_.front());
      script_.pop_front();
      return next;
    }
    if (handler_) return handler_(request);
    return answer(599);
  }

  std::vector<Request> requests;

 private:
  std::mutex mutex_;
  std::deque<Result<Response>> script_;
  Handler handler_;
};

/// Options whose waits are recorded instead of slept.
struct RecordedSleeps {
  std::vector<std::chrono::milliseconds> waits;
  std::function<void(std::chrono::milliseconds)> recorder() {
    return [this](std::chrono::milliseconds wait) { waits.push_back(wait); };
  }
};

}  // namespace openkonnect::client::testing
