// Per-target state (see target_state.h).
#include "upstream/target_state.h"

#include <cstdlib>

namespace turnpike::upstream {

TargetStates::TargetStates() : chunks_(new std::atomic<TargetState*>[kChunks]) {
  for (uint32_t i = 0; i < kChunks; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
}

TargetStates::~TargetStates() {
  for (uint32_t i = 0; i < kChunks; ++i) delete[] chunks_[i].load(std::memory_order_relaxed);
}

TargetState& TargetStates::at(uint32_t pool_id) {
  uint32_t chunk = pool_id / kChunk;
  if (chunk >= kChunks) std::abort();  // more targets than ids: an invariant, not input
  TargetState* states = chunks_[chunk].load(std::memory_order_acquire);
  if (!states) {
    // First use of this chunk (at snapshot build): publish one array, whoever wins.
    auto* fresh = new TargetState[kChunk];
    if (chunks_[chunk].compare_exchange_strong(states, fresh, std::memory_order_acq_rel)) {
      states = fresh;
    } else {
      delete[] fresh;
    }
  }
  return states[pool_id % kChunk];
}

TargetStates& target_states() {
  static TargetStates states;
  return states;
}

}  // namespace turnpike::upstream
