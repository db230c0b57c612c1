// YAML syntax errors in plain words, at the place to fix. yaml-cpp reports an unclosed "[" where
// it gave up (often a line later) in parser terms, and reads an unclosed quote to the end of the
// file without complaint; a small scanner finds where the unclosed thing was opened.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace turnpike::config {

struct SyntaxProblem {
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string message;
};

// A quote, "[" or "{" that is opened and never closed before the end of the text.
std::optional<SyntaxProblem> find_unclosed(std::string_view text);

// The number of YAML documents in `text`, counted with yaml-cpp's parser without building nodes.
// yaml-cpp 0.7 never ends on a ',' where a document's root would start (a lone ',', or a stray
// one after a root flow collection: jbeder/yaml-cpp#1040): LoadAll then yields null documents
// until memory runs out. A document that starts where the previous one did is that loop, and is
// returned as `stuck` instead. Throws YAML::Exception on a syntax error, as loading does.
struct DocumentCount {
  int documents = 0;
  std::optional<SyntaxProblem> stuck;
};
DocumentCount count_documents(std::string_view text);

// yaml-cpp's error (its message and 0-based mark) in plain words, placed where the mistake is.
SyntaxProblem describe_yaml_error(std::string_view text, const std::string& message, int line,
                                  int column);

}  // namespace turnpike::config
