// Deadline lists (see timers.h for why one FIFO list per duration).
#include "net/timers.h"

#include <limits>

namespace turnpike::net {

struct Deadline::List {
  Duration after;
  Deadline* head = nullptr;
  Deadline* tail = nullptr;
};

Deadline::~Deadline() {
  if (timers_ && list_) timers_->disarm(*this);
}

Timers::Timers() = default;
Timers::~Timers() = default;

Deadline::List* Timers::list_for(Duration after) {
  for (auto& list : lists_) {
    if (list->after == after) return list.get();
  }
  lists_.push_back(std::make_unique<Deadline::List>());
  lists_.back()->after = after;
  return lists_.back().get();
}

void Timers::arm(Deadline& d, Duration after) {
  if (d.list_) disarm(d);
  Deadline::List* list = d.last_list_ && d.last_list_->after == after && d.timers_ == this
                             ? d.last_list_
                             : list_for(after);
  d.last_list_ = list;
  d.timers_ = this;
  d.list_ = list;
  d.expired_ = false;
  d.at_ = now_ + after;
  d.next_ = nullptr;
  d.prev_ = list->tail;
  if (list->tail) {
    list->tail->next_ = &d;
  } else {
    list->head = &d;
  }
  list->tail = &d;
  ++armed_;
}

void Timers::disarm(Deadline& d) {
  Deadline::List* list = d.list_;
  if (!list) return;
  if (d.prev_) {
    d.prev_->next_ = d.next_;
  } else {
    list->head = d.next_;
  }
  if (d.next_) {
    d.next_->prev_ = d.prev_;
  } else {
    list->tail = d.prev_;
  }
  d.prev_ = d.next_ = nullptr;
  d.list_ = nullptr;
  --armed_;
}

void Timers::expire(Clock::time_point now) {
  // By index: a callback may arm a deadline of a new duration, which grows lists_.
  for (std::size_t i = 0; i < lists_.size(); ++i) {
    while (lists_[i]->head && lists_[i]->head->at_ <= now) {
      Deadline& d = *lists_[i]->head;
      disarm(d);
      d.expired_ = true;
      d.on_expire_(d.owner_);  // may arm or disarm other deadlines
    }
  }
}

int Timers::milliseconds_to_next(int none) const {
  if (armed_ == 0) return none;
  Clock::time_point earliest = Clock::time_point::max();
  for (const auto& list : lists_) {
    if (list->head && list->head->at_ < earliest) earliest = list->head->at_;
  }
  if (earliest <= now_) return 0;
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(earliest - now_).count();
  return wait > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max()
                                                : static_cast<int>(wait);
}

}  // namespace turnpike::net
