#pragma once
// What the HTTP server needs from the application it serves. The server (src/http) knows only
// this interface; api::App implements it, so the transport never depends on the layer above.
//
// A request is handled in up to two steps, so that the I/O threads never block:
//   begin()    runs on the connection's I/O thread and does the cheap part. Its Exchange says
//              what comes next: the answer itself (`respond`), work for a worker thread
//              (`work`: then complete() runs there), or a write that ends without any thread
//              waiting (`deferred_write`: start_deferred(), then finish_deferred() once the
//              store has called back).
//   transport_error() answers what the transport itself refused (413, 431, malformed HTTP).

#include "errors/api_error.hpp"
#include "http/request.hpp"

#include <exception>
#include <functional>
#include <memory>

namespace ok::http {

// One request on its way through the application; the application derives its own state.
class Exchange {
 public:
  enum class Next { respond, work, deferred_write };
  virtual ~Exchange() = default;

  Next next = Next::respond;
  Response response;  // the answer, when next == respond
};

// Told how a deferred write ended: nullptr once it is durable, else its error.
using WriteDone = std::function<void(std::exception_ptr)>;

class Application {
 public:
  virtual ~Application() = default;

  virtual std::unique_ptr<Exchange> begin(Request& request) = 0;
  // For Next::work, on a worker thread.
  virtual Response complete(Exchange& exchange) = 0;
  // For Next::deferred_write: starts the write; `done` runs on a thread of the store's.
  virtual void start_deferred(Exchange& exchange, WriteDone done) = 0;
  // Then, on the connection's thread, the answer.
  virtual Response finish_deferred(Exchange& exchange, std::exception_ptr error) = 0;

  virtual Response transport_error(const errors::ApiError& error, const Request& partial) = 0;

  virtual void connection_opened() = 0;
  virtual void connection_closed() = 0;
};

}  // namespace ok::http
