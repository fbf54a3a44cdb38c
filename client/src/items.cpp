#include "openkonnect/client/items.hpp"

#include <string>

#include "openkonnect/client/client.hpp"

namespace openkonnect::client {

namespace bj = boost::json;

namespace {

Error shape_error(const std::string& detail) { return transport_error(TransportFailure::Protocol, detail); }

std::optional<std::int64_t> integer(const bj::object* object, std::string_view key) {
  if (object == nullptr) return std::nullopt;
  const auto* value = object->if_contains(key);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  boost::system::error_code ec;
  const auto number = value->to_number<std::int64_t>(ec);
  if (ec) return std::nullopt;
  return number;
}

const bj::object* object_member(const bj::object* object, std::string_view key) {
  if (object == nullptr) return nullptr;
  const auto* value = object->if_contains(key);
  return value != nullptr && value->is_object() ? &value->get_object() : nullptr;
}

}  // namespace

Items::Items(Client& client, ListDialect dialect, std::string path, Query query, int page_size)
    : client_(&client), dialect_(dialect), path_(std::move(path)), query_(std::move(query)), page_size_(page_size) {}

std::optional<Result<bj::value>> Items::next() {
  for (;;) {
    if (finished_) return std::nullopt;
    if (position_ < buffer_.size()) return Result<bj::value>(std::move(buffer_[position_++]));
    if (last_page_) {
      finished_ = true;
      return std::nullopt;
    }
    if (auto fetched = fetch_page(); !fetched) {
      finished_ = true;
      return Result<bj::value>(std::move(fetched).error());
    }
  }
}

Result<bj::array> Items::all() {
  bj::array entries;
  while (auto entry = next()) {
    if (!*entry) return std::move(*entry).error();
    entries.push_back(std::move(**entry));
  }
  return entries;
}

Result<void> Items::fetch_page() {
  Query query = query_;
  const std::string size = std::to_string(page_size_);
  if (dialect_ == ListDialect::NumberedPages) {
    query.emplace_back("page[size]", size);
    query.emplace_back("page[number]", std::to_string(next_number_));
  } else {
    query.emplace_back("size", size);
    if (!offset_.empty()) query.emplace_back("offset", offset_);
  }
  ++pages_fetched_;
  auto answer = client_->call(Method::Get, with_query(path_, query));
  if (!answer) return std::move(answer).error();
  auto* envelope = answer->if_object();
  bj::value* data = envelope != nullptr ? envelope->if_contains("data") : nullptr;
  if (data == nullptr || !data->is_array()) return shape_error("the list answer has no [data] array");
  buffer_ = std::move(data->get_array());
  position_ = 0;

  if (dialect_ == ListDialect::NumberedPages) {
    // meta.page{number,size,total}; a few identity lists have it flat in meta.
    const auto* meta = object_member(envelope, "meta");
    const auto* page = object_member(meta, "page");
    if (page == nullptr) page = meta;
    const auto total = integer(page, "total");
    // The server's size wins: it is what it filled pages up to.
    const auto served_size = integer(page, "size").value_or(page_size_);
    const auto number = integer(page, "number").value_or(next_number_);
    last_page_ = buffer_.empty() || static_cast<std::int64_t>(buffer_.size()) < served_size ||
                 (total && number * served_size >= *total);
    next_number_ = static_cast<int>(number) + 1;
    return {};
  }

  const auto* offset = envelope->if_contains("offset");
  if (offset == nullptr || offset->is_null() || (offset->is_string() && offset->get_string().empty())) {
    last_page_ = true;
    return {};
  }
  if (!offset->is_string()) return shape_error("the list answer's [offset] is not a string");
  // A server that hands back the offset it was given would have us loop forever.
  if (offset->get_string() == offset_) return shape_error("the list answer repeats offset [" + offset_ + "]");
  offset_ = std::string(offset->get_string());
  return {};
}

}  // namespace openkonnect::client
