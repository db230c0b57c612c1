// Reader: a read-only view of one YAML node that knows its path in the document
// ("routes[2].plugins.rate_limit.limit") and records errors there instead of throwing.
// The loader and every plugin's config parser read YAML only through it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/model.h"
#include "config/values.h"

namespace turnpike::config {

// How to read a config block, in a plugin's parse function:
//
//   if (!block.expect_map({"limit", "window", "burst"})) return nullptr;
//   auto limit = block.required("limit").integer(1, kMaxLimit);
//   auto window = block.child("window").duration();  // absent: nullopt, no error
//   if (block.has_errors()) return nullptr;
//
// Every getter has the same contract: an absent key gives nullopt and no error (the caller picks
// the default, or uses required()); a present but invalid value gives nullopt and records one
// error at this path. `${NAME}` in any scalar read through a getter is replaced by the
// environment variable NAME (unset: an error); `$${` is a literal `${`.
class Reader {
 public:
  // Looks up ${NAME}; nullopt when NAME is not set.
  using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

  // The top of a document (or of a block parsed on its own, as in a plugin's unit test).
  // `path` prefixes every error ("" = the whole config, shown as "config"). Errors are appended
  // to `errors`, which must outlive every Reader derived from this one. `env` unset: the
  // process environment.
  static Reader root(const YAML::Node& node, std::vector<ConfigError>& errors, EnvLookup env = {},
                     std::string path = "");

  // ---- Where this is and what it holds.
  const std::string& path() const { return path_; }
  bool present() const { return present_; }  // the key is written, even with no value
  bool is_null() const;                      // absent, or written with no value (`key:`, `~`)
  bool is_map() const { return present_ && node_.IsMap(); }
  bool is_list() const { return present_ && node_.IsSequence(); }
  bool is_scalar() const { return present_ && node_.IsScalar(); }
  int line() const { return mark_.is_null() ? 0 : mark_.line + 1; }  // 1-based; 0 unknown
  // The raw node, for the rare shape the getters do not cover. Scalars read from it are not
  // ${NAME}-expanded; prefer the getters.
  const YAML::Node& node() const { return node_; }

  // ---- Errors.
  // Records "PATH: message".
  void error(std::string message) const;
  // For keys the spec defines but this build does not implement: when present, records
  // "PATH: not supported yet", so that they are never silently ignored.
  void not_supported() const;
  // True when an error has been recorded at this path or below it (by any Reader of this
  // document), e.g. for a plugin parse function to return null after reading everything.
  bool has_errors() const;

  // ---- Structure.
  // Checks that this is a map whose keys are all in `allowed_keys`; each other key is recorded as
  // "PATH.key: unknown key" with a "did you mean" for a close one, and a key written twice as
  // "PATH.key: duplicate key". Absent or null counts as an empty map. False when this is not a
  // map (an error is recorded); unknown keys do not make it false, so reading goes on.
  bool expect_map(std::initializer_list<std::string_view> allowed_keys) const;
  // The value under `key` (path "PATH.key"); absent when this is not a map or has no such key.
  Reader child(std::string_view key) const;
  // As child(), and records "PATH.key: required" when the key is absent.
  Reader required(std::string_view key) const;
  // Element `i` of a list (path "PATH[i]"); absent when out of range or not a list.
  Reader index(size_t i) const;
  // The elements of a list. Absent: nullopt, no error; anything but a list (null included):
  // nullopt and an error.
  std::optional<std::vector<Reader>> items() const;
  // The entries of a map whose keys are data (upstream names, header names), in document
  // order. Absent: nullopt; null: empty; non-string or repeated keys are recorded as errors and
  // skipped.
  std::optional<std::vector<std::pair<std::string, Reader>>> entries() const;

  // ---- Scalars.
  std::optional<std::string> string() const;
  std::optional<std::string> non_empty_string() const;  // "" is "must not be empty"
  std::optional<bool> boolean() const;                  // true/false only (not yes/no/on/off)
  // Whole numbers in [min, max]; the error reads "must be a positive integer" for
  // [1, INT64_MAX], "must be a non-negative integer" for [0, INT64_MAX], and
  // "must be an integer between MIN and MAX" otherwise.
  std::optional<int64_t> integer(int64_t min, int64_t max) const;
  std::optional<double> number(double min, double max) const;  // finite, in [min, max]
  enum class Zero : uint8_t { kReject, kAllow };
  std::optional<Duration> duration(Zero zero = Zero::kReject) const;  // see parse_duration
  std::optional<uint64_t> bytes(uint64_t min = 1) const;              // see parse_size
  // One of `allowed`, else `invalid value "x" (allowed: a, b, c)`.
  std::optional<std::string> one_of(std::initializer_list<std::string_view> allowed) const;
  std::optional<HostPort> host_port(HostForm form) const;
  std::optional<Cidr> cidr() const;

  // ---- Collections of scalars. A list is required (a single scalar is an error); one bad
  // element records its error at PATH[i] and makes the result nullopt.
  std::optional<std::vector<std::string>> string_list() const;  // elements must not be empty
  std::optional<std::vector<Cidr>> cidr_list() const;
  // A map of string to string (e.g. header name -> value), in document order.
  std::optional<std::vector<std::pair<std::string, std::string>>> string_map() const;

  // Reorders the errors recorded through this document's Readers by their line and column, so
  // that they read in document order whatever order the sections were parsed in. Errors added to
  // the vector by other means keep their place after the error recorded before them.
  void sort_errors_in_document_order() const;

 private:
  struct Document;
  Reader(YAML::Node node, bool present, YAML::Mark mark, std::string path,
         std::shared_ptr<Document> doc);
  Reader absent_child(std::string path) const;
  // The scalar's text after ${NAME} expansion; nullopt (and an error naming `expected`) when
  // absent, not a scalar, or an expansion failed.
  std::optional<std::string> scalar(std::string_view expected) const;
  template <class T>
  std::optional<T> take(Parsed<T> parsed) const;
  // The list, each element read with `get`; nullopt when any element is bad.
  template <class T>
  std::optional<std::vector<T>> list_of(std::optional<T> (Reader::*get)() const) const;

  YAML::Node node_;
  bool present_ = false;
  YAML::Mark mark_;
  std::string path_;
  std::shared_ptr<Document> doc_;
};

// " (did you mean \"x\"?)" when one of `candidates` is close to `word` (a typo: a few letters
// off, case ignored), else "". Ready to append to an error message.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);
// The candidate did_you_mean would suggest, or "" when none is close.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// Replaces ${NAME} in `text` by `env(NAME)`; `$${` is a literal `${`. On failure returns nullopt
// with the reason (e.g. "environment variable NAME is not set") appended to `errors`.
std::optional<std::string> expand_env(std::string_view text, const Reader::EnvLookup& env,
                                      std::vector<std::string>& errors);

}  // namespace turnpike::config
