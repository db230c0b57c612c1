#include "config/reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "text/json_string.h"

namespace turnpike::config {

// Shared by every Reader of one document.
struct Reader::Document {
  std::vector<ConfigError>* errors = nullptr;
  EnvLookup env;
  // Where each error recorded through a Reader sits in the document (index into *errors).
  struct Position {
    size_t error;
    int line;
    int column;
  };
  std::vector<Position> positions;
};

namespace {

bool is_plain_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
}

// "a.b" for ordinary keys; a key with dots, spaces or the like is quoted: a["users.v2"].
std::string join_key(const std::string& path, std::string_view key) {
  if (!is_plain_key(key)) return path + "[\"" + std::string(key) + "\"]";
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// What a node holds, for "expected X, got Y". Scalars are not quoted back: they may be secrets.
std::string describe(const YAML::Node& node) {
  if (node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  return "a scalar";
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions ("timeuot").
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string format_number(double value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

std::string join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  // Short words get less slack, or every two-letter key would "mean" every other one.
  size_t max_distance = word.size() <= 3 ? 1 : word.size() <= 6 ? 2 : 3;
  std::string lowered = lower(word);
  const std::string* best = nullptr;
  size_t best_distance = max_distance + 1;
  for (const std::string& candidate : candidates) {
    size_t distance = edit_distance(lowered, lower(candidate));
    if (distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  return best ? *best : "";
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best = closest_match(word, candidates);
  return best.empty() ? "" : " (did you mean \"" + best + "\"?)";
}

std::optional<std::string> expand_env(std::string_view text, const Reader::EnvLookup& env,
                                      std::vector<std::string>& errors) {
  std::string out;
  out.reserve(text.size());
  bool ok = true;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    size_t close = text.find('}', i + 2);
    std::string_view name =
        close == std::string_view::npos ? std::string_view() : text.substr(i + 2, close - i - 2);
    bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
                 std::all_of(name.begin(), name.end(),
                             [](unsigned char c) { return std::isalnum(c) || c == '_'; });
    if (!valid) {
      errors.push_back(
          "invalid ${NAME} reference (NAME: letters, digits and _; write $${ for a "
          "literal ${)");
      return std::nullopt;
    }
    std::optional<std::string> value =
        env ? env(std::string(name)) : process_env(std::string(name));
    if (value) {
      out += *value;
    } else {
      errors.push_back("environment variable " + std::string(name) + " is not set");
      ok = false;
    }
    i = close + 1;
  }
  if (!ok) return std::nullopt;
  return out;
}

Reader::Reader(YAML::Node node, bool present, YAML::Mark mark, std::string path,
               std::shared_ptr<Document> doc)
    : node_(std::move(node)),
      present_(present),
      mark_(mark),
      path_(std::move(path)),
      doc_(std::move(doc)) {}

Reader Reader::root(const YAML::Node& node, std::vector<ConfigError>& errors, EnvLookup env,
                    std::string path) {
  auto doc = std::make_shared<Document>();
  doc->errors = &errors;
  doc->env = std::move(env);
  YAML::Mark mark = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
  return Reader(node, node.IsDefined(), mark, std::move(path), std::move(doc));
}

Reader Reader::absent_child(std::string path) const {
  // The parent's position stands in for a key that is not written.
  return Reader(YAML::Node(), false, mark_, std::move(path), doc_);
}

bool Reader::is_null() const { return !present_ || node_.IsNull(); }

void Reader::error(std::string message) const {
  doc_->errors->push_back({path_.empty() ? "config" : path_, std::move(message)});
  doc_->positions.push_back(
      {doc_->errors->size() - 1, mark_.is_null() ? -1 : mark_.line, mark_.column});
}

void Reader::not_supported() const {
  if (present_) error("not supported yet");
}

bool Reader::has_errors() const {
  std::string shown = path_.empty() ? "config" : path_;
  for (const ConfigError& e : *doc_->errors) {
    if (path_.empty() || e.path == shown) return true;
    if (e.path.size() > shown.size() && e.path.compare(0, shown.size(), shown) == 0 &&
        (e.path[shown.size()] == '.' || e.path[shown.size()] == '[')) {
      return true;
    }
  }
  return false;
}

bool Reader::expect_map(std::initializer_list<std::string_view> allowed_keys) const {
  if (present_ && !node_.IsNull() && !node_.IsMap()) {
    error("expected a map, got " + describe(node_));
    return false;
  }
  auto map = entries();  // records repeated and non-string keys
  if (!map) return true;
  std::vector<std::string> allowed(allowed_keys.begin(), allowed_keys.end());
  for (const auto& [name, value] : *map) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      value.error("unknown key" + did_you_mean(name, allowed));
    }
  }
  return true;
}

Reader Reader::child(std::string_view key) const {
  std::string path = join_key(path_, key);
  if (present_ && node_.IsMap()) {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) {
        YAML::Mark mark = it->second.Mark();
        if (mark.is_null()) mark = it->first.Mark();  // `key:` with no value has no mark
        return Reader(it->second, true, mark, std::move(path), doc_);
      }
    }
  }
  return absent_child(std::move(path));
}

Reader Reader::required(std::string_view key) const {
  Reader value = child(key);
  if (!value.present()) value.error("required");
  return value;
}

Reader Reader::index(size_t i) const {
  std::string path = (path_.empty() ? "config" : path_) + "[" + std::to_string(i) + "]";
  if (present_ && node_.IsSequence() && i < node_.size()) {
    YAML::Node item = node_[i];
    YAML::Mark mark = item.Mark();
    return Reader(item, true, mark.is_null() ? mark_ : mark, std::move(path), doc_);
  }
  return absent_child(std::move(path));
}

std::optional<std::vector<Reader>> Reader::items() const {
  if (!present_) return std::nullopt;
  if (!node_.IsSequence()) {
    error("expected a list, got " + describe(node_));
    return std::nullopt;
  }
  std::vector<Reader> out;
  out.reserve(node_.size());
  for (size_t i = 0; i < node_.size(); ++i) out.push_back(index(i));
  return out;
}

std::optional<std::vector<std::pair<std::string, Reader>>> Reader::entries() const {
  if (!present_) return std::nullopt;
  std::vector<std::pair<std::string, Reader>> out;
  if (node_.IsNull()) return out;
  if (!node_.IsMap()) {
    error("expected a map, got " + describe(node_));
    return std::nullopt;
  }
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    // Copies: the iterator hands out a temporary pair, a reference into it would dangle.
    YAML::Node key = it->first;
    YAML::Node node = it->second;
    if (!key.IsScalar()) {
      Reader(key, true, key.Mark(), path_, doc_).error("keys must be strings");
      continue;
    }
    YAML::Mark mark = node.Mark();
    Reader value(node, true, mark.is_null() ? key.Mark() : mark, join_key(path_, key.Scalar()),
                 doc_);
    bool repeated = std::any_of(out.begin(), out.end(),
                                [&](const auto& entry) { return entry.first == key.Scalar(); });
    if (repeated) {
      value.error("duplicate key");
      continue;
    }
    out.emplace_back(key.Scalar(), std::move(value));
  }
  return out;
}

std::optional<std::string> Reader::scalar(std::string_view expected) const {
  if (!present_) return std::nullopt;
  if (!node_.IsScalar()) {
    error("expected " + std::string(expected) + ", got " + describe(node_));
    return std::nullopt;
  }
  std::vector<std::string> problems;
  std::optional<std::string> text = expand_env(node_.Scalar(), doc_->env, problems);
  for (std::string& problem : problems) error(std::move(problem));
  // Every value ends up in JSON (GET /config, logs, reload messages), which must be UTF-8.
  if (text && !text::is_valid_utf8(*text)) {
    error("not valid UTF-8 text");
    return std::nullopt;
  }
  return text;
}

template <class T>
std::optional<T> Reader::take(Parsed<T> parsed) const {
  if (!parsed) error(std::move(parsed.error));
  return std::move(parsed.value);
}

std::optional<std::string> Reader::string() const { return scalar("a string"); }

std::optional<std::string> Reader::non_empty_string() const {
  std::optional<std::string> text = scalar("a string");
  if (text && text->empty()) {
    error("must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> Reader::boolean() const {
  std::optional<std::string> text = scalar("true or false");
  if (!text) return std::nullopt;
  if (*text == "true" || *text == "True" || *text == "TRUE") return true;
  if (*text == "false" || *text == "False" || *text == "FALSE") return false;
  error("expected true or false");
  return std::nullopt;
}

std::optional<int64_t> Reader::integer(int64_t min, int64_t max) const {
  std::string rule;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (min == 1 && max == kMax) {
    rule = "must be a positive integer";
  } else if (min == 0 && max == kMax) {
    rule = "must be a non-negative integer";
  } else {
    rule = "must be an integer between " + std::to_string(min) + " and " + std::to_string(max);
  }
  std::optional<std::string> text = scalar("an integer");
  if (!text) return std::nullopt;
  int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    error(rule);
    return std::nullopt;
  }
  return value;
}

std::optional<double> Reader::number(double min, double max) const {
  std::optional<std::string> text = scalar("a number");
  if (!text) return std::nullopt;
  double value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec != std::errc() || ptr != end || !std::isfinite(value) || value < min ||
      value > max) {
    error("must be a number between " + format_number(min) + " and " + format_number(max));
    return std::nullopt;
  }
  return value;
}

std::optional<Duration> Reader::duration(Zero zero) const {
  std::optional<std::string> text = scalar("a duration");
  if (!text) return std::nullopt;
  std::optional<Duration> value = take(parse_duration(*text));
  if (value && value->count() == 0 && zero == Zero::kReject) {
    error("invalid duration \"" + *text + "\": must be greater than 0");
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> Reader::bytes(uint64_t min) const {
  std::optional<std::string> text = scalar("a size");
  if (!text) return std::nullopt;
  std::optional<uint64_t> value = take(parse_size(*text));
  if (value && *value < min) {
    error("invalid size \"" + *text + "\": " +
          (min == 1 ? std::string("must be greater than 0")
                    : "must be at least " + std::to_string(min) + " bytes"));
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> Reader::one_of(std::initializer_list<std::string_view> allowed) const {
  std::optional<std::string> text = scalar("a string");
  if (!text) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *text) == allowed.end()) {
    error("invalid value \"" + *text + "\" (allowed: " + join(allowed) + ")");
    return std::nullopt;
  }
  return text;
}

std::optional<HostPort> Reader::host_port(HostForm form) const {
  std::optional<std::string> text = scalar("host:port");
  if (!text) return std::nullopt;
  return take(parse_host_port(*text, form));
}

std::optional<Cidr> Reader::cidr() const {
  std::optional<std::string> text = scalar("a CIDR");
  if (!text) return std::nullopt;
  return take(parse_cidr(*text));
}

template <class T>
std::optional<std::vector<T>> Reader::list_of(std::optional<T> (Reader::*get)() const) const {
  std::optional<std::vector<Reader>> list = items();
  if (!list) return std::nullopt;
  std::vector<T> out;
  bool ok = true;
  for (const Reader& item : *list) {
    std::optional<T> value = (item.*get)();
    if (value) {
      out.push_back(std::move(*value));
    } else {
      ok = false;  // keep going: every bad element gets its own error
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> Reader::string_list() const {
  return list_of(&Reader::non_empty_string);
}

std::optional<std::vector<Cidr>> Reader::cidr_list() const { return list_of(&Reader::cidr); }

std::optional<std::vector<std::pair<std::string, std::string>>> Reader::string_map() const {
  auto map = entries();
  if (!map) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> out;
  bool ok = true;
  for (const auto& [key, value] : *map) {
    std::optional<std::string> text = value.string();
    if (text) {
      out.emplace_back(key, std::move(*text));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

void Reader::sort_errors_in_document_order() const {
  std::vector<ConfigError>& errors = *doc_->errors;
  struct Key {
    int line;
    int column;
  };
  std::vector<std::optional<Key>> recorded(errors.size());
  for (const Document::Position& p : doc_->positions) {
    if (p.error < errors.size()) recorded[p.error] = Key{p.line, p.column};
  }
  std::vector<std::pair<Key, size_t>> order;
  Key last{-1, -1};
  for (size_t i = 0; i < errors.size(); ++i) {
    if (recorded[i]) last = *recorded[i];
    order.push_back({last, i});
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first.line, a.first.column) < std::pair(b.first.line, b.first.column);
  });
  std::vector<ConfigError> sorted;
  sorted.reserve(errors.size());
  for (const auto& entry : order) sorted.push_back(std::move(errors[entry.second]));
  errors = std::move(sorted);
  // The positions now describe the new order.
  doc_->positions.clear();
  for (size_t i = 0; i < order.size(); ++i) {
    doc_->positions.push_back({i, order[i].first.line, order[i].first.column});
  }
}

}  // namespace turnpike::config
