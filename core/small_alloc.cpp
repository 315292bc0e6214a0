// The small-object free lists declared in dynagrad/intrusive_ptr.h.
#include <cstdint>
#include <new>

#include "dynagrad/intrusive_ptr.h"

namespace dg::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooling = false;
#else
constexpr bool kPooling = true;
#endif

constexpr size_t kGranule = 16;
constexpr size_t kClasses = 32;          // 16, 32, ..., 512 bytes
constexpr uint32_t kMaxPerClass = 4096;  // beyond this a thread gives blocks back

struct Block {
  Block* next;
};
struct FreeList {
  Block* head = nullptr;
  uint32_t count = 0;
};
struct Lists {
  FreeList by_class[kClasses + 1];
};

// Trivially destructible thread-locals (no TLS guard on the fast path); the
// Owner below frees a thread's blocks when the thread exits, after which the
// thread's late frees go straight to ::operator delete.
__attribute__((tls_model("initial-exec"))) thread_local Lists* tl_lists = nullptr;
__attribute__((tls_model("initial-exec"))) thread_local bool tl_gone = false;

struct Owner {
  ~Owner() {
    if (Lists* l = tl_lists) {
      for (FreeList& f : l->by_class) {
        while (Block* b = f.head) {
          f.head = b->next;
          ::operator delete(b);
        }
      }
      delete l;
    }
    tl_lists = nullptr;
    tl_gone = true;
  }
};

Lists* lists() {
  if (Lists* l = tl_lists) return l;
  if (tl_gone) return nullptr;
  thread_local Owner owner;  // registers the exit hook on first use
  (void)owner;
  tl_lists = new Lists();
  return tl_lists;
}

}  // namespace

void* small_alloc(size_t nbytes) {
  const size_t c = (nbytes + kGranule - 1) / kGranule;
  if (!kPooling || c > kClasses) return ::operator new(nbytes);
  if (Lists* l = lists()) {
    FreeList& f = l->by_class[c];
    if (Block* b = f.head) {
      f.head = b->next;
      --f.count;
      return b;
    }
  }
  return ::operator new(c* kGranule);  // the whole class, so any request of it can reuse the block
}

void small_free(void* p, size_t nbytes) noexcept {
  if (!p) return;
  const size_t c = (nbytes + kGranule - 1) / kGranule;
  if (kPooling && c <= kClasses) {
    Lists* l = tl_gone ? nullptr : tl_lists;
    if (l && l->by_class[c].count < kMaxPerClass) {
      FreeList& f = l->by_class[c];
      Block* b = static_cast<Block*>(p);
      b->next = f.head;
      f.head = b;
      ++f.count;
      return;
    }
  }
  ::operator delete(p);
}

}  // namespace dg::detail
