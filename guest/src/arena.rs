//! The plugin's allocator inside WebAssembly: a bump arena. An evaluation makes many
//! small, short-lived allocations and then ends; bumping a pointer is far cheaper than
//! a general-purpose allocator, and memory is reused once everything is freed (at the
//! end of every call, when the host frees the results) or when the newest block is.
//! Native builds keep the system allocator.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;

const PAGE: usize = 65536;
/// Grow linear memory at least this many pages at a time.
const GROW_PAGES: usize = 16;

struct State {
    base: usize,
    next: usize,
    end: usize,
    live: usize,
}

pub struct Arena(UnsafeCell<State>);

// SAFETY: the plugin's wasm32 target has no threads.
unsafe impl Sync for Arena {}

impl Arena {
    pub const fn new() -> Self {
        Arena(UnsafeCell::new(State {
            base: 0,
            next: 0,
            end: 0,
            live: 0,
        }))
    }
}

unsafe extern "C" {
    /// Set by the linker: where the heap starts, after the stack and static data.
    static __heap_base: u8;
}

impl State {
    fn init(&mut self) {
        if self.base == 0 {
            self.base = &raw const __heap_base as usize;
            self.next = self.base;
            self.end = wasm32::memory_size(0) * PAGE;
        }
    }

    /// Makes room up to `limit`; false when linear memory cannot grow (the host's cap).
    fn reserve(&mut self, limit: usize) -> bool {
        if limit <= self.end {
            return true;
        }
        let needed = (limit - self.end).div_ceil(PAGE);
        for pages in [needed.max(GROW_PAGES), needed] {
            if wasm32::memory_grow(0, pages) != usize::MAX {
                self.end += pages * PAGE;
                return true;
            }
        }
        false
    }
}

unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded; no reference to the state outlives this call.
        let s = unsafe { &mut *self.0.get() };
        s.init();
        let start = (s.next + layout.align() - 1) & !(layout.align() - 1);
        let Some(limit) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if !s.reserve(limit) {
            return core::ptr::null_mut();
        }
        s.next = limit;
        s.live += 1;
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        let s = unsafe { &mut *self.0.get() };
        s.live -= 1;
        if s.live == 0 {
            s.next = s.base;
        } else if ptr as usize + layout.size() == s.next {
            s.next = ptr as usize;
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let s = unsafe { &mut *self.0.get() };
        // The newest block grows or shrinks in place.
        if ptr as usize + layout.size() == s.next {
            let limit = ptr as usize + new_size;
            if s.reserve(limit) {
                s.next = limit;
                return ptr;
            }
            return core::ptr::null_mut();
        }
        // SAFETY: the caller's guarantees for `realloc` cover these.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}
