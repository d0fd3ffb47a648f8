//! Small `memcpy`/`memmove`/`memset` for this image, in place of compiler_builtins' own.
//!
//! compiler_builtins' versions are tuned for speed (word-at-a-time copies with alignment
//! prologues and epilogues, one body per AEABI alignment variant): ~3.3 KiB of this image's
//! flash. Every definition here is a loop in inline assembly, ~0.2 KiB together: bytes for
//! `memset` and downward moves, words then bytes for `memcpy` and upward moves (the hot one: a
//! request's copies of its body and response).
//!
//! compiler_builtins defines these symbols weakly, so these strong definitions replace them at
//! link time, and its bodies are then unreferenced and dropped. The loops are written in
//! assembly, not Rust, because the optimizer recognizes a Rust copy loop and turns it back into
//! a call to `memcpy`: the function would call itself.
//!
//! The AEABI variants (run-time ABI for the Arm architecture, 4.3.4) take their arguments in
//! their own order (`__aeabi_memset(dest, n, c)`, `__aeabi_memclr(dest, n)`); the `4` and `8`
//! variants only promise an aligned `dest`, which these loops do not need.

use core::arch::asm;

/// Copies `n` bytes upwards: correct for disjoint buffers and for `dest` below `src`.
///
/// A word at a time while four or more bytes are left, then bytes: a quarter of a request's
/// instructions went to this copy when it was all bytes (BENCHMARKS.md, "the seventh pass"). The
/// words need no alignment: the Cortex-M3 performs unaligned `ldr`/`str` to RAM and flash
/// (CCR.UNALIGN_TRP is clear from reset and nothing sets it), and a word moved upwards never
/// reads a byte this loop has already written when `dest` is below `src` (the source is read
/// before the same or a lower destination word is stored).
///
/// # Safety
/// `src` readable and `dest` writable for `n` bytes.
unsafe fn copy_forward(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller's contract; the word loop runs while at least four bytes are left and
    // the byte loop takes the remaining 0-3, so the copy touches exactly `dest[..n]` and
    // `src[..n]`.
    unsafe {
        asm!(
            "2:",
            "subs {n}, {n}, #4",
            "bcc 3f",
            "ldr {t}, [{s}], #4",
            "str {t}, [{d}], #4",
            "b 2b",
            "3:",
            "adds {n}, {n}, #4",
            "4:",
            "subs {n}, {n}, #1",
            "bcc 5f",
            "ldrb {t}, [{s}], #1",
            "strb {t}, [{d}], #1",
            "b 4b",
            "5:",
            n = inout(reg) n => _,
            s = inout(reg) src => _,
            d = inout(reg) dest => _,
            t = out(reg) _,
            options(nostack),
        );
    }
}

/// Copies `n` bytes downwards, last byte first: correct for `dest` above an overlapping `src`.
///
/// # Safety
/// As [`copy_forward`].
unsafe fn copy_backward(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller's contract; `[{s}, #-1]!` pre-decrements from one past the end, so the
    // loop touches exactly `dest[..n]` and `src[..n]`.
    unsafe {
        asm!(
            "2:",
            "subs {n}, {n}, #1",
            "bcc 3f",
            "ldrb {t}, [{s}, #-1]!",
            "strb {t}, [{d}, #-1]!",
            "b 2b",
            "3:",
            n = inout(reg) n => _,
            s = inout(reg) src.wrapping_add(n) => _,
            d = inout(reg) dest.wrapping_add(n) => _,
            t = out(reg) _,
            options(nostack),
        );
    }
}

/// Stores the low byte of `c` into `n` bytes from `dest`.
///
/// # Safety
/// `dest` writable for `n` bytes.
unsafe fn fill(dest: *mut u8, n: usize, c: u32) {
    // SAFETY: the caller's contract; the loop touches exactly `dest[..n]`.
    unsafe {
        asm!(
            "2:",
            "subs {n}, {n}, #1",
            "bcc 3f",
            "strb {c}, [{d}], #1",
            "b 2b",
            "3:",
            n = inout(reg) n => _,
            d = inout(reg) dest => _,
            c = in(reg) c,
            options(nostack),
        );
    }
}

/// # Safety
/// As `memmove` in C.
unsafe fn move_bytes(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: forwarded contract; copying downwards only when `dest` is above `src`, so an
    // overlapping source byte is always read before it is overwritten.
    unsafe {
        if (dest as usize) <= (src as usize) {
            copy_forward(dest, src, n)
        } else {
            copy_backward(dest, src, n)
        }
    }
}

/// # Safety
/// As `memcpy` in C.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: forwarded contract.
    unsafe { copy_forward(dest, src, n) };
    dest
}

/// # Safety
/// As `memmove` in C.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: forwarded contract.
    unsafe { move_bytes(dest, src, n) };
    dest
}

/// # Safety
/// As `memset` in C.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: forwarded contract.
    unsafe { fill(dest, n, c as u32) };
    dest
}

/// Defines the AEABI entry points of one operation under each alignment suffix.
macro_rules! aeabi {
    ($($name:ident)+ => $params:tt $body:expr) => {$(
        /// # Safety
        /// As the AEABI routine of this name (the caller's pointers valid for `n` bytes).
        #[unsafe(no_mangle)]
        pub unsafe extern "aapcs" fn $name $params {
            // SAFETY: forwarded contract.
            unsafe { $body }
        }
    )+};
}

aeabi!(__aeabi_memcpy __aeabi_memcpy4 __aeabi_memcpy8
    => (dest: *mut u8, src: *const u8, n: usize) copy_forward(dest, src, n));
aeabi!(__aeabi_memmove __aeabi_memmove4 __aeabi_memmove8
    => (dest: *mut u8, src: *const u8, n: usize) move_bytes(dest, src, n));
aeabi!(__aeabi_memset __aeabi_memset4 __aeabi_memset8
    => (dest: *mut u8, n: usize, c: i32) fill(dest, n, c as u32));
aeabi!(__aeabi_memclr __aeabi_memclr4 __aeabi_memclr8
    => (dest: *mut u8, n: usize) fill(dest, n, 0));
