// Test helper: config::Route written as R("name").hosts({...}).paths({...}), since designated
// initializers that leave members out warn under -Wextra.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/model.h"

namespace turnpike::routing::testing_support {

class R {
 public:
  explicit R(std::string name) { route_.name = std::move(name); }
  R& hosts(std::vector<std::string> v) { return route_.hosts = std::move(v), *this; }
  R& methods(std::vector<std::string> v) { return route_.methods = std::move(v), *this; }
  R& paths(std::vector<std::string> v) { return route_.paths = std::move(v), *this; }
  R& regex(std::string v) { return route_.regex = std::move(v), *this; }
  R& headers(std::vector<std::pair<std::string, std::string>> v) {
    return route_.headers = std::move(v), *this;
  }
  R& strip_prefix(bool v) { return route_.strip_prefix = v, *this; }
  operator config::Route() const { return route_; }  // NOLINT: implicit by design

 private:
  config::Route route_;
};

}  // namespace turnpike::routing::testing_support
