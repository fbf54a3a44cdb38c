#pragma once
// Typed store failures. Backends translate their own error codes into these, so nothing
// above the Store interface knows which database runs.

#include <stdexcept>
#include <string>

namespace ok::store {

// A unique constraint rejected the write. `constraint` names the logical key
// ("control_planes.name", "users.email", ...), which handlers turn into a 409 detail.
class ConflictError : public std::runtime_error {
 public:
  explicit ConflictError(std::string constraint)
      : std::runtime_error("unique constraint: " + constraint), constraint_(std::move(constraint)) {}
  const std::string& constraint() const { return constraint_; }

 private:
  std::string constraint_;
};

// The write was refused because it would break an invariant the store guards inside its
// transaction (so that concurrent requests cannot both pass a check and then both write):
// removing the last member of the Organization Admin team, an eleventh token, ...
// `rule` names the invariant; handlers map it to the contract's answer.
class InvariantError : public std::runtime_error {
 public:
  explicit InvariantError(std::string rule) : std::runtime_error("invariant: " + rule), rule_(std::move(rule)) {}
  const std::string& rule() const { return rule_; }

 private:
  std::string rule_;
};

// The database cannot be reached or written (missing, read-only, disk full, locked for too
// long). Answered with 503; the server keeps running and recovers when the cause goes away.
class UnavailableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ok::store
