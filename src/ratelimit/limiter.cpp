#include "ratelimit/limiter.hpp"

namespace ok::ratelimit {

std::vector<Decision> Limiter::check_all(const std::vector<Budget>& budgets, Clock::time_point now) {
  std::vector<Decision> decisions;
  decisions.reserve(budgets.size());
  bool refused = false;
  for (const auto& budget : budgets) {
    decisions.push_back(check(budget.key, *budget.policy, now, Mode::peek));
    if (!decisions.back().allowed) {
      // Spending on a refusing key costs nothing but closes it until the Retry-After given.
      decisions.back() = check(budget.key, *budget.policy, now, Mode::consume);
      refused = true;
    }
  }
  if (refused) return decisions;
  for (std::size_t i = 0; i < budgets.size(); ++i) {
    decisions[i] = check(budgets[i].key, *budgets[i].policy, now, Mode::consume);
  }
  return decisions;
}

}  // namespace ok::ratelimit
