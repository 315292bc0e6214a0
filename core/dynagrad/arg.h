#pragma once
// DG_ARG(T, name): an option with LibTorch's chained setter, as TORCH_ARG:
// `LinearOptions(3, 4).bias(false)`, `SGDOptions(0.1).momentum(0.9)`;
// `options.bias()` reads it. Shared by the option structs of dg::nn and
// dg::optim.
#include <utility>

#define DG_ARG(T, name)                                           \
 public:                                                          \
  inline auto name(const T& new_##name)->decltype(*this)& {       \
    this->name##_ = new_##name;                                   \
    return *this;                                                 \
  }                                                               \
  inline auto name(T&& new_##name)->decltype(*this)& {            \
    this->name##_ = std::move(new_##name);                        \
    return *this;                                                 \
  }                                                               \
  inline const T& name() const noexcept { return this->name##_; } \
  inline T& name() noexcept { return this->name##_; }             \
                                                                  \
 private:                                                         \
  T name##_
