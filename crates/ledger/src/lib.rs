//! The verifiable ledger's format and mathematics, with no IO: the entry
//! format ([`entry`]), the RFC 6962 Merkle tree and its proofs ([`tree`]),
//! checkpoints signed in the C2SP signed-note format ([`note`]) and the
//! offline verification of an exported ledger ([`verify`]).
//!
//! The metadata store keeps the entries and the tree's nodes and calls this
//! crate to hash them; the application signs checkpoints with it; `gongshu
//! ledger verify` and the tests use it to check everything again from the
//! bytes alone. It depends on no other Gongshu crate, so that what an
//! outside verifier needs is small enough to read.

pub mod entry;
pub mod note;
pub mod tree;
pub mod verify;

pub use entry::{
    DeliveryCharge, Entry, Pseudonymizer, StateChange, UsageDecision, UsageOutcome, hex, parse_hash, sha256_hex,
};
pub use note::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
pub use tree::{EMPTY_ROOT, Hash, MemoryTree, NodeId, ProofError, leaf_hash, node_hash};
pub use verify::{Finding, Report, verify_export};

/// The entity kind of history steps that activate or retire a checkpoint
/// signing key; their id is the verifier key, so the log itself carries
/// the chain of keys a verifier follows.
pub const KEY_ENTITY: &str = "ledger_key";
