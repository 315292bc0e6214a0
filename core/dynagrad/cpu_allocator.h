#pragma once
// The CPU caching allocator behind every CPU storage. Freed blocks go back
// to a free list per size class and the next allocation of that class takes
// one, so a training step reuses the memory of the last one: no malloc
// bookkeeping and, above all, no fresh pages (a first touch of a 4 KiB page
// costs microseconds on a VM) for every intermediate tensor.
//
// Blocks are 64-byte aligned. The caching itself (size classes, the limit of
// unused bytes, the retry after emptying on out-of-memory) is the shared
// detail::BlockCache of dynagrad/detail/block_cache.h, the CUDA allocator's too.
//
// DG_CPU_CACHE=0 in the environment turns the cache off (every free goes back
// to malloc), as do sanitizer builds, so that use-after-free stays visible.
#include <cstddef>

namespace dg::cpu {

void* allocate(size_t nbytes);            // never null: throws dg::Error when out of memory
void deallocate(void* p, size_t nbytes);  // nbytes: what was passed to allocate

// Frees every cached block back to the system.
void empty_cache();
// Bytes handed out and not yet returned, and bytes held unused in the cache.
size_t memory_allocated();
size_t memory_cached();
// The most bytes handed out at once so far.
size_t max_memory_allocated();
// Restarts max_memory_allocated from what is allocated now.
void reset_peak_memory_stats();
// Whether freed blocks are kept (false under DG_CPU_CACHE=0 and sanitizers).
bool caching_enabled();
// The most bytes the cache keeps unused (default 1 GiB; DG_CPU_CACHE_LIMIT_MB).
size_t cache_limit();

}  // namespace dg::cpu
