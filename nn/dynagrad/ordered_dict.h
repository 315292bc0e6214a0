// dg::OrderedDict: LibTorch's torch::OrderedDict — a map that keeps insertion
// order (a module's parameters, buffers and children come out in the order
// they were registered). Items are `{key(), value()}` pairs.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dynagrad/error.h"

namespace dg {

template <typename Key, typename Value>
class OrderedDict {
 public:
  class Item {
   public:
    Item(Key key, Value value) : pair_(std::move(key), std::move(value)) {}
    const Key& key() const noexcept { return pair_.first; }
    Value& value() noexcept { return pair_.second; }
    const Value& value() const noexcept { return pair_.second; }
    Value& operator*() noexcept { return value(); }
    const Value& operator*() const noexcept { return value(); }
    Value* operator->() noexcept { return &value(); }
    const Value* operator->() const noexcept { return &value(); }
    const std::pair<Key, Value>& pair() const noexcept { return pair_; }

   private:
    std::pair<Key, Value> pair_;
  };
  using Iterator = typename std::vector<Item>::iterator;
  using ConstIterator = typename std::vector<Item>::const_iterator;

  // `key_description` names what the keys are in error messages ("Parameter").
  explicit OrderedDict(std::string key_description = "Key") : key_description_(std::move(key_description)) {}
  OrderedDict(std::initializer_list<Item> items) : OrderedDict() {
    for (const auto& item : items) insert(item.key(), item.value());
  }

  const std::string& key_description() const noexcept { return key_description_; }

  Item& front() {
    DG_CHECK(!items_.empty(), "Called front() on an empty OrderedDict");
    return items_.front();
  }
  Item& back() {
    DG_CHECK(!items_.empty(), "Called back() on an empty OrderedDict");
    return items_.back();
  }
  Item& operator[](size_t index) {
    DG_CHECK(index < items_.size(), "Index ", index, " is out of bounds of an OrderedDict of size ", items_.size());
    return items_[index];
  }
  const Item& operator[](size_t index) const {
    DG_CHECK(index < items_.size(), "Index ", index, " is out of bounds of an OrderedDict of size ", items_.size());
    return items_[index];
  }
  Value& operator[](const Key& key) {
    if (auto* v = find(key)) return *v;
    dg::detail::fail(key_description_ + " '" + describe(key) + "' is not defined");
  }
  const Value& operator[](const Key& key) const {
    if (auto* v = find(key)) return *v;
    dg::detail::fail(key_description_ + " '" + describe(key) + "' is not defined");
  }
  Value* find(const Key& key) noexcept {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].value();
  }
  const Value* find(const Key& key) const noexcept {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].value();
  }
  bool contains(const Key& key) const noexcept { return index_.count(key) != 0; }

  Iterator begin() { return items_.begin(); }
  ConstIterator begin() const { return items_.begin(); }
  Iterator end() { return items_.end(); }
  ConstIterator end() const { return items_.end(); }
  size_t size() const noexcept { return items_.size(); }
  bool is_empty() const noexcept { return items_.empty(); }
  bool empty() const noexcept { return items_.empty(); }

  // Inserts a new key; a key already present is an error (LibTorch's rule).
  template <typename K, typename V>
  Value& insert(K&& key, V&& value) {
    DG_CHECK(index_.count(key) == 0, key_description_, " '", describe(key), "' already defined");
    index_.emplace(key, items_.size());
    items_.emplace_back(Key(std::forward<K>(key)), Value(std::forward<V>(value)));
    return items_.back().value();
  }
  // Inserts or replaces.
  template <typename V>
  Value& insert_or_assign(const Key& key, V&& value) {
    if (auto* v = find(key)) return *v = std::forward<V>(value);
    return insert(key, std::forward<V>(value));
  }
  void update(const OrderedDict& other) {
    for (const auto& item : other) insert(item.key(), item.value());
  }
  void erase(const Key& key) {
    auto it = index_.find(key);
    DG_CHECK(it != index_.end(), key_description_, " '", describe(key), "' is not in the OrderedDict");
    const size_t pos = it->second;
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(pos));
    index_.erase(it);
    for (auto& [k, i] : index_)
      if (i > pos) --i;
  }
  void clear() {
    index_.clear();
    items_.clear();
  }
  void reserve(size_t n) {
    index_.reserve(n);
    items_.reserve(n);
  }

  const std::vector<Item>& items() const noexcept { return items_; }
  std::vector<Key> keys() const {
    std::vector<Key> out;
    for (const auto& item : items_) out.push_back(item.key());
    return out;
  }
  std::vector<Value> values() const {
    std::vector<Value> out;
    for (const auto& item : items_) out.push_back(item.value());
    return out;
  }
  std::vector<std::pair<Key, Value>> pairs() const {
    std::vector<std::pair<Key, Value>> out;
    for (const auto& item : items_) out.push_back(item.pair());
    return out;
  }

 private:
  static std::string describe(const Key& key) {
    if constexpr (std::is_convertible_v<Key, std::string>) return std::string(key);
    else return "?";
  }
  std::unordered_map<Key, size_t> index_;
  std::vector<Item> items_;
  std::string key_description_;
};

}  // namespace dg
