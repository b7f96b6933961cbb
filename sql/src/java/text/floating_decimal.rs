//! The digits of JDK 17's `Double.toString` / `Float.toString`: a port of
//! `jdk.internal.math.FloatingDecimal.BinaryToASCIIBuffer.dtoa` (JDK 9–18). Unlike the shortest
//! round-trip algorithms (ryu, and the JDK since 19), it sometimes prints one digit too many or
//! a digit that is not the closest (`1e23` → `9.999999999999999E22`, `5e-324` → `4.9E-324`),
//! and Flink on JDK 17 writes exactly that.
//!
//! Arithmetic follows the Java code: the `int` and `long` fast paths wrap like Java's, and the
//! general path uses exact big integers (Java's `FDBigInteger` is exact too).

use std::cmp::Ordering;

/// Decimal digits `d₁d₂…dₙ` and the exponent `e` such that the value is `0.d₁d₂…dₙ × 10^e`.
#[derive(Clone, Copy, Debug)]
pub struct Digits {
    buf: [u8; 20],
    start: usize,
    len: usize,
    /// Java's `decExponent`: the position of the decimal point relative to the first digit.
    pub dec_exponent: i32,
}

impl Digits {
    /// The ASCII digits.
    pub fn digits(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }
}

const EXP_SHIFT: i32 = 52;
const SIGNIF_BIT_MASK: u64 = (1 << 52) - 1;
const MAX_SMALL_BIN_EXP: i32 = 62;
const MIN_SMALL_BIN_EXP: i32 = -(63 / 3);

const LONG_5_POW: [i64; 27] = {
    let mut t = [1i64; 27];
    let mut i = 1;
    while i < 27 {
        t[i] = t[i - 1] * 5;
        i += 1;
    }
    t
};

/// Approximately `ceil(log2(5^i))`.
const N_5_BITS: [i32; 27] = [
    0, 3, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28, 31, 33, 35, 38, 40, 42, 45, 47, 49, 52, 54, 56,
    59, 61,
];

const INSIGNIFICANT_DIGITS_NUMBER: [i32; 64] = [
    0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9,
    9, 9, 10, 10, 10, 11, 11, 11, 12, 12, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15, 15, 16, 16,
    16, 17, 17, 17, 18, 18, 18, 19,
];

/// The digits of a finite, non-zero `f64` (its absolute value).
pub fn double_digits(v: f64) -> Digits {
    let bits = v.to_bits();
    let mut fract = bits & SIGNIF_BIT_MASK;
    let mut bin_exp = ((bits >> 52) & 0x7ff) as i32;
    let n_significant_bits;
    if bin_exp == 0 {
        let leading = fract.leading_zeros() as i32;
        let shift = leading - (63 - EXP_SHIFT);
        fract <<= shift;
        bin_exp = 1 - shift;
        n_significant_bits = 64 - leading;
    } else {
        fract |= 1 << EXP_SHIFT;
        n_significant_bits = EXP_SHIFT + 1;
    }
    dtoa(bin_exp - 1023, fract, n_significant_bits)
}

/// The digits of a finite, non-zero `f32` (its absolute value).
pub fn float_digits(v: f32) -> Digits {
    let bits = v.to_bits();
    let mut fract = bits & 0x007f_ffff;
    let mut bin_exp = ((bits >> 23) & 0xff) as i32;
    let n_significant_bits;
    if bin_exp == 0 {
        let leading = fract.leading_zeros() as i32;
        let shift = leading - 8;
        fract <<= shift;
        bin_exp = 1 - shift;
        n_significant_bits = 32 - leading;
    } else {
        fract |= 1 << 23;
        n_significant_bits = 24;
    }
    dtoa(bin_exp - 127, u64::from(fract) << 29, n_significant_bits)
}

fn insignificant_digits_for_pow2(p2: i32) -> i32 {
    if p2 > 1 && p2 < INSIGNIFICANT_DIGITS_NUMBER.len() as i32 {
        INSIGNIFICANT_DIGITS_NUMBER[p2 as usize]
    } else {
        0
    }
}

fn n5bits(i: i32) -> i32 {
    if (i as usize) < N_5_BITS.len() {
        N_5_BITS[i as usize]
    } else {
        i * 3
    }
}

/// Java's `developLongDigits`: all the significant bits are in `lvalue`.
fn develop_long_digits(mut dec_exponent: i32, mut lvalue: i64, insignificant: i32) -> Digits {
    if insignificant != 0 {
        let pow10 = LONG_5_POW[insignificant as usize] << insignificant;
        let residue = lvalue % pow10;
        lvalue /= pow10;
        dec_exponent += insignificant;
        if residue >= (pow10 >> 1) {
            lvalue += 1;
        }
    }
    let mut buf = [b'0'; 20];
    let mut digitno = buf.len() - 1;
    let mut c = lvalue % 10;
    lvalue /= 10;
    while c == 0 {
        dec_exponent += 1;
        c = lvalue % 10;
        lvalue /= 10;
    }
    while lvalue != 0 {
        buf[digitno] = b'0' + c as u8;
        digitno -= 1;
        dec_exponent += 1;
        c = lvalue % 10;
        lvalue /= 10;
    }
    buf[digitno] = b'0' + c as u8;
    Digits {
        buf,
        start: digitno,
        len: buf.len() - digitno,
        dec_exponent: dec_exponent + 1,
    }
}

/// Java's `estimateDecExp` (its constants, not `LOG10_2`: the estimate must be the same).
#[allow(clippy::approx_constant)]
fn estimate_dec_exp(fract_bits: u64, bin_exp: i32) -> i32 {
    let d2 = f64::from_bits((1023u64 << 52) | (fract_bits & SIGNIF_BIT_MASK));
    let d = (d2 - 1.5) * 0.289529654 + 0.176091259 + f64::from(bin_exp) * 0.301029995663981;
    let d_bits = d.to_bits();
    let exponent = ((d_bits >> 52) & 0x7ff) as i32 - 1023;
    let negative = d_bits >> 63 != 0;
    if (0..52).contains(&exponent) {
        let mask = SIGNIF_BIT_MASK >> exponent;
        let r = (((d_bits & SIGNIF_BIT_MASK) | (1 << 52)) >> (EXP_SHIFT - exponent)) as i32;
        if negative {
            if mask & d_bits == 0 { -r } else { -r - 1 }
        } else {
            r
        }
    } else if exponent < 0 {
        if d_bits & !(1 << 63) == 0 {
            0
        } else if negative {
            -1
        } else {
            0
        }
    } else {
        d as i32
    }
}

/// Java's `dtoa` with `isCompatibleFormat = true` (the `toString` format).
///
/// One long function on purpose: it follows JDK 17's `FloatingDecimal.BinaryToASCIIBuffer.dtoa`
/// branch for branch, so a reader can check it against the JDK source side by side; its three
/// digit-generation loops (on `int`, `long` and big numbers) share one set-up (`b2`, `s2`, `m2`,
/// the decimal exponent) and feed one rounding step (`low`, `high`, `low_digit_difference`).
fn dtoa(bin_exp: i32, mut fract_bits: u64, n_significant_bits: i32) -> Digits {
    let tail_zeros = fract_bits.trailing_zeros() as i32;
    let n_fract_bits = EXP_SHIFT + 1 - tail_zeros;
    let n_tiny_bits = (n_fract_bits - bin_exp - 1).max(0);
    if (MIN_SMALL_BIN_EXP..=MAX_SMALL_BIN_EXP).contains(&bin_exp)
        && n_tiny_bits < LONG_5_POW.len() as i32
        && n_fract_bits + N_5_BITS[n_tiny_bits as usize] < 64
        && n_tiny_bits == 0
    {
        let insignificant = if bin_exp > n_significant_bits {
            insignificant_digits_for_pow2(bin_exp - n_significant_bits - 1)
        } else {
            0
        };
        let v = if bin_exp >= EXP_SHIFT {
            fract_bits << (bin_exp - EXP_SHIFT)
        } else {
            fract_bits >> (EXP_SHIFT - bin_exp)
        };
        return develop_long_digits(0, v as i64, insignificant);
    }
    let mut dec_exp = estimate_dec_exp(fract_bits, bin_exp);
    let b5 = (-dec_exp).max(0);
    let mut b2 = b5 + n_tiny_bits + bin_exp;
    let s5 = dec_exp.max(0);
    let mut s2 = s5 + n_tiny_bits;
    let m5 = b5;
    let mut m2 = b2 - n_significant_bits;

    fract_bits >>= tail_zeros;
    b2 -= n_fract_bits - 1;
    let common2 = b2.min(s2);
    b2 -= common2;
    s2 -= common2;
    m2 -= common2;
    // For exact powers of two, the next smaller number is only half as far away.
    if n_fract_bits == 1 {
        m2 -= 1;
    }
    if m2 < 0 {
        b2 -= m2;
        s2 -= m2;
        m2 = 0;
    }

    let mut buf = [b'0'; 20];
    let mut ndigit = 0usize;
    let low;
    let high;
    let low_digit_difference: i64;
    let b_bits = n_fract_bits + b2 + n5bits(b5);
    let ten_s_bits = s2 + 1 + n5bits(s5 + 1);
    if b_bits < 64 && ten_s_bits < 64 {
        if b_bits < 32 && ten_s_bits < 32 {
            // Java `int` arithmetic, wrapping.
            let mut b = (fract_bits as i32)
                .wrapping_mul(LONG_5_POW[b5 as usize] as i32)
                .wrapping_shl(b2 as u32);
            let s = (LONG_5_POW[s5 as usize] as i32).wrapping_shl(s2 as u32);
            let mut m = (LONG_5_POW[m5 as usize] as i32).wrapping_shl(m2 as u32);
            let tens = s.wrapping_mul(10);
            let mut q = b / s;
            b = (b % s).wrapping_mul(10);
            m = m.wrapping_mul(10);
            let mut lo = b < m;
            let mut hi = b.wrapping_add(m) > tens;
            if q == 0 && !hi {
                dec_exp -= 1;
            } else {
                buf[ndigit] = b'0' + q as u8;
                ndigit += 1;
            }
            if !(-3..8).contains(&dec_exp) {
                hi = false;
                lo = false;
            }
            while !lo && !hi {
                q = b / s;
                b = (b % s).wrapping_mul(10);
                m = m.wrapping_mul(10);
                if m > 0 {
                    lo = b < m;
                    hi = b.wrapping_add(m) > tens;
                } else {
                    lo = true;
                    hi = true;
                }
                buf[ndigit] = b'0' + q as u8;
                ndigit += 1;
            }
            low_digit_difference = i64::from(b.wrapping_shl(1).wrapping_sub(tens));
            low = lo;
            high = hi;
        } else {
            // Java `long` arithmetic, wrapping.
            let mut b = (fract_bits as i64)
                .wrapping_mul(LONG_5_POW[b5 as usize])
                .wrapping_shl(b2 as u32);
            let s = LONG_5_POW[s5 as usize].wrapping_shl(s2 as u32);
            let mut m = LONG_5_POW[m5 as usize].wrapping_shl(m2 as u32);
            let tens = s.wrapping_mul(10);
            let mut q = b / s;
            b = (b % s).wrapping_mul(10);
            m = m.wrapping_mul(10);
            let mut lo = b < m;
            let mut hi = b.wrapping_add(m) > tens;
            if q == 0 && !hi {
                dec_exp -= 1;
            } else {
                buf[ndigit] = b'0' + q as u8;
                ndigit += 1;
            }
            if !(-3..8).contains(&dec_exp) {
                hi = false;
                lo = false;
            }
            while !lo && !hi {
                q = b / s;
                b = (b % s).wrapping_mul(10);
                m = m.wrapping_mul(10);
                if m > 0 {
                    lo = b < m;
                    hi = b.wrapping_add(m) > tens;
                } else {
                    lo = true;
                    hi = true;
                }
                buf[ndigit] = b'0' + q as u8;
                ndigit += 1;
            }
            low_digit_difference = b.wrapping_shl(1).wrapping_sub(tens);
            low = lo;
            high = hi;
        }
    } else {
        let s = Big::pow52(s5, s2);
        let mut b = Big::from_u64(fract_bits);
        b.mul_pow52(b5, b2);
        let mut m = Big::pow52(m5 + 1, m2 + 1);
        let ten_s = Big::pow52(s5 + 1, s2 + 1);
        let mut q = b.quo_rem_iteration(&s);
        let mut lo = b.cmp(&m) == Ordering::Less;
        let mut hi = ten_s.cmp_sum(&b, &m) != Ordering::Greater;
        if q == 0 && !hi {
            dec_exp -= 1;
        } else {
            buf[ndigit] = b'0' + q;
            ndigit += 1;
        }
        if !(-3..8).contains(&dec_exp) {
            hi = false;
            lo = false;
        }
        while !lo && !hi {
            q = b.quo_rem_iteration(&s);
            m.mul_small(10);
            lo = b.cmp(&m) == Ordering::Less;
            hi = ten_s.cmp_sum(&b, &m) != Ordering::Greater;
            buf[ndigit] = b'0' + q;
            ndigit += 1;
        }
        low_digit_difference = if hi && lo {
            b.shl(1);
            match b.cmp(&ten_s) {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            }
        } else {
            0
        };
        low = lo;
        high = hi;
    }
    let mut d = Digits {
        buf,
        start: 0,
        len: ndigit,
        dec_exponent: dec_exp + 1,
    };
    if high {
        if low {
            if low_digit_difference == 0 {
                // A tie: round to even.
                if d.buf[ndigit - 1] & 1 != 0 {
                    roundup(&mut d);
                }
            } else if low_digit_difference > 0 {
                roundup(&mut d);
            }
        } else {
            roundup(&mut d);
        }
    }
    d
}

fn roundup(d: &mut Digits) {
    let mut i = d.start + d.len - 1;
    let mut q = d.buf[i];
    if q == b'9' {
        while q == b'9' && i > d.start {
            d.buf[i] = b'0';
            i -= 1;
            q = d.buf[i];
        }
        if q == b'9' {
            d.dec_exponent += 1;
            d.buf[d.start] = b'1';
            return;
        }
    }
    d.buf[i] = q + 1;
}

/// A small unsigned big integer (little-endian 32-bit limbs), enough for `dtoa`'s ~1100 bits.
#[derive(Clone, Debug)]
struct Big {
    limbs: Vec<u32>,
}

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big {
            limbs: vec![v as u32, (v >> 32) as u32],
        };
        b.trim();
        b
    }

    /// `5^p5 × 2^p2`.
    fn pow52(p5: i32, p2: i32) -> Big {
        let mut b = Big::from_u64(1);
        b.mul_pow52(p5, p2);
        b
    }

    fn mul_pow52(&mut self, p5: i32, p2: i32) {
        let mut p5 = p5.max(0);
        while p5 >= 13 {
            self.mul_small(1_220_703_125); // 5^13
            p5 -= 13;
        }
        if p5 > 0 {
            self.mul_small(5u32.pow(p5 as u32));
        }
        self.shl(p2.max(0) as u32);
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for l in &mut self.limbs {
            let p = u64::from(*l) * u64::from(m) + carry;
            *l = p as u32;
            carry = p >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    fn shl(&mut self, bits: u32) {
        let words = (bits / 32) as usize;
        let bits = bits % 32;
        if bits > 0 {
            let mut carry = 0u32;
            for l in &mut self.limbs {
                let next = *l >> (32 - bits);
                *l = (*l << bits) | carry;
                carry = next;
            }
            if carry != 0 {
                self.limbs.push(carry);
            }
        }
        if words > 0 && !self.limbs.is_empty() {
            self.limbs.splice(0..0, std::iter::repeat_n(0, words));
        }
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }

    /// Compares `self` with `a + b`.
    fn cmp_sum(&self, a: &Big, b: &Big) -> Ordering {
        let mut sum = a.clone();
        let mut carry = 0u64;
        for i in 0..sum.limbs.len().max(b.limbs.len()) {
            if i == sum.limbs.len() {
                sum.limbs.push(0);
            }
            let s = u64::from(sum.limbs[i]) + u64::from(*b.limbs.get(i).unwrap_or(&0)) + carry;
            sum.limbs[i] = s as u32;
            carry = s >> 32;
        }
        if carry != 0 {
            sum.limbs.push(carry as u32);
        }
        self.cmp(&sum)
    }

    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.limbs.len() {
            let d =
                i64::from(self.limbs[i]) - i64::from(*other.limbs.get(i).unwrap_or(&0)) - borrow;
            if d < 0 {
                self.limbs[i] = (d + (1 << 32)) as u32;
                borrow = 1;
            } else {
                self.limbs[i] = d as u32;
                borrow = 0;
            }
        }
        self.trim();
    }

    /// Java's `quoRemIteration`: returns `self / s` (less than 10) and sets `self` to
    /// `(self % s) × 10`.
    fn quo_rem_iteration(&mut self, s: &Big) -> u8 {
        let mut q = 0;
        while self.cmp(s) != Ordering::Less {
            self.sub_assign(s);
            q += 1;
        }
        self.mul_small(10);
        self.trim();
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(d: Digits) -> (String, i32) {
        (
            String::from_utf8(d.digits().to_vec()).unwrap(),
            d.dec_exponent,
        )
    }

    #[test]
    fn jdk_digits_including_the_non_shortest_ones() {
        assert_eq!(text(double_digits(1e23)), ("9999999999999999".into(), 23));
        assert_eq!(text(double_digits(5e-324)), ("49".into(), -323));
        assert_eq!(
            text(double_digits(2.82879384806159e17)),
            ("282879384806159008".into(), 18)
        );
        assert_eq!(
            text(double_digits(8.41e21)),
            ("8409999999999999".into(), 22)
        );
        assert_eq!(text(double_digits(1.0)), ("1".into(), 1));
        assert_eq!(text(double_digits(0.1)), ("1".into(), 0));
        assert_eq!(text(float_digits(1.1)), ("11".into(), 1));
    }
}
