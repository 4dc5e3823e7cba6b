//! Lookups by name in constant time. A workload may carry tens of thousands of env
//! entries (the host's 4 MiB input cap allows ~100k) and a namespace thousands of
//! secrets: pairwise scans would spend a legitimate submission's whole instruction
//! budget and reject it.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: fast on short names. Each evaluation has its own instance, so colliding
/// names crafted into a workload can only slow down that workload's own evaluation.
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub type Map<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
pub type Set<K> = HashSet<K, BuildHasherDefault<Fnv>>;

pub fn map_with_capacity<K, V>(n: usize) -> Map<K, V> {
    Map::with_capacity_and_hasher(n, Default::default())
}

/// The index of the first item of each name, for items in order.
pub struct FirstSeen<'a>(Map<&'a str, usize>);

impl<'a> FirstSeen<'a> {
    pub fn with_capacity(n: usize) -> Self {
        FirstSeen(map_with_capacity(n))
    }

    /// Records item `index` named `name`: the index of the first item of that name
    /// (`index` itself when it is the first).
    pub fn first(&mut self, name: &'a str, index: usize) -> usize {
        *self.0.entry(name).or_insert(index)
    }
}

/// Keeps, of items sharing a name, the last one in the place of the first: how the
/// kubelet builds a container's environment (`envFrom`, then `env`, later wins).
pub fn last_wins_in_first_place<T>(items: Vec<T>, name: impl Fn(&T) -> &str) -> Vec<T> {
    let n = items.len();
    let mut first_of = Vec::with_capacity(n);
    let mut seen = FirstSeen::with_capacity(n);
    for (i, item) in items.iter().enumerate() {
        first_of.push(seen.first(name(item), i));
    }
    drop(seen);
    // For each first place, the item that ends up there.
    let mut winner: Vec<usize> = (0..n).collect();
    for (i, &first) in first_of.iter().enumerate() {
        winner[first] = i;
    }
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    (0..n)
        .filter(|&i| first_of[i] == i)
        .filter_map(|i| slots[winner[i]].take())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::last_wins_in_first_place;

    #[test]
    fn later_definitions_replace_the_first_in_place() {
        let items = vec![("A", 1), ("B", 2), ("A", 3), ("C", 4), ("B", 5), ("A", 6)];
        assert_eq!(
            last_wins_in_first_place(items, |(n, _)| n),
            vec![("A", 6), ("B", 5), ("C", 4)]
        );
        assert_eq!(
            last_wins_in_first_place(Vec::<(&str, i32)>::new(), |(n, _)| n),
            vec![]
        );
    }
}
