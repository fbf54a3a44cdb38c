#pragma once
// The cluster listener: where Kong data planes in hybrid mode connect (TLS only, always with
// a client certificate) and take their configuration, speaking Kong's "sync v1" protocol on
// /v1/outlet (WebSocket; see payload.hpp and docs/DATA_PLANES.md).
//
// Which control plane a connection belongs to is decided by its client certificate alone:
//   pinned_client_certs  the certificate itself is pinned to the control plane (its SHA-256);
//   pki_client_certs     a CA pinned to the control plane signed it (chain verified, depth 4).
// When one certificate matches several control planes, the TLS server name picks one: its
// first label must be the control plane's id. A refusal is logged (subject, digest, address,
// reason; never a key) and answered before any configuration byte is sent.

#include "cluster/hub.hpp"
#include "cluster/version.hpp"
#include "store/store.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace ok::cluster {

struct ListenerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8005;
  std::string certificate_pem;  // the listener's certificate chain and key
  std::string private_key_pem;
  std::size_t max_payload = 16 * 1024 * 1024;  // Kong's cluster_max_payload: largest frame either way
  std::chrono::milliseconds idle_timeout{45'000};  // Kong's PING_WAIT: 1.5 ping intervals
  std::chrono::milliseconds handshake_timeout{10'000};
  std::size_t max_connections = 20'000;
  KongVersion kong_version;  // the version data planes are checked against
  // Node records not seen for this long are removed (Kong's cluster_data_plane_purge_delay).
  std::chrono::seconds purge_after{14 * 24 * 3600};
};

class Listener {
 public:
  Listener(store::Store& store, Hub& hub, ListenerOptions options);
  ~Listener();  // stops, closing every connection

  // Binds and starts serving on a thread of its own; returns the bound port. Throws
  // std::runtime_error when it cannot bind.
  std::uint16_t start();
  void stop();

  std::size_t open_connections() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ok::cluster
