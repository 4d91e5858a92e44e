//! The key groups of one partition's top-n accumulator ([`Groups`]), laid
//! out so that a row that loses to its group's n-th kept row touches little
//! memory.

use std::hash::{BuildHasherDefault, Hasher};

use datafusion::common::HashMap;

/// The key groups seen, laid out so that a row that loses to its group's
/// n-th kept row costs few cache misses: the hash table entry of its keys'
/// hash is small (24 bytes) and holds the key bytes when short, and the
/// groups' worst rank prefixes are one dense array. Hashes are computed a
/// batch at a time; keys are always compared.
#[derive(Default)]
pub(super) struct Groups {
    /// Hash to the last group with that hash.
    index: HashMap<u64, Head, BuildHasherDefault<Prehashed>>,
    /// Per group, the first 8 bytes of its n-th kept rank, big-endian;
    /// `u64::MAX` while the group has fewer than n rows.
    worst: Vec<u64>,
    info: Vec<GroupInfo>,
    key_data: Vec<u8>,
}

/// Bytes of key kept in the hash table entry.
const INLINE_KEY: usize = 11;
/// `Head::inline_len` of a key longer than [`INLINE_KEY`].
const NOT_INLINE: u8 = u8::MAX;

#[derive(Clone, Copy)]
struct Head {
    group: u32,
    /// The key's length when it fits in `key`, else [`NOT_INLINE`].
    inline_len: u8,
    key: [u8; INLINE_KEY],
}

struct GroupInfo {
    key_start: usize,
    key_len: u32,
    /// The previous group with the same hash (`u32::MAX`: none).
    same_hash: u32,
}

impl Head {
    fn matches(&self, key: &[u8], groups_key: impl FnOnce() -> bool) -> bool {
        match self.inline_len {
            NOT_INLINE => key.len() > INLINE_KEY && groups_key(),
            n => n as usize == key.len() && self.key[..n as usize] == *key,
        }
    }
}

impl Groups {
    /// The group of `key` and its worst rank prefix; a new group is
    /// numbered `info.len()` before it.
    pub(super) fn find_or_insert(&mut self, hash: u64, key: &[u8]) -> (usize, u64) {
        if let Some(head) = self.index.get(&hash) {
            if head.matches(key, || self.key(head.group as usize) == key) {
                return (head.group as usize, self.worst[head.group as usize]);
            }
            let mut g = self.info[head.group as usize].same_hash;
            while g != u32::MAX {
                if self.key(g as usize) == key {
                    return (g as usize, self.worst[g as usize]);
                }
                g = self.info[g as usize].same_hash;
            }
        }
        // Not found: the new group heads its hash's chain.
        let new = self.info.len() as u32;
        let same_hash = self.index.get(&hash).map_or(u32::MAX, |h| h.group);
        let mut head = Head {
            group: new,
            inline_len: NOT_INLINE,
            key: [0; INLINE_KEY],
        };
        if key.len() <= INLINE_KEY {
            head.inline_len = key.len() as u8;
            head.key[..key.len()].copy_from_slice(key);
        }
        self.index.insert(hash, head);
        self.worst.push(u64::MAX);
        self.info.push(GroupInfo {
            key_start: self.key_data.len(),
            key_len: key.len() as u32,
            same_hash,
        });
        self.key_data.extend_from_slice(key);
        (new as usize, u64::MAX)
    }

    pub(super) fn set_worst(&mut self, g: usize, worst: u64) {
        self.worst[g] = worst;
    }

    pub(super) fn len(&self) -> usize {
        self.info.len()
    }

    pub(super) fn key(&self, g: usize) -> &[u8] {
        let info = &self.info[g];
        &self.key_data[info.key_start..info.key_start + info.key_len as usize]
    }
}

/// The first 8 bytes of `bytes` as a big-endian number, zero-padded: if
/// `prefix(a) > prefix(b)` then `a > b` (as byte strings).
pub(super) fn prefix(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(b)
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _bytes: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, h: u64) {
        self.0 = h;
    }
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
            assert_eq!(g.find_or_insert(42, k), (i, u64::MAX));
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(g.find_or_insert(42, k).0, i);
            assert_eq!(g.key(i), *k);
        }
        // A worst rank is seen through the head entry and through the chain.
        g.set_worst(4, 10);
        g.set_worst(0, 20);
        assert_eq!(g.find_or_insert(42, b""), (4, 10));
        assert_eq!(g.find_or_insert(42, b"a"), (0, 20));
        assert_eq!(g.find_or_insert(7, b"a"), (5, u64::MAX));
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
