//! The key groups of one partition's top-n accumulator ([`Groups`]), laid
//! out so that a row that loses to its group's n-th kept row touches little
//! memory.

/// The key groups seen, laid out so that a row that loses to its group's
/// n-th kept row costs few cache misses: an open-addressing table of
/// 24-byte slots (hash, group, and the key bytes when short: one cache
/// line per lookup, prefetched a few rows ahead), and the groups' worst
/// rank prefixes in one dense array. Hashes are computed a batch at a time;
/// keys are always compared.
pub(super) struct Groups {
    /// Linear probing over a power-of-two table, at most half full.
    slots: Vec<Slot>,
    /// log2 of `slots.len()`.
    bits: u32,
    /// Per group, the first 8 bytes of its n-th kept rank, big-endian;
    /// `u64::MAX` while the group has fewer than n rows.
    worst: Vec<u64>,
    /// Per group, where its key is in `key_data`.
    info: Vec<(usize, u32)>,
    key_data: Vec<u8>,
}

/// Bytes of key kept in the table's slot.
const INLINE_KEY: usize = 11;
/// `Slot::inline_len` of a key longer than [`INLINE_KEY`].
const NOT_INLINE: u8 = u8::MAX;
/// `Slot::group` of an empty slot.
const EMPTY: u32 = u32::MAX;
/// Slots of a new table.
const INITIAL_BITS: u32 = 10;

#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    group: u32,
    /// The key's length when it fits in `key`, else [`NOT_INLINE`].
    inline_len: u8,
    /// The key zero-padded ([`pad`]) when it fits.
    key: [u8; INLINE_KEY],
}

const EMPTY_SLOT: Slot = Slot {
    hash: 0,
    group: EMPTY,
    inline_len: 0,
    key: [0; INLINE_KEY],
};

/// `key` (at most [`INLINE_KEY`] bytes) zero-padded, copied with a few
/// fixed-size moves instead of a call to `memcpy`.
fn pad(key: &[u8]) -> [u8; INLINE_KEY] {
    let mut a = [0u8; INLINE_KEY];
    let n = key.len();
    if n >= 8 {
        a[..8].copy_from_slice(&key[..8]);
        a[n - 4..n].copy_from_slice(&key[n - 4..n]);
    } else if n >= 4 {
        a[..4].copy_from_slice(&key[..4]);
        a[n - 4..n].copy_from_slice(&key[n - 4..n]);
    } else if n > 0 {
        a[0] = key[0];
        a[n / 2] = key[n / 2];
        a[n - 1] = key[n - 1];
    }
    a
}

/// Asks the CPU to start loading `p`'s cache line (a hint: no effect on
/// results, and none on other architectures).
#[inline(always)]
pub(super) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address.
    #[allow(unused_unsafe)]
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

impl Default for Groups {
    fn default() -> Self {
        Self {
            slots: vec![EMPTY_SLOT; 1 << INITIAL_BITS],
            bits: INITIAL_BITS,
            worst: Vec::new(),
            info: Vec::new(),
            key_data: Vec::new(),
        }
    }
}

impl Groups {
    /// The slot where the search for `hash` starts: the top bits of a
    /// multiplicative mix, so hashes that share their low bits (a
    /// partition's rows after a repartition by hash) still spread.
    fn home(&self, hash: u64) -> usize {
        (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bits)) as usize
    }

    /// Starts loading the slot where `hash`'s search starts.
    pub(super) fn prefetch(&self, hash: u64) {
        prefetch(self.slots.as_ptr().wrapping_add(self.home(hash)));
    }

    /// Starts loading group `g`'s worst rank prefix.
    pub(super) fn prefetch_worst(&self, g: u32) {
        prefetch(self.worst.as_ptr().wrapping_add(g as usize));
    }

    /// The group of `key`; a new group is numbered `len()` before it.
    pub(super) fn find_or_insert(&mut self, hash: u64, key: &[u8]) -> u32 {
        let inline = key.len() <= INLINE_KEY;
        let padded = if inline { pad(key) } else { [0; INLINE_KEY] };
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        loop {
            let slot = &self.slots[i];
            if slot.group == EMPTY {
                break;
            }
            if slot.hash == hash {
                let same = match slot.inline_len {
                    NOT_INLINE => !inline && self.key(slot.group as usize) == key,
                    n => n as usize == key.len() && slot.key == padded,
                };
                if same {
                    return slot.group;
                }
            }
            i = (i + 1) & mask;
        }
        let group = self.info.len() as u32;
        self.slots[i] = Slot {
            hash,
            group,
            inline_len: if inline { key.len() as u8 } else { NOT_INLINE },
            key: padded,
        };
        self.worst.push(u64::MAX);
        self.info.push((self.key_data.len(), key.len() as u32));
        self.key_data.extend_from_slice(key);
        if self.info.len() * 2 > self.slots.len() {
            self.grow();
        }
        group
    }

    /// Doubles the table (slots hold their hashes: no key is read).
    fn grow(&mut self) {
        self.bits += 1;
        let old = std::mem::replace(&mut self.slots, vec![EMPTY_SLOT; 1 << self.bits]);
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.group != EMPTY) {
            let mut i = self.home(slot.hash);
            while self.slots[i].group != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }

    /// The first 8 bytes of group `g`'s n-th kept rank ([`prefix`]);
    /// `u64::MAX` while it has fewer than n rows.
    pub(super) fn worst(&self, g: u32) -> u64 {
        self.worst[g as usize]
    }

    pub(super) fn set_worst(&mut self, g: usize, worst: u64) {
        self.worst[g] = worst;
    }

    pub(super) fn len(&self) -> usize {
        self.info.len()
    }

    pub(super) fn key(&self, g: usize) -> &[u8] {
        let (start, len) = self.info[g];
        &self.key_data[start..start + len as usize]
    }
}

/// The first 8 bytes of `bytes` as a big-endian number, zero-padded: if
/// `prefix(a) > prefix(b)` then `a > b` (as byte strings).
///
/// With 8 bytes or more in `a` and `b`, different prefixes also order any
/// prefix of `a` against any prefix of `b` that is 8 bytes or longer.
pub(super) fn prefix(bytes: &[u8]) -> u64 {
    if let Some(b) = bytes.first_chunk::<8>() {
        return u64::from_be_bytes(*b);
    }
    let mut b = [0u8; 8];
    for (d, s) in b.iter_mut().zip(bytes) {
        *d = *s;
    }
    u64::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_hashes_and_long_keys_stay_apart() {
        let mut g = Groups::default();
        let long_a = vec![7u8; 40];
        let mut long_b = long_a.clone();
        long_b[39] = 8;
        // Every key under one hash: the chain must tell them apart.
        let keys: [&[u8]; 5] = [b"a", b"b", &long_a, &long_b, b""];
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(g.find_or_insert(42, k), i as u32);
            assert_eq!(g.worst(i as u32), u64::MAX);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(g.find_or_insert(42, k), i as u32);
            assert_eq!(g.key(i), *k);
        }
        g.set_worst(4, 10);
        let empty = g.find_or_insert(42, b"");
        assert_eq!((empty, g.worst(empty)), (4, 10));
        assert_eq!(g.find_or_insert(7, b"a"), 5);
        assert_eq!(g.worst(5), u64::MAX);
    }

    #[test]
    fn inline_keys_of_every_length_stay_apart() {
        // Keys of 0..=12 bytes that differ in one byte, under one hash and
        // under their own: padding must not make two of them equal.
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for len in 0..=12usize {
            keys.push(vec![1; len]);
            for at in 0..len {
                let mut k = vec![1; len];
                k[at] = 2;
                keys.push(k);
            }
        }
        for hash in [|_: usize| 9u64, |i: usize| i as u64] {
            let mut g = Groups::default();
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(g.find_or_insert(hash(i), k), i as u32, "{k:?}");
            }
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(g.find_or_insert(hash(i), k), i as u32, "{k:?}");
                assert_eq!(g.key(i), &k[..]);
            }
        }
        for k in keys.iter().filter(|k| k.len() <= INLINE_KEY) {
            let padded = pad(k);
            assert_eq!(padded[..k.len()], k[..]);
            assert!(padded[k.len()..].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn the_table_grows_and_keeps_every_group() {
        let mut g = Groups::default();
        let keys: Vec<[u8; 4]> = (0..20_000u32).map(|i| i.to_be_bytes()).collect();
        // Hashes with equal low bits, and every 7th one shared.
        let hash = |i: usize| ((i / 7) as u64) << 24;
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(g.find_or_insert(hash(i), k), i as u32);
        }
        for (i, k) in keys.iter().enumerate().rev() {
            assert_eq!(g.find_or_insert(hash(i), k), i as u32);
        }
        assert_eq!(g.len(), keys.len());
        assert!(g.slots.len() >= 2 * keys.len());
    }

    #[test]
    fn prefix_orders_like_the_bytes() {
        let cases: [(&[u8], &[u8]); 4] = [
            (b"\x02", b"\x01\xff"),
            (b"abcdefgh\x01", b"abcdefgg\xff"),
            (b"ab\x01", b"ab"),
            (b"\x01\x00\x00\x00\x00\x00\x00\x00\x09", b"\x01"),
        ];
        for (big, small) in cases {
            assert!(big > small);
            assert!(prefix(big) >= prefix(small), "{big:?} {small:?}");
        }
        assert!(prefix(b"\x02") > prefix(b"\x01\xff"));
    }
}
