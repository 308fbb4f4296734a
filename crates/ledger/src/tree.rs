//! The Merkle tree of RFC 6962 / RFC 9162 §2.1: leaf `H(0x00‖entry)`, node
//! `H(0x01‖left‖right)`, split at the largest power of two below the size.
//!
//! A stored tree keeps the hash of every *perfect* subtree (level `l`, index
//! `i` covers leaves `i·2^l .. (i+1)·2^l`); any other range the RFC's
//! recursion asks for is a right fold of perfect ones. So a proof is a list
//! of ranges ([`inclusion_ranges`], [`consistency_ranges`]), the ranges name
//! the perfect nodes they need ([`NodeId`]), a store fetches those in one
//! query, and [`assemble`] folds them. The verifiers follow RFC 9162
//! §2.1.3.2 and §2.1.4.2 and never panic on hostile input.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of nothing.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// `H(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// `H(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// A perfect subtree: `level` 0 is a leaf; index `i` at level `l` covers
/// leaves `i·2^l .. (i+1)·2^l`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves.
    pub level: u32,
    /// Position at that height.
    pub index: u64,
}

impl NodeId {
    /// One integer per node, for a store's key: the level in the top bits.
    pub fn key(self) -> i64 {
        debug_assert!(self.index < 1 << 48 && self.level < 64);
        ((i64::from(self.level)) << 48) | self.index as i64
    }
}

/// A range of leaves `start..end` whose hash a proof needs. Every range
/// the RFC's recursion produces starts on a boundary of a power of two at
/// least its size, so it is a run of perfect subtrees of falling size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// First leaf.
    pub start: u64,
    /// One past the last leaf.
    pub end: u64,
}

impl Range {
    /// The perfect subtrees that make up the range, left to right.
    pub fn parts(self) -> Vec<NodeId> {
        let mut parts = Vec::new();
        let mut at = self.start;
        while at < self.end {
            let mut level = 0u32;
            while level < 63 && at.is_multiple_of(1u64 << (level + 1)) && at + (1u64 << (level + 1)) <= self.end {
                level += 1;
            }
            parts.push(NodeId { level, index: at >> level });
            at += 1u64 << level;
        }
        parts
    }
}

/// The largest power of two strictly below `n` (`n ≥ 2`).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Why a proof cannot be made or does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index or sizes are outside the tree.
    #[error("index {index} is not in a tree of size {size}")]
    OutOfRange {
        /// The index or first size asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The proof has the wrong number of hashes.
    #[error("the proof has the wrong length")]
    WrongLength,
    /// The recomputed root differs.
    #[error("the proof does not lead to the root")]
    Mismatch,
}

/// The ranges whose hashes make the inclusion proof of leaf `index` in a
/// tree of `size` leaves (RFC 9162 `PATH`), leaf side first.
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<Range>, ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange { index, size });
    }
    let mut ranges = Vec::new();
    path(index, 0, size, &mut ranges);
    ranges.reverse();
    Ok(ranges)
}

// Pushes the root side first; the caller reverses.
fn path(m: u64, start: u64, end: u64, out: &mut Vec<Range>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        out.push(Range { start: start + k, end });
        path(m, start, start + k, out);
    } else {
        out.push(Range { start, end: start + k });
        path(m - k, start + k, end, out);
    }
}

/// The ranges whose hashes make the consistency proof from a tree of
/// `first` leaves to one of `second` (RFC 9162 `PROOF`). Empty when
/// `first` is 0 or equal to `second`.
pub fn consistency_ranges(first: u64, second: u64) -> Result<Vec<Range>, ProofError> {
    if first > second {
        return Err(ProofError::OutOfRange { index: first, size: second });
    }
    let mut ranges = Vec::new();
    if first > 0 && first < second {
        subproof(first, 0, second, true, &mut ranges);
        ranges.reverse();
    }
    Ok(ranges)
}

// Pushes the root side first; the caller reverses.
fn subproof(m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<Range>) {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(Range { start, end });
        }
        return;
    }
    let k = split(n);
    if m <= k {
        out.push(Range { start: start + k, end });
        subproof(m, start, start + k, whole, out);
    } else {
        out.push(Range { start, end: start + k });
        subproof(m - k, start + k, end, false, out);
    }
}

/// Every perfect node the ranges need, without repeats, for one fetch.
pub fn needed(ranges: &[Range]) -> Vec<NodeId> {
    let mut nodes: Vec<NodeId> = ranges.iter().flat_map(|range| range.parts()).collect();
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}

/// Folds each range from its perfect parts; `node` returns a fetched hash
/// (`None` when the store lacks it, which is reported as that node).
pub fn assemble(ranges: &[Range], mut node: impl FnMut(NodeId) -> Option<Hash>) -> Result<Vec<Hash>, NodeId> {
    ranges.iter().map(|range| fold(range.parts(), &mut node)).collect()
}

fn fold(parts: Vec<NodeId>, node: &mut impl FnMut(NodeId) -> Option<Hash>) -> Result<Hash, NodeId> {
    let mut hashes = Vec::with_capacity(parts.len());
    for part in parts {
        hashes.push(node(part).ok_or(part)?);
    }
    let mut acc = hashes.pop().expect("a range is never empty");
    while let Some(left) = hashes.pop() {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// The root of a tree of `size` leaves from its perfect nodes.
pub fn root(size: u64, node: impl FnMut(NodeId) -> Option<Hash>) -> Result<Hash, NodeId> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    Ok(assemble(&[Range { start: 0, end: size }], node)?[0])
}

/// Checks that `leaf` is at `index` in the tree of `size` leaves whose root
/// is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// Checks that the tree of `first` leaves with root `first_root` is a
/// prefix of the one of `second` leaves with root `second_root` (RFC 9162
/// §2.1.4.2, with the empty and equal sizes allowed as Go's verifier does).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::OutOfRange { index: first, size: second });
    }
    if first == second {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if first_root == second_root { Ok(()) } else { Err(ProofError::Mismatch) };
    }
    if first == 0 {
        return if proof.is_empty() { Ok(()) } else { Err(ProofError::WrongLength) };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != first_root || &sr != second_root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// A whole tree in memory, keeping every perfect node: the verifier's
/// recomputation, and the reference the stored tree is tested against.
#[derive(Default, Clone)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Appends one leaf hash, completing the perfect nodes it closes.
    pub fn push(&mut self, leaf: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let mut level = 0;
        while self.levels[level].len().is_multiple_of(2) {
            let row = &self.levels[level];
            let parent = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
    }

    /// A perfect node, when the tree has it.
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        self.levels.get(id.level as usize)?.get(usize::try_from(id.index).ok()?).copied()
    }

    /// The root of the first `size` leaves.
    pub fn root(&self, size: u64) -> Hash {
        root(size.min(self.size()), |id| self.node(id)).expect("every node of a prefix is kept")
    }

    /// The inclusion proof of leaf `index` in the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        if size > self.size() {
            return Err(ProofError::OutOfRange { index: size, size: self.size() });
        }
        let ranges = inclusion_ranges(index, size)?;
        Ok(assemble(&ranges, |id| self.node(id)).expect("every node of a prefix is kept"))
    }

    /// The consistency proof from the first `first` leaves to the first `second`.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
        if second > self.size() {
            return Err(ProofError::OutOfRange { index: second, size: self.size() });
        }
        let ranges = consistency_ranges(first, second)?;
        Ok(assemble(&ranges, |id| self.node(id)).expect("every node of a prefix is kept"))
    }
}

/// The perfect nodes that appending leaves `old_size..` completes, given
/// the leaf hashes appended and the tree's existing frontier (the perfect
/// nodes of `0..old_size`'s decomposition, as [`frontier`] names them).
/// Returns every new node at level ≥ 1 with its hash.
pub fn completed_nodes(old_size: u64, frontier_hashes: &[Hash], appended: &[Hash]) -> Vec<(NodeId, Hash)> {
    // The frontier's nodes, lowest level last, are the only older nodes a
    // new one can need: at each level at most one, the left sibling.
    let parts = frontier(old_size);
    debug_assert_eq!(parts.len(), frontier_hashes.len());
    let mut pending: std::collections::HashMap<NodeId, Hash> =
        parts.into_iter().zip(frontier_hashes.iter().copied()).collect();
    let mut row: Vec<Hash> = appended.to_vec();
    let mut row_start = old_size;
    let mut level = 0u32;
    let mut out = Vec::new();
    while !row.is_empty() {
        // Nodes of `level` from `row_start` on are in `row`; the one just
        // before, when `row_start` is odd, is an older frontier node.
        let mut next = Vec::new();
        let mut next_start = None;
        let mut carry: Option<Hash> =
            if row_start % 2 == 1 { pending.remove(&NodeId { level, index: row_start - 1 }) } else { None };
        for (at, hash) in (row_start..).zip(row) {
            if at % 2 == 1 {
                if let Some(left) = carry.take() {
                    let parent = node_hash(&left, &hash);
                    let id = NodeId { level: level + 1, index: at / 2 };
                    next_start.get_or_insert(id.index);
                    next.push(parent);
                    out.push((id, parent));
                }
            } else {
                carry = Some(hash);
            }
        }
        row = next;
        row_start = next_start.unwrap_or(0);
        level += 1;
    }
    out
}

/// The perfect nodes that make up a tree of `size` leaves, largest first.
pub fn frontier(size: u64) -> Vec<NodeId> {
    if size == 0 {
        return Vec::new();
    }
    Range { start: 0, end: size }.parts()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(hash: &Hash) -> String {
        hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    fn hash(text: &str) -> Hash {
        unhex(text).try_into().unwrap()
    }

    // The reference leaves and tree heads of RFC 6962 as published with
    // Certificate Transparency's and transparency-dev's test data.
    const LEAVES: [&str; 8] =
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn reference() -> MemoryTree {
        let mut tree = MemoryTree::new();
        for leaf in LEAVES {
            tree.push(leaf_hash(&unhex(leaf)));
        }
        tree
    }

    #[test]
    fn roots_match_rfc_6962_vectors() {
        let tree = reference();
        for (size, want) in ROOTS.iter().enumerate() {
            assert_eq!(hex(&tree.root(size as u64)), *want, "size {size}");
        }
    }

    #[test]
    fn proofs_match_published_vectors() {
        let tree = reference();
        let cases: [(u64, u64, &[&str]); 2] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (index, size, want) in cases {
            let proof = tree.inclusion_proof(index, size).unwrap();
            assert_eq!(proof.iter().map(hex).collect::<Vec<_>>(), want, "inclusion {index}/{size}");
            let leaf = leaf_hash(&unhex(LEAVES[index as usize]));
            verify_inclusion(&leaf, index, size, &proof, &hash(ROOTS[size as usize])).unwrap();
        }
        let cases: [(u64, u64, &[&str]); 3] = [
            (
                2,
                8,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (first, second, want) in cases {
            let proof = tree.consistency_proof(first, second).unwrap();
            assert_eq!(proof.iter().map(hex).collect::<Vec<_>>(), want, "consistency {first}→{second}");
            verify_consistency(first, second, &hash(ROOTS[first as usize]), &hash(ROOTS[second as usize]), &proof)
                .unwrap();
        }
    }

    fn synthetic(n: u64) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for i in 0..n {
            tree.push(leaf_hash(&i.to_be_bytes()));
        }
        tree
    }

    #[test]
    fn every_proof_verifies_and_no_mangled_one_does() {
        let tree = synthetic(70);
        for size in 1..=70u64 {
            let root = tree.root(size);
            for index in 0..size {
                let leaf = tree.node(NodeId { level: 0, index }).unwrap();
                let proof = tree.inclusion_proof(index, size).unwrap();
                verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
                assert!(
                    verify_inclusion(&leaf, index, size, &proof[..proof.len().saturating_sub(1)], &root).is_err()
                        || proof.is_empty()
                );
                let mut longer = proof.clone();
                longer.push([0xab; 32]);
                assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
                if let Some(first) = proof.first() {
                    let mut flipped = proof.clone();
                    flipped[0][7] ^= 1;
                    assert_ne!(&flipped[0], first);
                    assert!(verify_inclusion(&leaf, index, size, &flipped, &root).is_err());
                }
                if index + 1 < size {
                    assert!(verify_inclusion(&leaf, index + 1, size, &proof, &root).is_err());
                }
            }
            for first in 0..=size {
                let proof = tree.consistency_proof(first, size).unwrap();
                verify_consistency(first, size, &tree.root(first), &root, &proof).unwrap();
                if !proof.is_empty() {
                    let mut flipped = proof.clone();
                    flipped[proof.len() - 1][3] ^= 0x80;
                    assert!(verify_consistency(first, size, &tree.root(first), &root, &flipped).is_err());
                    assert!(
                        verify_consistency(first, size, &tree.root(first), &root, &proof[..proof.len() - 1]).is_err()
                    );
                }
                if first > 0 && first < size {
                    let wrong = tree.root(first - 1);
                    assert!(verify_consistency(first, size, &wrong, &root, &proof).is_err());
                }
            }
        }
    }

    #[test]
    fn appending_in_batches_completes_the_same_nodes_as_one_by_one() {
        // Batches of every awkward length, against the in-memory reference.
        let reference = synthetic(300);
        let mut stored: std::collections::HashMap<NodeId, Hash> = std::collections::HashMap::new();
        let mut size = 0u64;
        for batch in [1u64, 2, 3, 7, 8, 1, 16, 31, 64, 5, 100, 62] {
            let appended: Vec<Hash> =
                (size..size + batch).map(|i| reference.node(NodeId { level: 0, index: i }).unwrap()).collect();
            let frontier_hashes: Vec<Hash> = frontier(size)
                .into_iter()
                .map(|id| if id.level == 0 { reference.node(id).unwrap() } else { stored[&id] })
                .collect();
            for (id, hash) in completed_nodes(size, &frontier_hashes, &appended) {
                assert_eq!(Some(hash), reference.node(id), "{id:?}");
                assert!(stored.insert(id, hash).is_none(), "{id:?} completed twice");
            }
            size += batch;
            let expected_nodes: usize = (1..20).map(|level| (size >> level) as usize).sum();
            assert_eq!(stored.len(), expected_nodes, "size {size}");
            let root = root(size, |id| if id.level == 0 { reference.node(id) } else { stored.get(&id).copied() });
            assert_eq!(root.unwrap(), reference.root(size));
        }
    }
}
