#pragma once
// Intrusive reference counting for TensorImpl, StorageImpl and Node: one
// allocation per object, an atomic count inside it, no control block.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace dg {

namespace detail {
// Per-thread free lists for the small objects every op allocates (tensor,
// storage and node headers, autograd metadata): a graph of a thousand ops is
// built and torn down per training step, and glibc's general allocator spent
// a quarter of the per-op instructions on them. Requests above 512 bytes go
// to ::operator new. Off in sanitizer builds so use-after-free stays visible.
void* small_alloc(size_t nbytes);
void small_free(void* p, size_t nbytes) noexcept;
}  // namespace detail

class intrusive_target {
 public:
  // Sized delete: with the virtual destructor the size is the dynamic type's.
  static void* operator new(size_t nbytes) { return detail::small_alloc(nbytes); }
  static void operator delete(void* p, size_t nbytes) noexcept { detail::small_free(p, nbytes); }

  intrusive_target() = default;
  intrusive_target(const intrusive_target&) : refcount_(0) {}
  intrusive_target& operator=(const intrusive_target&) { return *this; }
  virtual ~intrusive_target() = default;
  uint32_t use_count() const { return refcount_.load(std::memory_order_relaxed); }

 protected:
  // Called when the last reference goes; Node overrides it to delete long
  // chains iteratively instead of recursively.
  virtual void release_self() { delete this; }

 private:
  template <typename T>
  friend class intrusive_ptr;
  mutable std::atomic<uint32_t> refcount_{0};
};

template <typename T>
class intrusive_ptr {
 public:
  intrusive_ptr() = default;
  intrusive_ptr(std::nullptr_t) {}  // NOLINT
  explicit intrusive_ptr(T* p) : p_(p) { retain(); }
  intrusive_ptr(const intrusive_ptr& o) : p_(o.p_) { retain(); }
  intrusive_ptr(intrusive_ptr&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  intrusive_ptr(const intrusive_ptr<U>& o) : p_(o.get()) {
    retain();
  }  // NOLINT
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  intrusive_ptr(intrusive_ptr<U>&& o) noexcept : p_(o.release()) {}  // NOLINT
  ~intrusive_ptr() { reset(); }
  intrusive_ptr& operator=(const intrusive_ptr& o) {
    intrusive_ptr(o).swap(*this);
    return *this;
  }
  intrusive_ptr& operator=(intrusive_ptr&& o) noexcept {
    intrusive_ptr(std::move(o)).swap(*this);
    return *this;
  }

  // Adopts a pointer without touching its count (used to hand objects between pointers).
  static intrusive_ptr reclaim(T* p) {
    intrusive_ptr r;
    r.p_ = p;
    return r;
  }
  // A new reference to `p` unless its count already reached zero (it is being
  // destroyed): how a raw back-pointer (leaf -> AccumulateGrad) is upgraded
  // without resurrecting a dying object.
  static intrusive_ptr lock_if_alive(T* p) {
    if (!p) return intrusive_ptr();
    auto& rc = static_cast<const intrusive_target*>(p)->refcount_;
    uint32_t n = rc.load(std::memory_order_relaxed);
    while (n != 0) {
      if (rc.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) return reclaim(p);
    }
    return intrusive_ptr();
  }
  T* release() {
    T* p = p_;
    p_ = nullptr;
    return p;
  }
  void reset() {
    if (p_) {
      intrusive_target* b = p_;
      if (b->refcount_.fetch_sub(1, std::memory_order_acq_rel) == 1) b->release_self();
    }
    p_ = nullptr;
  }
  void swap(intrusive_ptr& o) noexcept { std::swap(p_, o.p_); }
  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }
  uint32_t use_count() const { return p_ ? p_->use_count() : 0; }
  friend bool operator==(const intrusive_ptr& a, const intrusive_ptr& b) { return a.p_ == b.p_; }
  friend bool operator==(const intrusive_ptr& a, std::nullptr_t) { return a.p_ == nullptr; }

 private:
  void retain() {
    if (p_) static_cast<const intrusive_target*>(p_)->refcount_.fetch_add(1, std::memory_order_relaxed);
  }
  T* p_ = nullptr;
};

template <typename T, typename... Args>
intrusive_ptr<T> make_intrusive(Args&&... args) {
  return intrusive_ptr<T>(new T(std::forward<Args>(args)...));
}

}  // namespace dg
