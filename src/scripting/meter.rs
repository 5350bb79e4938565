//! What a script run costs, measured: the allocator of script runtimes (the C allocator,
//! counting the bytes a runtime holds and their peak, so each reply can say how much heap the
//! script needed at most) and the worker thread's CPU clock.
//!
//! **Why.** QuickJS counts the heap a runtime uses (that is what the memory limit is checked
//! against) but keeps no peak, and computing its memory usage walks the whole heap. Counting in
//! the allocator costs one `malloc_usable_size` and two cell updates per allocation.
//!
//! **Why unsafe here.** A QuickJS allocator is an `unsafe` trait of raw pointers, and the C
//! allocator and the thread CPU clock are reached through `libc`. The memory limit stays QuickJS's own: it checks its
//! count before it calls the allocator, custom or not.

#![allow(unsafe_code)]

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use rquickjs::allocator::Allocator;

/// Bytes a runtime holds now and its highest count since [`HeapMeter::start`].
#[derive(Debug, Default)]
pub(crate) struct HeapMeter {
    current: Cell<usize>,
    peak: Cell<usize>,
}

impl HeapMeter {
    /// Starts a new peak at the current count; returns that count.
    pub(crate) fn start(&self) -> usize {
        let now = self.current.get();
        self.peak.set(now);
        now
    }

    /// The highest count since [`HeapMeter::start`].
    pub(crate) fn peak(&self) -> usize {
        self.peak.get()
    }

    fn add(&self, n: usize) {
        let now = self.current.get() + n;
        self.current.set(now);
        if now > self.peak.get() {
            self.peak.set(now);
        }
    }

    fn sub(&self, n: usize) {
        self.current.set(self.current.get().saturating_sub(n));
    }
}

/// The C allocator, counted by a shared [`HeapMeter`].
pub(crate) struct CountingAllocator(pub(crate) Rc<HeapMeter>);

// SAFETY: every pointer comes from the C allocator, which aligns to at least
// `max_align_t` (≥ `usize`), and `usable_size` is `malloc_usable_size` of such a pointer.
unsafe impl Allocator for CountingAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        // SAFETY: plain `malloc`; a null result is handed back as a failure.
        let p = unsafe { libc::malloc(size.max(1)) }.cast::<u8>();
        if !p.is_null() {
            // SAFETY: `p` was just returned by `malloc`.
            self.0.add(unsafe { Self::usable_size(p) });
        }
        p
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        // SAFETY: plain `calloc` (it checks `count * size` for overflow).
        let p = unsafe { libc::calloc(count.max(1), size.max(1)) }.cast::<u8>();
        if !p.is_null() {
            // SAFETY: `p` was just returned by `calloc`.
            self.0.add(unsafe { Self::usable_size(p) });
        }
        p
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        if ptr.is_null() {
            return;
        }
        // SAFETY: the caller hands back a pointer of this allocator, freed once.
        unsafe {
            self.0.sub(Self::usable_size(ptr));
            libc::free(ptr.cast());
        }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(new_size);
        }
        if new_size == 0 {
            // SAFETY: as for `dealloc`.
            unsafe { self.dealloc(ptr) };
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` is a live pointer of this allocator; on failure it stays valid.
        unsafe {
            let old = Self::usable_size(ptr);
            let p = libc::realloc(ptr.cast(), new_size).cast::<u8>();
            if !p.is_null() {
                self.0.sub(old);
                self.0.add(Self::usable_size(p));
            }
            p
        }
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: `ptr` is a live pointer of the C allocator.
        unsafe { libc::malloc_usable_size(ptr.cast()) }
    }
}

/// CPU time the calling thread has used.
pub(crate) fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec; the call only writes it.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } == 0;
    if !ok {
        return Duration::ZERO;
    }
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}
