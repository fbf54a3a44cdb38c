// Items: the entries of a list endpoint, fetched a page at a time as they are consumed. The two
// list dialects of the contract are both walked to their end and no further:
//   - numbered pages (platform APIs: `page[size]`, `page[number]`, `meta.page.total`): stops
//     after the page that reaches `total`, or at an empty or short page;
//   - size/offset (core entities: `size`, `offset` in, `data` and `offset` out): follows
//     `offset` until an answer has none.
// A failure (of any page, the first included) is yielded once, as an Error, and ends the walk:
// items already yielded stay valid, and nothing is skipped silently.
//
//   for (const auto& item : client.control_planes()) {
//     if (!item) return report(item.error());
//     use(item->as_object());
//   }
//
// Thread-safety: one Items object belongs to one thread at a time; several Items of one Client
// may run in different threads. The Client must outlive it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "openkonnect/client/result.hpp"

namespace openkonnect::client {

class Client;

/// Query parameters, unencoded (`{"page[size]", "10"}`); the Client percent-encodes them.
using Query = std::vector<std::pair<std::string, std::string>>;

/// Which paging parameters and envelope a list endpoint uses.
enum class ListDialect {
  NumberedPages,  ///< `page[size]`/`page[number]` in, `{data, meta: {page: {number, size, total}}}` out.
  SizeOffset,     ///< `size`/`offset` in, `{data, offset?, next?}` out.
};

/// A lazily fetched list; see the file comment.
class Items {
 public:
  /// Lists `path` (encoded, without query) with `query` plus the dialect's paging parameters,
  /// `page_size` entries a page. Fetches nothing until the first next().
  Items(Client& client, ListDialect dialect, std::string path, Query query, int page_size);

  /// The next entry; an Error once if a page could not be fetched or had the wrong shape
  /// (then the walk is over); nullopt after the last entry.
  std::optional<Result<boost::json::value>> next();

  /// Every remaining entry, or the first Error.
  Result<boost::json::array> all();

  /// Pages requested so far (a failed request counts).
  int pages_fetched() const { return pages_fetched_; }

  /// Marks the end of a range-for over Items.
  struct Sentinel {};

  /// An input iterator over next()'s results, for range-for.
  class Iterator {
   public:
    using value_type = Result<boost::json::value>;  ///< an entry, or the Error that ended the walk
    using difference_type = std::ptrdiff_t;
    /// Positions on the first entry of `items` still to come (fetching a page if needed).
    explicit Iterator(Items* items) : items_(items) { current_ = items_->next(); }
    /// The current entry or Error. Precondition: not at the end.
    const value_type& operator*() const { return *current_; }
    const value_type* operator->() const { return &*current_; }
    /// Moves to the next entry; may fetch a page, and so block on the network.
    Iterator& operator++() {
      current_ = items_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    /// At the end: after the last entry, or after the Error.
    friend bool operator==(const Iterator& it, Sentinel) { return !it.current_.has_value(); }

   private:
    Items* items_;
    std::optional<value_type> current_;
  };

  /// Fetches the first page (if not yet fetched) and points at the next entry.
  Iterator begin() { return Iterator(this); }
  /// The end of the walk.
  Sentinel end() const { return {}; }

 private:
  Result<void> fetch_page();

  Client* client_;
  ListDialect dialect_;
  std::string path_;
  Query query_;
  int page_size_;
  boost::json::array buffer_;  // the current page's entries
  std::size_t position_ = 0;   // the next entry of buffer_ to yield
  int next_number_ = 1;        // NumberedPages: the page to ask for next
  std::string offset_;         // SizeOffset: the offset to send next (empty: the first page)
  bool last_page_ = false;     // no page after buffer_
  bool finished_ = false;      // an Error was yielded, or every entry was
  int pages_fetched_ = 0;
};

}  // namespace openkonnect::client
