//! A vector of f32 lanes, the only thing the kernels need from an instruction set: one kernel body
//! is written against [`Lanes`] and compiled for each implementation here. The x86 ones are only
//! called from functions compiled with their target features, after run-time detection.

/// `WIDTH` f32 values processed by one instruction.
pub trait Lanes: Copy {
    const WIDTH: usize;
    /// # Safety
    /// The CPU has the instruction set; true of every method below.
    unsafe fn splat(value: f32) -> Self;
    /// # Safety
    /// `ptr` points to `WIDTH` readable values (no alignment needed).
    unsafe fn load(ptr: *const f32) -> Self;
    /// # Safety
    /// `ptr` points to `WIDTH` writable values (no alignment needed).
    unsafe fn store(self, ptr: *mut f32);
    /// `self + a * b`.
    /// # Safety
    /// As [`Lanes::splat`].
    unsafe fn mul_add(self, a: Self, b: Self) -> Self;
    /// # Safety
    /// As [`Lanes::splat`].
    unsafe fn add(self, other: Self) -> Self;
    /// # Safety
    /// As [`Lanes::splat`].
    unsafe fn max_zero(self) -> Self;
}

/// Eight lanes in plain Rust: runs anywhere, vectorised by the compiler with what the target has.
#[derive(Clone, Copy)]
pub struct Portable([f32; 8]);

impl Lanes for Portable {
    const WIDTH: usize = 8;
    #[inline(always)]
    unsafe fn splat(value: f32) -> Self {
        Portable([value; 8])
    }
    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        // SAFETY: the caller guarantees eight readable values.
        Portable(unsafe { ptr.cast::<[f32; 8]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        // SAFETY: the caller guarantees eight writable values.
        unsafe { ptr.cast::<[f32; 8]>().write_unaligned(self.0) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, a: Self, b: Self) -> Self {
        // `a * b + c` rather than `mul_add`: without FMA hardware, `mul_add` is a library call.
        Portable(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
    }
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i] + other.0[i]))
    }
    #[inline(always)]
    unsafe fn max_zero(self) -> Self {
        Portable(self.0.map(|v| v.max(0.0)))
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Lanes;

    /// AVX2 with FMA: eight lanes.
    #[derive(Clone, Copy)]
    pub struct Avx2(__m256);

    impl Lanes for Avx2 {
        const WIDTH: usize = 8;
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn splat(value: f32) -> Self {
            Avx2(_mm256_set1_ps(value))
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn load(ptr: *const f32) -> Self {
            // SAFETY: the caller guarantees eight readable values.
            Avx2(unsafe { _mm256_loadu_ps(ptr) })
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn store(self, ptr: *mut f32) {
            // SAFETY: the caller guarantees eight writable values.
            unsafe { _mm256_storeu_ps(ptr, self.0) }
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn mul_add(self, a: Self, b: Self) -> Self {
            Avx2(_mm256_fmadd_ps(a.0, b.0, self.0))
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn add(self, other: Self) -> Self {
            Avx2(_mm256_add_ps(self.0, other.0))
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn max_zero(self) -> Self {
            Avx2(_mm256_max_ps(self.0, _mm256_setzero_ps()))
        }
    }

    /// AVX-512F: sixteen lanes, and 32 registers for accumulators.
    #[derive(Clone, Copy)]
    pub struct Avx512(__m512);

    impl Lanes for Avx512 {
        const WIDTH: usize = 16;
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn splat(value: f32) -> Self {
            Avx512(_mm512_set1_ps(value))
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn load(ptr: *const f32) -> Self {
            // SAFETY: the caller guarantees sixteen readable values.
            Avx512(unsafe { _mm512_loadu_ps(ptr) })
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn store(self, ptr: *mut f32) {
            // SAFETY: the caller guarantees sixteen writable values.
            unsafe { _mm512_storeu_ps(ptr, self.0) }
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn mul_add(self, a: Self, b: Self) -> Self {
            Avx512(_mm512_fmadd_ps(a.0, b.0, self.0))
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn add(self, other: Self) -> Self {
            Avx512(_mm512_add_ps(self.0, other.0))
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn max_zero(self) -> Self {
            Avx512(_mm512_max_ps(self.0, _mm512_setzero_ps()))
        }
    }
}
