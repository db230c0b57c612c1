// YAML syntax errors in plain words (see yaml_errors.h).
#include "config/yaml_errors.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <sstream>
#include <vector>

namespace turnpike::config {
namespace {

struct Position {
  int line = 1;
  int column = 1;
};

// What the scanner saw: the first opener never closed, and the first quoted scalar that runs
// over a line end (legal YAML, but almost always a forgotten quote in a configuration).
struct Scan {
  std::optional<SyntaxProblem> unclosed;
  std::optional<Position> multiline_quote;
  int multiline_quote_end = 0;
  char multiline_quote_char = '"';
};

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool ends_token(std::string_view t, std::size_t i) {
  return i >= t.size() || is_space(t[i]) || t[i] == '\n' || t[i] == '\r';
}

std::string quoted(char c) {
  return std::string("\"") + (c == '"' ? "\\\"" : std::string(1, c)) + "\"";
}

std::string never_closed(char open) {
  char close = open == '[' ? ']' : open == '{' ? '}' : open;
  return quoted(open) + " opened here is never closed (add " + quoted(close) + ")";
}

// A scanner for the shapes a configuration uses: block maps and lists, flow collections, plain,
// quoted and block scalars, comments. It tracks only what can be left open.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : t_(text) {}

  Scan run() {
    while (i_ < t_.size() && !out_.unclosed) step();
    if (!out_.unclosed && !flow_.empty()) {
      const Open& o = flow_.front();  // the outermost: the first one left open
      out_.unclosed = SyntaxProblem{o.at.line, o.at.column, never_closed(o.c)};
    }
    return out_;
  }

 private:
  struct Open {
    char c;
    Position at;
  };

  void advance() {
    if (t_[i_] == '\n') {
      ++pos_.line;
      pos_.column = 1;
      line_start_ = i_ + 1;
      token_start_ = true;
    } else {
      ++pos_.column;
    }
    ++i_;
  }

  void skip_to_line_end() {
    while (i_ < t_.size() && t_[i_] != '\n') advance();
  }

  int indent_of_line() const {
    std::size_t j = line_start_;
    while (j < t_.size() && t_[j] == ' ') ++j;
    return static_cast<int>(j - line_start_);
  }

  // After "|" or ">": every following line more indented than this one is text.
  void skip_block_scalar() {
    int indent = indent_of_line();
    skip_to_line_end();
    while (i_ < t_.size()) {
      advance();  // the '\n'
      std::size_t j = i_;
      while (j < t_.size() && t_[j] == ' ') ++j;
      bool blank = j >= t_.size() || t_[j] == '\n' || t_[j] == '\r';
      if (!blank && static_cast<int>(j - i_) <= indent) return;
      skip_to_line_end();
    }
  }

  void quoted_scalar() {
    char q = t_[i_];
    Position open = pos_;
    advance();
    while (i_ < t_.size()) {
      char c = t_[i_];
      if (q == '"' && c == '\\' && i_ + 1 < t_.size()) {
        advance();
        advance();
        continue;
      }
      if (c == q) {
        if (q == '\'' && i_ + 1 < t_.size() && t_[i_ + 1] == '\'') {  // '' is a quote inside
          advance();
          advance();
          continue;
        }
        if (pos_.line != open.line && !out_.multiline_quote) {
          out_.multiline_quote = open;
          out_.multiline_quote_end = pos_.line;
          out_.multiline_quote_char = q;
        }
        advance();
        token_start_ = false;
        return;
      }
      advance();
    }
    out_.unclosed = SyntaxProblem{open.line, open.column, never_closed(q)};
  }

  void step() {
    char c = t_[i_];
    if (c == '\n') {
      advance();
      return;
    }
    bool after_space = i_ == line_start_ || is_space(t_[i_ - 1]);
    if (c == '#' && after_space) return skip_to_line_end();
    if (i_ == line_start_ && c == '%') return skip_to_line_end();  // a directive
    if (is_space(c) || c == '\r') return advance();
    if (token_start_ && (c == '"' || c == '\'')) return quoted_scalar();
    if (flow_.empty()) {
      if (token_start_ && (c == '|' || c == '>')) return skip_block_scalar();
      if (token_start_ && (c == '[' || c == '{')) {
        flow_.push_back({c, pos_});
        advance();
        token_start_ = true;
        return;
      }
      // "- item", "? key": a token starts after them; "key: value" likewise after the ':'.
      bool indicator = (c == '-' || c == '?' || c == ':') && ends_token(t_, i_ + 1);
      advance();
      token_start_ = indicator;
      return;
    }
    // Inside [...] or {...}: the indicators end plain scalars.
    switch (c) {
      case '[':
      case '{':
        flow_.push_back({c, pos_});
        advance();
        token_start_ = true;
        return;
      case ']':
      case '}':
        if (flow_.back().c == (c == ']' ? '[' : '{')) flow_.pop_back();
        advance();
        token_start_ = false;
        return;
      case ',':
        advance();
        token_start_ = true;
        return;
      default: {
        bool indicator = c == ':' && (ends_token(t_, i_ + 1) || t_[i_ + 1] == ',' ||
                                      t_[i_ + 1] == ']' || t_[i_ + 1] == '}');
        advance();
        token_start_ = indicator;
      }
    }
  }

  std::string_view t_;
  std::size_t i_ = 0;
  std::size_t line_start_ = 0;
  Position pos_;
  bool token_start_ = true;
  std::vector<Open> flow_;
  Scan out_;
};

// yaml-cpp's messages (yaml-cpp/exceptions.h, ErrorMsg) that have plainer words.
struct Plain {
  std::string_view yaml_cpp;
  std::string_view words;
};
constexpr Plain kPlain[] = {
    {"illegal map value",
     "unexpected \":\" (a value that contains \": \" must be quoted, and a key needs a new line)"},
    {"illegal block entry", "unexpected \"-\" list item: check the indentation"},
    {"end of map not found",
     "this line does not line up with the lines above: check the indentation"},
    {"end of sequence not found",
     "this line does not line up with the list above: check the indentation"},
    {"illegal tab when looking for indentation", "a tab in the indentation: indent with spaces"},
    {"illegal flow end", "a closing \"]\" or \"}\" without its opening \"[\" or \"{\""},
    {"unknown escape character",
     "unknown escape in a double-quoted string (write \\\\ for a backslash, or use single quotes)"},
    {"illegal map key", "unexpected \"?\" or key: check the indentation"},
    {"end of sequence flow not found",
     "a \"[\" list is not closed where it should be (check its \"]\" and its commas)"},
    {"end of map flow not found",
     "a \"{\" map is not closed where it should be (check its \"}\" and its commas)"},
};

// Counts documents; every other event is ignored.
class DocumentCounter final : public YAML::EventHandler {
 public:
  int documents = 0;
  bool stuck = false;
  YAML::Mark start;

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents > 0 && mark.pos == start.pos) stuck = true;
    start = mark;
    ++documents;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

DocumentCount count_documents(std::string_view text) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentCounter counter;
  while (!counter.stuck && parser.HandleNextDocument(counter)) {
  }
  DocumentCount out;
  out.documents = counter.documents;
  if (counter.stuck) {
    std::size_t at = static_cast<std::size_t>(counter.start.pos);
    char c = at < text.size() ? text[at] : ' ';
    std::string why = "unexpected " + quoted(c);
    if (c == ',') why += " (a comma separates items only inside [...] or {...})";
    out.stuck = SyntaxProblem{counter.start.line + 1, counter.start.column + 1, std::move(why)};
  }
  return out;
}

std::optional<SyntaxProblem> find_unclosed(std::string_view text) {
  return Scanner(text).run().unclosed;
}

SyntaxProblem describe_yaml_error(std::string_view text, const std::string& message, int line,
                                  int column) {
  Scan scan = Scanner(text).run();
  // A quote that runs over lines and ends before the error is the likely cause of it.
  if (scan.multiline_quote && scan.multiline_quote->line <= line + 1 &&
      scan.multiline_quote_end >= line) {
    const Position& p = *scan.multiline_quote;
    return {p.line, p.column,
            quoted(scan.multiline_quote_char) +
                " opened here is not closed on its line (the text " + "runs on to line " +
                std::to_string(scan.multiline_quote_end) + ")"};
  }
  bool flow = message.starts_with("end of sequence flow") || message.starts_with("end of map flow");
  if ((flow || message.starts_with("illegal EOF")) && scan.unclosed) return *scan.unclosed;
  std::size_t start = 0;
  for (int l = 0; l < line && start < text.size(); ++l) {
    std::size_t end = text.find('\n', start);
    start = end == std::string_view::npos ? text.size() : end + 1;
  }
  if (start < text.size() && text[start] == '\t') {
    return {line + 1, 1, "a tab in the indentation: indent with spaces"};
  }
  for (const Plain& p : kPlain) {
    if (message.starts_with(p.yaml_cpp)) return {line + 1, column + 1, std::string(p.words)};
  }
  return {line + 1, column + 1, "invalid YAML: " + message};
}

}  // namespace turnpike::config
