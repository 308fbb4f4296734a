//! The ledger's entry format, version 1: one line of JSON per entry whose
//! exact bytes are the Merkle leaf. Fields appear in the order written
//! here, so the same record always gives the same bytes; the fixture files
//! under `tests/fixtures` pin them, and a new field means a new version.
//!
//! Entries hold commitments, not personal data: a natural person appears
//! only as a keyed pseudonym ([`Pseudonymizer`]), free text only as its
//! SHA-256, and what a query asked and answered only as keyed commitments. Deleting a person's account leaves nothing in the log that
//! names them, so the log never needs erasing.

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The entry format this code writes.
pub const FORMAT_VERSION: u32 = 1;

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    /// A state change: one step of some record's history.
    State(StateChange),
    /// A decision of the access gateway on data not open to all.
    Usage(UsageDecision),
    /// What left after an allowed read, when it was known only afterwards
    /// (the bytes of a streamed download).
    UsageOutcome(UsageOutcome),
    /// What a product delivery was charged (metering).
    Delivery(DeliveryCharge),
}

/// A state change, committing to the history step it records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// Format version.
    pub v: u32,
    /// The history step's sequence number in the metadata store.
    pub seq: i64,
    /// The kind of record (`resource`, `grant`, `agreement` …).
    pub entity: String,
    /// The record's id (a pseudonym when the record is a person's account).
    pub id: String,
    /// The action's code.
    pub action: String,
    /// State before.
    pub from: Option<String>,
    /// State after.
    pub to: Option<String>,
    /// Who acted: `system`, or a person's pseudonym.
    pub actor: String,
    /// SHA-256 of the opinion written with the step, if any.
    pub opinion_sha256: Option<String>,
    /// When, RFC 3339 in UTC.
    pub at: String,
}

/// A gateway decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageDecision {
    /// Format version.
    pub v: u32,
    /// The usage event's sequence number in the metadata store.
    pub seq: i64,
    /// When, RFC 3339 in UTC.
    pub at: String,
    /// Who asked: `public`, or a person's pseudonym.
    pub subject: String,
    /// The organization the read was made for, under a grant.
    pub org: Option<String>,
    /// The grant applied.
    pub grant: Option<String>,
    /// The resource.
    pub resource: String,
    /// The version read.
    pub version: Option<i64>,
    /// The access mode.
    pub mode: String,
    /// The door: `api`, `sql`, `download`, `sandbox`, `ckan`, `portal`.
    pub channel: String,
    /// The grant's stated purpose.
    pub purpose: Option<String>,
    /// Whether the read was allowed.
    pub allowed: bool,
    /// Why not, as a stable code.
    pub reason: Option<String>,
    /// The query as asked, as a keyed commitment ([`Pseudonymizer::commit`]
    /// of the usage event's fingerprint): filter values can be guessed from
    /// a plain hash, not from this.
    pub query_mac: String,
    /// Rows that left.
    pub rows_out: Option<i64>,
    /// Bytes that left.
    pub bytes_out: Option<i64>,
    /// Privacy budget spent, in millionths of ε.
    pub epsilon_micros: i64,
    /// The result's hash as a keyed commitment, when it was computed whole
    /// (a verification's yes or no would otherwise be readable).
    pub result_mac: Option<String>,
}

/// The outcome of a read recorded after it finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageOutcome {
    /// Format version.
    pub v: u32,
    /// The usage event it completes.
    pub seq: i64,
    /// Rows that left.
    pub rows_out: Option<i64>,
    /// Bytes that left.
    pub bytes_out: i64,
}

/// The charge of one product delivery, committing to the usage event the
/// gateway recorded for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCharge {
    /// Format version.
    pub v: u32,
    /// The delivery's sequence number in the metadata store.
    pub seq: i64,
    /// The usage event it charges.
    pub usage_seq: i64,
    /// When, RFC 3339 in UTC.
    pub at: String,
    /// The product.
    pub product: String,
    /// The customer organization, as a keyed commitment
    /// ([`Pseudonymizer::commit`] of its id, the same for all its purchases):
    /// the public cannot read who bought what.
    pub customer: String,
    /// The charging unit's code; `None` when free.
    pub unit: Option<String>,
    /// Units counted.
    pub units: i64,
    /// Fen per unit.
    pub unit_price_fen: i64,
    /// The fee, in fen.
    pub fee_fen: i64,
}

impl Entry {
    /// The entry's bytes: the Merkle leaf's input.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an entry always serializes")
    }

    /// Reads an entry back, accepting only the versions this code knows.
    pub fn parse(bytes: &[u8]) -> Result<Entry, String> {
        let entry: Entry = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
        let v = match &entry {
            Entry::State(e) => e.v,
            Entry::Usage(e) => e.v,
            Entry::UsageOutcome(e) => e.v,
            Entry::Delivery(e) => e.v,
        };
        if v != FORMAT_VERSION {
            return Err(format!("entry format version {v} is not known (this build knows {FORMAT_VERSION})"));
        }
        Ok(entry)
    }

    /// The entry's type as written: `state`, `usage`, `usage_outcome`, `delivery`.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::State(_) => "state",
            Entry::Usage(_) => "usage",
            Entry::UsageOutcome(_) => "usage_outcome",
            Entry::Delivery(_) => "delivery",
        }
    }
}

/// SHA-256 in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    // A table instead of `format!` per byte: every entry's leaf hash and
    // every tree node is written through here.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

/// Parses 64 hex digits (either case) into a hash.
pub fn parse_hash(text: &str) -> Option<crate::Hash> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (byte, pair) in hash.iter_mut().zip(text.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(hash)
}

/// Turns a person's account id into the pseudonym the ledger writes:
/// `p:` and the first 16 bytes of HMAC-SHA256 under the instance's key.
/// The key stays in the metadata store; without it, a pseudonym cannot be
/// matched to an account, and once the account is gone, not even with it.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: Vec<u8>,
}

impl Pseudonymizer {
    /// A pseudonymizer over a secret key.
    pub fn new(key: &[u8]) -> Pseudonymizer {
        Pseudonymizer { key: key.to_vec() }
    }

    /// A keyed commitment to a value (a query's fingerprint, a result's
    /// hash): whoever holds the key can check it, no one else can guess it.
    pub fn commit(&self, value: &str) -> String {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(b"gongshu-ledger-commitment-v1\0");
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// The pseudonym of an account id.
    pub fn pseudonym(&self, account_id: &str) -> String {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(b"gongshu-ledger-pseudonym-v1\0");
        mac.update(account_id.as_bytes());
        format!("p:{}", hex(&mac.finalize().into_bytes()[..16]))
    }
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn pseudonyms_depend_on_the_key_and_the_account() {
        let a = Pseudonymizer::new(b"key one");
        let b = Pseudonymizer::new(b"key two");
        assert_eq!(a.pseudonym("u-1"), a.pseudonym("u-1"));
        assert_ne!(a.pseudonym("u-1"), a.pseudonym("u-2"));
        assert_ne!(a.pseudonym("u-1"), b.pseudonym("u-1"));
        assert!(a.pseudonym("u-1").starts_with("p:") && a.pseudonym("u-1").len() == 34);
    }

    proptest::proptest! {
        #[test]
        fn hashes_round_trip_through_hex(hash: [u8; 32]) {
            let text = hex(&hash);
            proptest::prop_assert_eq!(text.len(), 64);
            proptest::prop_assert_eq!(parse_hash(&text), Some(hash));
            proptest::prop_assert_eq!(parse_hash(&text.to_uppercase()), Some(hash));
        }
    }

    #[test]
    fn malformed_hashes_are_refused() {
        let good = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert!(parse_hash(good).is_some());
        assert_eq!(parse_hash(&good[..62]), None);
        assert_eq!(parse_hash(&format!("{good}00")), None);
        assert_eq!(parse_hash(&good.replacen('5', "g", 1)), None);
        assert_eq!(parse_hash(&good.replacen("5b", "+b", 1)), None);
        assert_eq!(parse_hash(&good.replacen("5b", "é", 1)), None);
    }

    #[test]
    fn unknown_versions_are_refused() {
        let text = br#"{"type":"usage_outcome","v":2,"seq":1,"rows_out":null,"bytes_out":3}"#;
        assert!(Entry::parse(text).unwrap_err().contains("version 2"));
    }
}
