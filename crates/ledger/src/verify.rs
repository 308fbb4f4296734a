//! The export format and its offline verification: what `gongshu ledger
//! verify` runs, and what anyone can rerun with only a trusted public key.
//!
//! An export is NDJSON: a header line, every signed checkpoint in order of
//! size, then every entry with its index, the leaf hash the instance
//! stored and the entry's exact text. Verification checks each
//! checkpoint's signature (following key rotations the log itself
//! records), recomputes the whole tree from the entries' bytes, compares
//! it with every checkpoint and checks a consistency proof between each
//! pair. When a checkpoint does not match, the stored leaf hashes are used
//! to say which entry broke: if they still add up to the signed root they
//! are what was signed, so the first entry whose bytes hash differently is
//! the one changed, dropped or moved.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::entry::{Entry, hex, parse_hash};
use crate::note::{self, Checkpoint, NoteVerifier};
use crate::tree::{self, Hash, MemoryTree};

/// The header line's `format`.
pub const EXPORT_FORMAT: &str = "gongshu-ledger-export";

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportHeader {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// Export format version (1).
    pub version: u32,
    /// The log's origin.
    pub origin: String,
    /// Entries in the export.
    pub size: u64,
}

/// One line after the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExportLine {
    /// A signed checkpoint.
    Checkpoint {
        /// The signed note.
        checkpoint: String,
    },
    /// An entry.
    Entry {
        /// Its index.
        index: u64,
        /// The leaf hash the instance stored, hex.
        leaf_hash: String,
        /// The entry's exact text.
        entry: String,
    },
}

/// Something that does not verify, in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The entry concerned, when one can be named.
    pub index: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What verification found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The origin in the header.
    pub origin: String,
    /// Entries read.
    pub entries: u64,
    /// Entries per type.
    pub kinds: BTreeMap<String, u64>,
    /// Checkpoints whose signature, root and consistency all held.
    pub checkpoints_verified: u64,
    /// The largest verified checkpoint.
    pub latest: Option<Checkpoint>,
    /// Keys that signed verified checkpoints, as verifier keys.
    pub keys: Vec<String>,
    /// Entries after the latest checkpoint (not yet committed to).
    pub uncovered: u64,
    /// Everything that failed; empty when the ledger verifies.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether everything verified.
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// The most findings reported about changed entries under one checkpoint.
const MAX_NAMED: usize = 20;

/// Verifies an export against keys the caller trusts.
pub fn verify_export(input: impl BufRead, trusted: &[NoteVerifier]) -> Report {
    let mut report = Report::default();
    let mut lines = input.lines();
    let header = match lines.next() {
        Some(Ok(line)) => serde_json::from_str::<ExportHeader>(&line).ok(),
        _ => None,
    };
    let Some(header) = header.filter(|h| h.format == EXPORT_FORMAT && h.version == 1) else {
        report.findings.push(Finding {
            index: None,
            message: "the first line is not a gongshu-ledger-export header, version 1 (首行不是账本导出文件头)".into(),
        });
        return report;
    };
    report.origin = header.origin.clone();

    let mut notes: Vec<String> = Vec::new();
    let mut recomputed = MemoryTree::new();
    let mut stored: Vec<Hash> = Vec::new();
    let mut key_events: Vec<(u64, KeyEvent)> = Vec::new();
    for (position, line) in lines.enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                report.findings.push(Finding {
                    index: Some(recomputed.size()),
                    message: format!("line {} cannot be read: {error} (第 {} 行无法读取)", position + 2, position + 2),
                });
                return report;
            }
        };
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<ExportLine>(&line) {
            Ok(ExportLine::Checkpoint { checkpoint }) => notes.push(checkpoint),
            Ok(ExportLine::Entry { index, leaf_hash, entry }) => {
                let expected = recomputed.size();
                if index != expected {
                    report.findings.push(Finding {
                        index: Some(expected),
                        message: format!(
                            "entry {expected} is missing or out of order: the export holds entry {index} in its place \
                             (条目 {expected} 缺失或顺序被改动，此处为条目 {index})"
                        ),
                    });
                }
                let bytes = entry.as_bytes();
                recomputed.push(tree::leaf_hash(bytes));
                stored.push(parse_hash(&leaf_hash).unwrap_or([0; 32]));
                match Entry::parse(bytes) {
                    Ok(parsed) => {
                        *report.kinds.entry(parsed.kind().to_owned()).or_default() += 1;
                        if let Some(event) = KeyEvent::of(&parsed) {
                            key_events.push((expected, event));
                        }
                    }
                    Err(error) => report.findings.push(Finding {
                        index: Some(expected),
                        message: format!("entry {expected} is not a valid entry: {error} (条目 {expected} 格式无效)"),
                    }),
                }
            }
            Err(_) => report.findings.push(Finding {
                index: Some(recomputed.size()),
                message: format!(
                    "line {} is neither a checkpoint nor an entry (第 {} 行既不是检查点也不是条目)",
                    position + 2,
                    position + 2
                ),
            }),
        }
    }
    report.entries = recomputed.size();
    if report.entries != header.size {
        report.findings.push(Finding {
            index: Some(report.entries.min(header.size)),
            message: format!(
                "the header announces {} entries and the export holds {} (文件头声明 {} 条，实际 {} 条)",
                header.size, report.entries, header.size, report.entries
            ),
        });
    }

    let mut stored_tree: Option<MemoryTree> = None;
    let mut valid_keys: Vec<NoteVerifier> = trusted.to_vec();
    let mut applied_events = 0usize;
    let mut previous: Option<Checkpoint> = None;
    for text in &notes {
        let opened = match note::split(text) {
            Ok(opened) => opened,
            Err(error) => {
                report.findings.push(Finding { index: None, message: format!("{error} (检查点格式无效)") });
                continue;
            }
        };
        let checkpoint = match Checkpoint::parse(opened.text) {
            Ok(checkpoint) => checkpoint,
            Err(error) => {
                report.findings.push(Finding { index: None, message: format!("{error} (检查点格式无效)") });
                continue;
            }
        };
        let size = checkpoint.size;
        let signers: Vec<&NoteVerifier> = valid_keys.iter().filter(|key| note::signed_by(&opened, key)).collect();
        if signers.is_empty() {
            report.findings.push(Finding {
                index: None,
                message: format!(
                    "the checkpoint at size {size} is not signed by a trusted key (大小为 {size} 的检查点没有可信密钥的签名)"
                ),
            });
            continue;
        }
        for signer in &signers {
            let text = signer.to_string();
            if !report.keys.contains(&text) {
                report.keys.push(text);
            }
        }
        if checkpoint.origin != header.origin || !signers.iter().any(|key| key.name() == checkpoint.origin) {
            report.findings.push(Finding {
                index: None,
                message: format!(
                    "the checkpoint at size {size} is for origin {:?}, not {:?} (检查点属于另一个账本)",
                    checkpoint.origin, header.origin
                ),
            });
            continue;
        }
        if let Some(previous) = &previous
            && size < previous.size
        {
            report.findings.push(Finding {
                index: None,
                message: format!("checkpoints are out of order: size {size} after {} (检查点顺序错误)", previous.size),
            });
            continue;
        }
        if size > recomputed.size() {
            report.findings.push(Finding {
                index: Some(recomputed.size()),
                message: format!(
                    "the checkpoint at size {size} covers entries the export lacks: it holds {} \
                     (检查点覆盖 {size} 条，导出只有 {} 条；条目被删除)",
                    recomputed.size(),
                    recomputed.size()
                ),
            });
            continue;
        }
        if recomputed.root(size) != checkpoint.root {
            let stored_tree = stored_tree.get_or_insert_with(|| {
                let mut tree = MemoryTree::new();
                for hash in &stored {
                    tree.push(*hash);
                }
                tree
            });
            report.findings.extend(locate(&recomputed, stored_tree, previous.as_ref(), &checkpoint));
            continue;
        }
        if let Some(previous) = &previous {
            let proof = recomputed.consistency_proof(previous.size, size).expect("both sizes are within the tree");
            if tree::verify_consistency(previous.size, size, &previous.root, &checkpoint.root, &proof).is_err() {
                report.findings.push(Finding {
                    index: None,
                    message: format!(
                        "checkpoints {} and {size} are not consistent (检查点 {} 与 {size} 不一致)",
                        previous.size, previous.size
                    ),
                });
                continue;
            }
        }
        // Key changes recorded in entries this verified checkpoint covers
        // take effect for the checkpoints after it. A new key counts only if
        // it co-signed this checkpoint beside a key already trusted, so a
        // row written into the log cannot make a key trusted by itself.
        while applied_events < key_events.len() && key_events[applied_events].0 < size {
            match &key_events[applied_events].1 {
                KeyEvent::Activate(key) => {
                    if !valid_keys.contains(key) && note::signed_by(&opened, key) {
                        valid_keys.push(key.clone());
                    }
                }
                KeyEvent::Retire(key) => valid_keys.retain(|valid| valid != key),
            }
            applied_events += 1;
        }
        report.checkpoints_verified += 1;
        previous = Some(checkpoint);
    }
    // The stored leaf hashes are derived from the entries; one that differs
    // from its entry's bytes is a change too, even where no checkpoint
    // failed because of it.
    for (index, stored_leaf) in stored.iter().enumerate() {
        let index = index as u64;
        if recomputed.node(tree::NodeId { level: 0, index }) != Some(*stored_leaf)
            && !report.findings.iter().any(|f| f.index == Some(index))
        {
            report.findings.push(Finding {
                index: Some(index),
                message: format!(
                    "entry {index}: the stored leaf hash does not match the entry's bytes (条目 {index} 的叶哈希与内容不符)"
                ),
            });
            if report.findings.len() > 2 * MAX_NAMED {
                break;
            }
        }
    }
    if notes.is_empty() {
        report
            .findings
            .push(Finding { index: None, message: "the export holds no checkpoint (导出中没有检查点)".into() });
    }
    report.uncovered = recomputed.size() - previous.as_ref().map_or(0, |c| c.size);
    report.latest = previous;
    report
}

/// Names the entries that make `checkpoint` fail, or the range they are in.
fn locate(
    recomputed: &MemoryTree,
    stored: &MemoryTree,
    previous: Option<&Checkpoint>,
    checkpoint: &Checkpoint,
) -> Vec<Finding> {
    let size = checkpoint.size;
    let from = previous.map_or(0, |p| p.size);
    if stored.size() >= size && stored.root(size) == checkpoint.root {
        let leaf = |tree: &MemoryTree, index| tree.node(tree::NodeId { level: 0, index });
        let broken: Vec<u64> = (0..size).filter(|&i| leaf(recomputed, i) != leaf(stored, i)).collect();
        let mut findings: Vec<Finding> = broken
            .iter()
            .take(MAX_NAMED)
            .map(|&index| Finding {
                index: Some(index),
                message: format!(
                    "entry {index}: its bytes are not those the checkpoint at size {size} committed to \
                     (changed, or another entry dropped or moved here) \
                     (条目 {index} 与大小为 {size} 的检查点所承诺的内容不符：被篡改，或有条目被删除、移动)"
                ),
            })
            .collect();
        if broken.len() > MAX_NAMED {
            findings.push(Finding {
                index: None,
                message: format!(
                    "… and {} more entries up to {size} (另有 {} 条)",
                    broken.len() - MAX_NAMED,
                    broken.len() - MAX_NAMED
                ),
            });
        }
        return findings;
    }
    let last = size.saturating_sub(1);
    vec![Finding {
        index: Some(from),
        message: format!(
            "the entries from {from} to {last}, or their order, differ from what the checkpoint at size {size} \
             committed to; their stored leaf hashes moved with them, so no single entry can be named \
             (条目 {from}–{last} 的内容或顺序与检查点不符，叶哈希随之改动，无法定位到单条)"
        ),
    }]
}

/// A key rotation recorded in the log.
#[derive(Debug, Clone)]
enum KeyEvent {
    Activate(NoteVerifier),
    Retire(NoteVerifier),
}

impl KeyEvent {
    fn of(entry: &Entry) -> Option<KeyEvent> {
        let Entry::State(change) = entry else { return None };
        if change.entity != crate::KEY_ENTITY {
            return None;
        }
        let key = NoteVerifier::parse(&change.id).ok()?;
        match change.action.as_str() {
            "activate" => Some(KeyEvent::Activate(key)),
            "retire" => Some(KeyEvent::Retire(key)),
            _ => None,
        }
    }
}

/// Writes the header and checkpoint lines of an export; entry lines follow
/// with [`entry_line`].
pub fn header_lines(origin: &str, size: u64, checkpoints: &[String]) -> String {
    let header = ExportHeader { format: EXPORT_FORMAT.into(), version: 1, origin: origin.into(), size };
    let mut out = serde_json::to_string(&header).expect("a header serializes");
    out.push('\n');
    for checkpoint in checkpoints {
        out.push_str(
            &serde_json::to_string(&ExportLine::Checkpoint { checkpoint: checkpoint.clone() }).expect("serializes"),
        );
        out.push('\n');
    }
    out
}

/// One entry line of an export.
pub fn entry_line(index: u64, leaf_hash: &Hash, entry: &str) -> String {
    let mut out = serde_json::to_string(&ExportLine::Entry { index, leaf_hash: hex(leaf_hash), entry: entry.into() })
        .expect("serializes");
    out.push('\n');
    out
}
