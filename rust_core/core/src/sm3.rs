//! SM3 hash (GB/T 32905-2016): one-shot and streaming.

/// Digest length in bytes.
pub const DIGEST_LEN: usize = 32;
/// Block length in bytes.
pub const BLOCK_LEN: usize = 64;

const IV: [u32; 8] = [
    0x7380_166f,
    0x4914_b2b9,
    0x1724_42d7,
    0xda8a_0600,
    0xa96f_30bc,
    0x1631_38aa,
    0xe38d_ee4d,
    0xb0fb_0e4e,
];

/// `T_j <<< (j mod 32)` for every round, computed once at compile time.
const T_ROTATED: [u32; 64] = {
    let mut t = [0u32; 64];
    let mut j = 0;
    while j < 64 {
        let base: u32 = if j < 16 { 0x79cc_4519 } else { 0x7a87_9d8a };
        t[j] = base.rotate_left((j % 32) as u32);
        j += 1;
    }
    t
};

#[inline(always)]
fn p0(x: u32) -> u32 {
    x ^ x.rotate_left(9) ^ x.rotate_left(17)
}

#[inline(always)]
fn p1(x: u32) -> u32 {
    x ^ x.rotate_left(15) ^ x.rotate_left(23)
}

#[inline(always)]
fn ff0(x: u32, y: u32, z: u32) -> u32 {
    x ^ y ^ z
}

/// Majority, with one operation fewer than `(x&y)|(x&z)|(y&z)`.
#[inline(always)]
fn ff1(x: u32, y: u32, z: u32) -> u32 {
    (x & y) | (z & (x | y))
}

#[inline(always)]
fn gg0(x: u32, y: u32, z: u32) -> u32 {
    x ^ y ^ z
}

/// Choice, `(x&y)|(!x&z)` written as `((y^z)&x)^z`.
#[inline(always)]
fn gg1(x: u32, y: u32, z: u32) -> u32 {
    ((y ^ z) & x) ^ z
}

/// One round. Instead of shifting all eight registers, the caller rotates
/// the variable names: the new A is written into D's variable and the new E
/// into H's, B and F are rotated in place, so after the round the roles are
/// (D, A, B, C, H, E, F, G).
macro_rules! round {
    ($ff:ident, $gg:ident, $a:ident, $b:ident, $c:ident, $d:ident,
     $e:ident, $f:ident, $g:ident, $h:ident, $w:expr, $w4:expr, $t:expr) => {{
        // Sums are ordered so that the values of the previous round (A, E
        // and what follows from them) enter last: a shorter critical path.
        let a12 = $a.rotate_left(12);
        let ss1 = a12.wrapping_add($e.wrapping_add($t)).rotate_left(7);
        let ss2 = ss1 ^ a12;
        let tt1 = $d
            .wrapping_add($w ^ $w4)
            .wrapping_add($ff($a, $b, $c))
            .wrapping_add(ss2);
        let tt2 = $h
            .wrapping_add($w)
            .wrapping_add($gg($e, $f, $g))
            .wrapping_add(ss1);
        $b = $b.rotate_left(9);
        $d = tt1;
        $f = $f.rotate_left(19);
        $h = p0(tt2);
    }};
}

/// Four rounds starting at round `j`; the register roles come back to where
/// they started.
macro_rules! four_rounds {
    ($ff:ident, $gg:ident, $w:ident, $j:expr,
     $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident) => {{
        let j = $j;
        if j >= 12 {
            // Constant after unrolling: W_{j+4}..W_{j+7} for these rounds.
            expand(&mut $w, j + 4);
        }
        round!(
            $ff,
            $gg,
            $a,
            $b,
            $c,
            $d,
            $e,
            $f,
            $g,
            $h,
            $w[j],
            $w[j + 4],
            T_ROTATED[j]
        );
        round!(
            $ff,
            $gg,
            $d,
            $a,
            $b,
            $c,
            $h,
            $e,
            $f,
            $g,
            $w[j + 1],
            $w[j + 5],
            T_ROTATED[j + 1]
        );
        round!(
            $ff,
            $gg,
            $c,
            $d,
            $a,
            $b,
            $g,
            $h,
            $e,
            $f,
            $w[j + 2],
            $w[j + 6],
            T_ROTATED[j + 2]
        );
        round!(
            $ff,
            $gg,
            $b,
            $c,
            $d,
            $a,
            $f,
            $g,
            $h,
            $e,
            $w[j + 3],
            $w[j + 7],
            T_ROTATED[j + 3]
        );
    }};
}

/// `W_i..W_{i+3}` from the sixteen words before them.
#[inline(always)]
fn expand(w: &mut [u32; 68], i: usize) {
    for j in i..i + 4 {
        w[j] = p1(w[j - 16] ^ w[j - 9] ^ w[j - 3].rotate_left(15))
            ^ w[j - 13].rotate_left(7)
            ^ w[j - 6];
    }
}

/// The compression function CF applied to each 64-byte block in turn.
fn compress(state: &mut [u32; 8], blocks: &[u8]) {
    debug_assert_eq!(blocks.len() % BLOCK_LEN, 0);
    for block in blocks.chunks_exact(BLOCK_LEN) {
        // Message expansion W_16..W_67 is done just in time, four words
        // ahead of the rounds that use them (W'_j = W_j ^ W_{j+4} is formed
        // in the round): its independent work then fills the gaps in the
        // rounds' long dependency chain instead of running before it.
        let mut w = [0u32; 68];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }

        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
        four_rounds!(ff0, gg0, w, 0, a, b, c, d, e, f, g, h);
        four_rounds!(ff0, gg0, w, 4, a, b, c, d, e, f, g, h);
        four_rounds!(ff0, gg0, w, 8, a, b, c, d, e, f, g, h);
        four_rounds!(ff0, gg0, w, 12, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 16, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 20, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 24, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 28, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 32, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 36, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 40, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 44, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 48, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 52, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 56, a, b, c, d, e, f, g, h);
        four_rounds!(ff1, gg1, w, 60, a, b, c, d, e, f, g, h);
        for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s ^= v;
        }
    }
}

/// Streaming SM3. `Clone` gives a cheap copy of the running state.
#[derive(Clone, Debug)]
pub struct Sm3 {
    state: [u32; 8],
    buffer: [u8; BLOCK_LEN],
    buffered: usize,
    /// Total message length in bytes so far.
    length: u64,
}

impl Default for Sm3 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sm3 {
    /// A fresh hasher.
    pub fn new() -> Self {
        Sm3 {
            state: IV,
            buffer: [0; BLOCK_LEN],
            buffered: 0,
            length: 0,
        }
    }

    /// Absorbs `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        // SM3 is defined for messages shorter than 2^64 bits; wrapping is
        // unreachable in practice (2 EiB) and harmless for the digest.
        self.length = self.length.wrapping_add(data.len() as u64);
        if self.buffered > 0 {
            let take = (BLOCK_LEN - self.buffered).min(data.len());
            self.buffer[self.buffered..self.buffered + take].copy_from_slice(&data[..take]);
            self.buffered += take;
            data = &data[take..];
            if self.buffered < BLOCK_LEN {
                return;
            }
            let block = self.buffer;
            compress(&mut self.state, &block);
            self.buffered = 0;
        }
        let whole = data.len() - data.len() % BLOCK_LEN;
        compress(&mut self.state, &data[..whole]);
        let rest = &data[whole..];
        self.buffer[..rest.len()].copy_from_slice(rest);
        self.buffered = rest.len();
    }

    /// Consumes the hasher and returns the digest.
    pub fn finalize(mut self) -> [u8; DIGEST_LEN] {
        self.finish()
    }

    /// Pads, absorbs the padding and returns the digest; the hasher is
    /// spent afterwards.
    fn finish(&mut self) -> [u8; DIGEST_LEN] {
        let bit_length = self.length.wrapping_mul(8);
        let mut pad = [0u8; 2 * BLOCK_LEN];
        pad[0] = 0x80;
        // Pad to 56 mod 64, then the 64-bit big-endian bit length.
        let pad_len = if self.buffered < 56 {
            56 - self.buffered
        } else {
            120 - self.buffered
        };
        pad[pad_len..pad_len + 8].copy_from_slice(&bit_length.to_be_bytes());
        self.update(&pad[..pad_len + 8]);
        debug_assert_eq!(self.buffered, 0);
        let mut out = [0u8; DIGEST_LEN];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Computes the digest and wipes the running state and buffer (used
    /// where the state is derived from a key, as in HMAC).
    pub(crate) fn finalize_and_wipe(&mut self) -> [u8; DIGEST_LEN] {
        let digest = self.finish();
        self.wipe();
        digest
    }

    /// Overwrites the running state, buffer and length with zeros.
    pub(crate) fn wipe(&mut self) {
        use zeroize::Zeroize;
        self.state.zeroize();
        self.buffer.zeroize();
        self.buffered.zeroize();
        self.length.zeroize();
    }

    /// The digest of everything absorbed so far, leaving the hasher usable.
    pub fn digest(&self) -> [u8; DIGEST_LEN] {
        self.clone().finalize()
    }
}

/// One-shot SM3.
pub fn sm3(data: &[u8]) -> [u8; DIGEST_LEN] {
    let mut h = Sm3::new();
    h.update(data);
    h.finalize()
}

/// SM3 over the concatenation of several parts, without copying them.
pub fn sm3_parts(parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    let mut h = Sm3::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

/// `SM3(prefix ‖ left ‖ right)` for two 32-byte values (a Merkle node hash),
/// padded in place: exactly two compressions, no streaming bookkeeping.
/// Out of line, so every caller runs the same (measured) code.
#[inline(never)]
pub(crate) fn sm3_prefixed_pair(
    prefix: u8,
    left: &[u8; DIGEST_LEN],
    right: &[u8; DIGEST_LEN],
) -> [u8; DIGEST_LEN] {
    // 65 message bytes, 0x80, zeros, then the 64-bit bit length (520).
    let mut blocks = [0u8; 2 * BLOCK_LEN];
    blocks[0] = prefix;
    blocks[1..33].copy_from_slice(left);
    blocks[33..65].copy_from_slice(right);
    blocks[65] = 0x80;
    blocks[120..].copy_from_slice(&(65u64 * 8).to_be_bytes());
    let mut state = IV;
    // One block per call: with both in one call the optimiser (fat LTO)
    // unrolled the block loop into slower code.
    let (first, second) = blocks.split_at(BLOCK_LEN);
    compress(&mut state, first);
    compress(&mut state, second);
    let mut out = [0u8; DIGEST_LEN];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abc_matches_standard_example() {
        let d = sm3(b"abc");
        assert_eq!(
            d[..4],
            [0x66, 0xc7, 0xf0, 0xf4],
            "GB/T 32905 Appendix A example 1"
        );
    }

    #[test]
    fn prefixed_pair_equals_streaming() {
        let left: [u8; 32] = core::array::from_fn(|i| i as u8);
        let right: [u8; 32] = core::array::from_fn(|i| 0xff - i as u8);
        for prefix in [0u8, 1, 0xff] {
            assert_eq!(
                sm3_prefixed_pair(prefix, &left, &right),
                sm3_parts(&[&[prefix], &left, &right])
            );
        }
    }

    #[test]
    fn streaming_in_odd_chunks_equals_one_shot() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for chunk in [1usize, 3, 55, 56, 63, 64, 65, 127, 999] {
            let mut h = Sm3::new();
            for part in data.chunks(chunk) {
                h.update(part);
            }
            assert_eq!(h.digest(), sm3(&data), "chunk size {chunk}");
        }
    }
}
