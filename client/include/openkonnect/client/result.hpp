// Result<T>: either a value or an Error, never both. It is how every call of this library
// answers; nothing in the library throws for a failure the server or the network can cause.
//
// Why not std::expected: it is C++23 and this library is C++20 (Debian's GCC 12 ships no
// <expected> in C++20 mode). This is the small part of it callers need; once the project moves
// to C++23 it can become an alias of std::expected<T, Error>.
//
// Thread-safety: a Result is a plain value; distinct objects may be used from any threads.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "openkonnect/client/error.hpp"

namespace openkonnect::client {

/// The value of a successful call, or the Error of a failed one.
template <class T>
class [[nodiscard]] Result {
 public:
  /// A success holding `value`.
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  /// A failure holding `error`.
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  /// True on success.
  bool ok() const { return state_.index() == 0; }
  /// ok(), so that `if (result)` reads as "if it worked".
  explicit operator bool() const { return ok(); }

  /// The value. Precondition: ok().
  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  /// value(), as for std::optional. Precondition: ok().
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The error. Precondition: !ok().
  const Error& error() const& {
    assert(!ok());
    return std::get<1>(state_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, Error> state_;
};

/// The result of a call that has no value on success (a delete, a revoke).
template <>
class [[nodiscard]] Result<void> {
 public:
  /// A success.
  Result() = default;
  /// A failure holding `error`.
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT(google-explicit-constructor)

  /// True on success.
  bool ok() const { return !failed_; }
  /// ok().
  explicit operator bool() const { return ok(); }

  /// The error. Precondition: !ok().
  const Error& error() const& {
    assert(!ok());
    return error_;
  }
  Error&& error() && {
    assert(!ok());
    return std::move(error_);
  }

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace openkonnect::client
