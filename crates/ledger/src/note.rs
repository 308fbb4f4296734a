//! Signed checkpoints in the C2SP formats, so that tools of the
//! transparency-log world (Go's `sumdb/note`, witnesses) can read them:
//!
//! - `tlog-checkpoint`: the origin line, the tree size, the root hash in
//!   standard base64, then extension lines (ours: `time <RFC 3339>`);
//! - `signed-note`: the text, a blank line, and one line per signature,
//!   `— <key name> <base64(key id ‖ Ed25519 signature)>`, where the key id
//!   is the first four bytes of `SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)`.
//!
//! Keys are written as Go's `note` package writes them: the verifier key
//! `<name>+<key id hex>+<base64(0x01 ‖ public key)>` and the signer key
//! `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 ‖ seed)>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::Hash;

const ED25519: u8 = 0x01;
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a key, a note or a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key string is malformed.
    #[error("malformed key: {0}")]
    Key(&'static str),
    /// The note is malformed.
    #[error("malformed signed note: {0}")]
    Malformed(&'static str),
    /// No signature by the expected key verifies.
    #[error("the note carries no valid signature by {0}")]
    NotSigned(String),
    /// The checkpoint's body is malformed.
    #[error("malformed checkpoint: {0}")]
    Checkpoint(&'static str),
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ED25519]);
    hasher.update(public);
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// The key that signs checkpoints.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl NoteSigner {
    /// A new random key under `name` (the log's origin).
    pub fn generate(name: &str) -> Result<NoteSigner, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::Key("a key name is not empty and has no spaces or '+'"));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| NoteError::Key("the system's random source failed"))?;
        Ok(NoteSigner { name: name.to_owned(), key: SigningKey::from_bytes(&seed) })
    }

    /// Reads a signer key `PRIVATE+KEY+<name>+<id>+<base64>`.
    pub fn parse(text: &str) -> Result<NoteSigner, NoteError> {
        let rest =
            text.trim().strip_prefix("PRIVATE+KEY+").ok_or(NoteError::Key("a signer key starts PRIVATE+KEY+"))?;
        let (name, id, material) = split_key(rest)?;
        if material.len() != 33 || material[0] != ED25519 {
            return Err(NoteError::Key("only Ed25519 keys (type 1, 32 bytes) are supported"));
        }
        let seed: [u8; 32] = material[1..].try_into().expect("33 bytes less one");
        let key = SigningKey::from_bytes(&seed);
        if key_id(name, key.verifying_key().as_bytes()) != id {
            return Err(NoteError::Key("the key id does not match the key"));
        }
        Ok(NoteSigner { name: name.to_owned(), key })
    }

    /// The signer key's text, to be kept secret.
    pub fn to_private_text(&self) -> String {
        let mut material = vec![ED25519];
        material.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{}+{}", self.name, crate::hex(&self.id()), STANDARD.encode(material))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn id(&self) -> [u8; 4] {
        key_id(&self.name, self.key.verifying_key().as_bytes())
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), id: self.id(), key: self.key.verifying_key() }
    }

    /// The signature line for `text`.
    pub fn signature_line(&self, text: &str) -> String {
        let signature = self.key.sign(text.as_bytes());
        let mut blob = self.id().to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, STANDARD.encode(blob))
    }
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({})", self.verifier())
    }
}

fn split_key(text: &str) -> Result<(&str, [u8; 4], Vec<u8>), NoteError> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::Key("a key has the form <name>+<id>+<base64>"));
    };
    if !valid_name(name) {
        return Err(NoteError::Key("a key name is not empty and has no spaces or '+'"));
    }
    if id.len() != 8 {
        return Err(NoteError::Key("a key id is eight hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| NoteError::Key("a key id is eight hex digits"))?.to_be_bytes();
    let material = STANDARD.decode(material).map_err(|_| NoteError::Key("the key material is not base64"))?;
    Ok((name, id, material))
}

/// A public key that checks checkpoints.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Reads a verifier key `<name>+<id>+<base64>`.
    pub fn parse(text: &str) -> Result<NoteVerifier, NoteError> {
        let (name, id, material) = split_key(text.trim())?;
        if material.len() != 33 || material[0] != ED25519 {
            return Err(NoteError::Key("only Ed25519 keys (type 1, 32 bytes) are supported"));
        }
        let public: [u8; 32] = material[1..].try_into().expect("33 bytes less one");
        if key_id(name, &public) != id {
            return Err(NoteError::Key("the key id does not match the key"));
        }
        let key = VerifyingKey::from_bytes(&public).map_err(|_| NoteError::Key("not an Ed25519 public key"))?;
        Ok(NoteVerifier { name: name.to_owned(), id, key })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn verifies(&self, text: &str, blob: &[u8]) -> bool {
        if blob.len() != 68 || blob[..4] != self.id {
            return false;
        }
        let signature = ed25519_dalek::Signature::from_bytes(blob[4..].try_into().expect("64 bytes"));
        self.key.verify_strict(text.as_bytes(), &signature).is_ok()
    }
}

impl std::fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut material = vec![ED25519];
        material.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, crate::hex(&self.id), STANDARD.encode(material))
    }
}

impl std::fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteVerifier({self})")
    }
}

/// Signs `text` (which ends with a newline) with every signer, in order.
pub fn sign(text: &str, signers: &[&NoteSigner]) -> String {
    debug_assert!(text.ends_with('\n') && !text.contains("\n\n"));
    let mut note = format!("{text}\n");
    for signer in signers {
        note.push_str(&signer.signature_line(text));
    }
    note
}

/// A note split into its text and signatures, before any is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote<'a> {
    /// The signed text, with its final newline.
    pub text: &'a str,
    /// `(key name, key id ‖ signature)` per signature line.
    pub signatures: Vec<(&'a str, Vec<u8>)>,
}

/// Splits a signed note, checking its syntax only.
pub fn split(note: &str) -> Result<OpenedNote<'_>, NoteError> {
    let cut = note.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let text = &note[..cut + 1];
    let lines = &note[cut + 2..];
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed("control characters in the text"));
    }
    if !lines.ends_with('\n') {
        return Err(NoteError::Malformed("the last signature line does not end with a newline"));
    }
    let mut signatures = Vec::new();
    for line in lines[..lines.len() - 1].split('\n') {
        let rest =
            line.strip_prefix(SIGNATURE_PREFIX).ok_or(NoteError::Malformed("a signature line starts with '— '"))?;
        let (name, blob) =
            rest.split_once(' ').ok_or(NoteError::Malformed("a signature line has a name and a value"))?;
        let blob = STANDARD.decode(blob).map_err(|_| NoteError::Malformed("a signature is not base64"))?;
        if !valid_name(name) || blob.len() < 5 {
            return Err(NoteError::Malformed("a signature line names no key or carries no signature"));
        }
        signatures.push((name, blob));
    }
    if signatures.is_empty() || signatures.len() > 100 {
        return Err(NoteError::Malformed("a signed note carries between 1 and 100 signatures"));
    }
    Ok(OpenedNote { text, signatures })
}

/// Whether `verifier` signed the note (its text, as split).
pub fn signed_by(opened: &OpenedNote<'_>, verifier: &NoteVerifier) -> bool {
    opened.signatures.iter().any(|(name, blob)| *name == verifier.name && verifier.verifies(opened.text, blob))
}

/// A checkpoint: a commitment to the first `size` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity (`ledger.origin`).
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// The Merkle root over them.
    pub root: Hash,
    /// When it was issued, RFC 3339 in UTC.
    pub time: String,
}

impl Checkpoint {
    /// The checkpoint's text (the body of the signed note).
    pub fn to_text(&self) -> String {
        format!("{}\n{}\n{}\ntime {}\n", self.origin, self.size, STANDARD.encode(self.root), self.time)
    }

    /// Reads a checkpoint's text; extension lines other than `time` are kept out.
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = text.strip_suffix('\n').ok_or(NoteError::Checkpoint("no final newline"))?.split('\n');
        let origin = lines.next().filter(|l| !l.is_empty()).ok_or(NoteError::Checkpoint("no origin line"))?;
        let size = lines
            .next()
            .and_then(|l| if l.starts_with('0') && l != "0" { None } else { l.parse::<u64>().ok() })
            .ok_or(NoteError::Checkpoint("the second line is not a tree size"))?;
        let root: Hash = lines
            .next()
            .and_then(|l| STANDARD.decode(l).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or(NoteError::Checkpoint("the third line is not a base64 SHA-256 root"))?;
        let time = lines.find_map(|l| l.strip_prefix("time ")).unwrap_or_default().to_owned();
        Ok(Checkpoint { origin: origin.to_owned(), size, root, time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_ids_follow_the_spec() {
        let signer = NoteSigner::generate("gongshu.example/ledger").unwrap();
        let again = NoteSigner::parse(&signer.to_private_text()).unwrap();
        assert_eq!(again.verifier(), signer.verifier());
        let verifier = NoteVerifier::parse(&signer.verifier().to_string()).unwrap();
        assert_eq!(verifier, signer.verifier());
        // A key id that does not match is refused, not trusted.
        let text = signer.verifier().to_string();
        let (name, rest) = text.split_once('+').unwrap();
        let forged = format!("{name}+00000000+{}", rest.split_once('+').unwrap().1);
        assert_eq!(NoteVerifier::parse(&forged), Err(NoteError::Key("the key id does not match the key")));
        assert!(NoteSigner::generate("has space").is_err());
    }

    // Go's golang.org/x/mod/sumdb/note documents this exact key pair and
    // note; reproducing it proves the formats match the ecosystem's.
    #[test]
    fn matches_the_go_note_package_example() {
        let signer =
            NoteSigner::parse("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
                .unwrap();
        assert_eq!(signer.verifier().to_string(), "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
        let text =
            "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        let note = sign(text, &[&signer]);
        assert_eq!(
            note,
            format!(
                "{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
            )
        );
        let opened = split(&note).unwrap();
        assert!(signed_by(&opened, &signer.verifier()));
    }

    #[test]
    fn a_changed_text_or_signature_does_not_verify() {
        let signer = NoteSigner::generate("log").unwrap();
        let checkpoint =
            Checkpoint { origin: "log".into(), size: 12, root: [7; 32], time: "2026-11-28T00:00:00Z".into() };
        let note = sign(&checkpoint.to_text(), &[&signer]);
        let opened = split(&note).unwrap();
        assert!(signed_by(&opened, &signer.verifier()));
        assert_eq!(Checkpoint::parse(opened.text).unwrap(), checkpoint);
        let tampered = note.replacen("\n12\n", "\n13\n", 1);
        assert!(!signed_by(&split(&tampered).unwrap(), &signer.verifier()));
        let other = NoteSigner::generate("log").unwrap();
        assert!(!signed_by(&opened, &other.verifier()));
        assert!(split("no signatures\n").is_err());
    }
}
