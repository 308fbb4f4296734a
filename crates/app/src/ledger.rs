//! The verifiable ledger's use cases (ADR 0015). The store writes an entry
//! with every history step and usage event, in their transaction; here the
//! queued entries are integrated into the Merkle tree, checkpoints are
//! signed with the configured key (and co-signed by the old one when the
//! key is rotated, a rotation the log records), proofs are assembled from
//! the stored nodes, and the whole ledger is exported for `gongshu ledger
//! verify`.

use bytes::Bytes;
use futures::Stream;
use gongshu_ledger::note::{self, Checkpoint, NoteSigner, NoteVerifier};
use gongshu_ledger::tree::{self, Hash};
use gongshu_ledger::verify::{entry_line, header_lines};
use gongshu_metadata::{LedgerHead, LedgerRecord, StoreError, StoredCheckpoint};
use gongshu_policy::{Action, Subject};

use crate::{App, AppError, AppResult, Step, authorize, system_subject};

/// Entries integrated per transaction.
const INTEGRATION_BATCH: usize = 20_000;
/// Entries read per page of an export.
const EXPORT_PAGE: u64 = 5_000;

/// How this instance signs its ledger.
#[derive(Clone, Debug)]
pub struct LedgerSettings {
    /// The log's identity, the first line of every checkpoint (and the
    /// key's name): a host and path, such as `data.hangzhou.gov.cn/ledger`.
    pub origin: String,
    /// The key that signs checkpoints.
    pub signer: NoteSigner,
    /// Days a use waits before the public data tracker shows it.
    pub tracker_delay_days: u32,
}

impl LedgerSettings {
    /// Settings with a fresh random key: for tests and throw-away
    /// instances, whose checkpoints no one will verify after a restart.
    pub fn ephemeral(origin: &str) -> LedgerSettings {
        LedgerSettings {
            origin: origin.to_owned(),
            signer: NoteSigner::generate(origin).expect("a valid origin"),
            tracker_delay_days: 0,
        }
    }
}

/// One of the ledger's signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerKey {
    /// The verifier key (`<name>+<id>+<base64>`).
    pub key: String,
    /// When the log recorded its activation.
    pub activated_at: chrono::DateTime<chrono::Utc>,
    /// When the log recorded its retirement, if it did.
    pub retired_at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn key_history(tx: &mut Box<dyn gongshu_metadata::Transaction>) -> AppResult<Vec<LedgerKey>> {
    let mut keys: Vec<LedgerKey> = Vec::new();
    for step in tx.history_of_kind(gongshu_ledger::KEY_ENTITY).await? {
        match step.action.as_str() {
            "activate" => keys.push(LedgerKey { key: step.entity_id, activated_at: step.at, retired_at: None }),
            "retire" => {
                if let Some(key) = keys.iter_mut().find(|key| key.key == step.entity_id) {
                    key.retired_at = Some(step.at);
                }
            }
            _ => {}
        }
    }
    Ok(keys)
}

/// A proof that an entry is in the tree of a given size.
#[derive(Debug, Clone)]
pub struct InclusionProof {
    /// The entry.
    pub entry: LedgerRecord,
    /// The tree size the proof is for.
    pub size: u64,
    /// The sibling hashes, leaf side first.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint of that size, when there is one.
    pub checkpoint: Option<StoredCheckpoint>,
}

impl App {
    /// The same application signing its ledger as `settings` say.
    pub fn with_ledger(self, settings: LedgerSettings) -> App {
        App { ledger: std::sync::Arc::new(settings), ..self }
    }

    /// The public key that checks this instance's checkpoints.
    pub fn ledger_verifier(&self) -> NoteVerifier {
        self.ledger.signer.verifier()
    }

    /// The log's origin.
    pub fn ledger_origin(&self) -> &str {
        &self.ledger.origin
    }

    /// Integrates every queued entry; answers the head.
    pub async fn integrate_ledger(&self) -> AppResult<LedgerHead> {
        // Batch after batch until one is not full: what was queued when this
        // began is in; entries arriving meanwhile wait for the next run.
        loop {
            let mut tx = self.store.write().await?;
            let before = tx.ledger_head().await?.size;
            let head = tx.integrate_ledger(INTEGRATION_BATCH, self.clock.now()).await?;
            tx.commit().await?;
            if head.size - before < INTEGRATION_BATCH as u64 {
                return Ok(head);
            }
        }
    }

    /// Signs a checkpoint now, for the bureau or an auditor.
    pub async fn issue_checkpoint(&self, subject: &Subject) -> AppResult<StoredCheckpoint> {
        authorize(subject, Action::IssueCheckpoint)?;
        self.checkpoint().await
    }

    /// Integrates what is queued and signs a checkpoint of the head,
    /// unless the latest one already has its size. The ledger's first key
    /// records its own activation; any other key must have been brought in
    /// by `rotate_ledger_key`, and a retired key signs nothing more.
    pub async fn checkpoint(&self) -> AppResult<StoredCheckpoint> {
        self.record_key_activation(&self.ledger.signer).await?;
        self.sign_head(&[&self.ledger.signer]).await
    }

    /// The ledger's signing keys in order, each with when it was activated
    /// and retired: the first is the one verifiers start from.
    pub async fn ledger_keys(&self) -> AppResult<Vec<LedgerKey>> {
        let mut tx = self.store.read().await?;
        key_history(&mut tx).await
    }

    /// Records the first key's activation; refuses a key the ledger does
    /// not know while another is active, and a retired one.
    async fn record_key_activation(&self, signer: &NoteSigner) -> AppResult<()> {
        let vkey = signer.verifier().to_string();
        let mut tx = self.store.write().await?;
        let keys = key_history(&mut tx).await?;
        match keys.iter().find(|key| key.key == vkey) {
            Some(key) if key.retired_at.is_some() => {
                return Err(AppError::conflict(
                    format!("the configured ledger key {vkey} was retired; configure the key that replaced it"),
                    format!("所配置的账本签名密钥 {vkey} 已停用，请改用替换它的新密钥"),
                ));
            }
            Some(_) => return Ok(()),
            None if keys.iter().any(|key| key.retired_at.is_none()) => {
                return Err(AppError::conflict(
                    format!(
                        "the configured ledger key {vkey} is not the ledger's signing key; configure that key \
                         (ledger.signing_key_file), or bring this one in with `gongshu ledger rotate-key`"
                    ),
                    format!(
                        "所配置的账本签名密钥 {vkey} 不是本账本的签名密钥；请配置原密钥（ledger.signing_key_file），\
                         或用 `gongshu ledger rotate-key` 轮换到该密钥"
                    ),
                ));
            }
            None => {}
        }
        let step = Step {
            entity_kind: gongshu_ledger::KEY_ENTITY,
            entity_id: &vkey,
            action: "activate",
            from_state: None,
            to_state: Some("active"),
            opinion: None,
        };
        self.record(&mut tx, &system_subject(), step).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sign_head(&self, signers: &[&NoteSigner]) -> AppResult<StoredCheckpoint> {
        let head = self.integrate_ledger().await?;
        let mut tx = self.store.write().await?;
        if let Some(latest) = tx.latest_checkpoint().await?
            && latest.size >= head.size
        {
            return Ok(latest);
        }
        let now = self.clock.now();
        let checkpoint = Checkpoint {
            origin: self.ledger.origin.clone(),
            size: head.size,
            root: head.root,
            time: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let stored = StoredCheckpoint {
            size: head.size,
            root: head.root,
            issued_at: now,
            note: note::sign(&checkpoint.to_text(), signers),
        };
        match tx.insert_checkpoint(&stored).await {
            Ok(()) => {
                tx.commit().await?;
                Ok(stored)
            }
            // Another replica signed this size first; its checkpoint stands.
            Err(StoreError::Duplicate(_)) => {
                drop(tx);
                let mut tx = self.store.read().await?;
                Ok(tx.latest_checkpoint().await?.unwrap_or(stored))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Replaces the signing key: records the old key's retirement and the
    /// new one's activation, and signs a checkpoint covering both with both
    /// keys, so a verifier who trusts the old key learns the new one from
    /// the log. Answers that checkpoint; the caller then configures the new
    /// key.
    pub async fn rotate_ledger_key(&self, new: &NoteSigner) -> AppResult<StoredCheckpoint> {
        let old = &self.ledger.signer;
        let known = self.ledger_keys().await?;
        if known.iter().any(|key| key.key == new.verifier().to_string()) {
            return Err(AppError::conflict(
                "the new key was used by this ledger before; make a fresh one with `gongshu ledger keygen`",
                "该密钥曾在本账本使用过，请用 `gongshu ledger keygen` 生成新密钥",
            ));
        }
        if old.verifier() == new.verifier() {
            return Err(AppError::Conflict {
                en: "the new key is the key in use".into(),
                zh: "新密钥与正在使用的密钥相同".into(),
            });
        }
        if new.name() != self.ledger.origin {
            return Err(AppError::Conflict {
                en: format!(
                    "the new key is named {:?}; a checkpoint key is named after the origin {:?}",
                    new.name(),
                    self.ledger.origin
                ),
                zh: format!("新密钥名为 {:?}，检查点密钥须以账本标识 {:?} 命名", new.name(), self.ledger.origin),
            });
        }
        self.record_key_activation(old).await?;
        let old_vkey = old.verifier().to_string();
        let new_vkey = new.verifier().to_string();
        let mut tx = self.store.write().await?;
        let subject = system_subject();
        let retire = Step {
            entity_kind: gongshu_ledger::KEY_ENTITY,
            entity_id: &old_vkey,
            action: "retire",
            from_state: Some("active"),
            to_state: Some("retired"),
            opinion: None,
        };
        self.record(&mut tx, &subject, retire).await?;
        let activate = Step {
            entity_kind: gongshu_ledger::KEY_ENTITY,
            entity_id: &new_vkey,
            action: "activate",
            from_state: None,
            to_state: Some("active"),
            opinion: None,
        };
        self.record(&mut tx, &subject, activate).await?;
        tx.commit().await?;
        self.sign_head(&[old, new]).await
    }

    /// The latest checkpoint, if one was signed.
    pub async fn latest_checkpoint(&self) -> AppResult<Option<StoredCheckpoint>> {
        let mut tx = self.store.read().await?;
        Ok(tx.latest_checkpoint().await?)
    }

    /// Every checkpoint, by size.
    pub async fn checkpoints(&self) -> AppResult<Vec<StoredCheckpoint>> {
        let mut tx = self.store.read().await?;
        Ok(tx.checkpoints().await?)
    }

    /// The integrated head (entries a checkpoint may not cover yet).
    pub async fn ledger_head(&self) -> AppResult<LedgerHead> {
        let mut tx = self.store.read().await?;
        Ok(tx.ledger_head().await?)
    }

    /// Integrated entries from index `from`, in order.
    pub async fn ledger_entries(&self, from: u64, limit: u64) -> AppResult<Vec<LedgerRecord>> {
        let mut tx = self.store.read().await?;
        Ok(tx.ledger_entries(from, limit).await?)
    }

    /// One entry by index.
    pub async fn ledger_entry(&self, index: u64) -> AppResult<LedgerRecord> {
        let mut tx = self.store.read().await?;
        tx.ledger_entries(index, 1)
            .await?
            .pop()
            .filter(|record| record.index == index)
            .ok_or_else(|| AppError::NotFound { entity: "ledger entry", id: index.to_string() })
    }

    /// The entry recording one history step (`state`) or usage event
    /// (`usage`), once integrated.
    pub async fn ledger_entry_of(&self, kind: &str, seq: i64) -> AppResult<Option<LedgerRecord>> {
        let mut tx = self.store.read().await?;
        Ok(tx.ledger_entry_of(kind, seq).await?)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries
    /// (the latest checkpoint's size by default).
    pub async fn inclusion_proof(&self, index: u64, size: Option<u64>) -> AppResult<InclusionProof> {
        let mut tx = self.store.read().await?;
        let checkpoint = match size {
            None => Some(
                tx.latest_checkpoint()
                    .await?
                    .ok_or_else(|| AppError::conflict("no checkpoint has been signed yet", "尚未签发检查点"))?,
            ),
            Some(size) => tx.checkpoints().await?.into_iter().find(|c| c.size == size),
        };
        let size = size.or(checkpoint.as_ref().map(|c| c.size)).unwrap_or_default();
        let head = tx.ledger_head().await?;
        if size > head.size || index >= size {
            return Err(out_of_range(index, size, head.size));
        }
        let ranges = tree::inclusion_ranges(index, size).map_err(|_| out_of_range(index, size, head.size))?;
        let hashes = self.assemble(&mut tx, &ranges).await?;
        let entry = tx
            .ledger_entries(index, 1)
            .await?
            .pop()
            .ok_or_else(|| AppError::NotFound { entity: "ledger entry", id: index.to_string() })?;
        Ok(InclusionProof { entry, size, hashes, checkpoint })
    }

    /// The consistency proof between two tree sizes.
    pub async fn consistency_proof(&self, first: u64, second: u64) -> AppResult<Vec<Hash>> {
        let mut tx = self.store.read().await?;
        let head = tx.ledger_head().await?;
        if second > head.size || first > second {
            return Err(out_of_range(first, second, head.size));
        }
        let ranges = tree::consistency_ranges(first, second).map_err(|_| out_of_range(first, second, head.size))?;
        self.assemble(&mut tx, &ranges).await
    }

    async fn assemble(
        &self,
        tx: &mut Box<dyn gongshu_metadata::Transaction>,
        ranges: &[tree::Range],
    ) -> AppResult<Vec<Hash>> {
        let nodes = tx.ledger_nodes(&tree::needed(ranges)).await?;
        tree::assemble(ranges, |id| nodes.get(&id).copied())
            .map_err(|id| AppError::Internal(Box::new(StoreError::Corrupt(format!("ledger node {id:?} is missing")))))
    }

    /// The whole ledger as an export (header, checkpoints, entries), up to
    /// the integrated head when it starts; streamed page by page.
    pub async fn export_ledger(&self) -> AppResult<impl Stream<Item = AppResult<Bytes>> + Send + 'static> {
        let head = self.ledger_head().await?;
        // A checkpoint signed after the head was read covers entries this
        // export will not hold: leave it to the next export.
        let checkpoints =
            self.checkpoints().await?.into_iter().filter(|c| c.size <= head.size).map(|c| c.note).collect::<Vec<_>>();
        let header = Bytes::from(header_lines(&self.ledger.origin, head.size, &checkpoints));
        let store = self.store.clone();
        let entries = futures::stream::try_unfold(0u64, move |from| {
            let store = store.clone();
            async move {
                if from >= head.size {
                    return Ok(None);
                }
                let mut tx = store.read().await?;
                let page = tx.ledger_entries(from, EXPORT_PAGE.min(head.size - from)).await?;
                let mut out = String::new();
                // A gap in the stored indexes is exported as it is, for the
                // verifier to name.
                for record in &page {
                    out.push_str(&entry_line(record.index, &record.leaf_hash, &record.body));
                }
                let next = page.last().map_or(head.size, |record| record.index + 1);
                Ok::<_, AppError>(Some((Bytes::from(out), next)))
            }
        });
        Ok(futures::StreamExt::chain(futures::stream::once(async move { Ok(header) }), entries))
    }
}

fn out_of_range(index: u64, size: u64, head: u64) -> AppError {
    AppError::Validation(
        gongshu_domain::ValidationError {
            field: "index".into(),
            message_en: format!("index {index} and size {size} do not fit the ledger, which holds {head} entries"),
            message_zh: format!("序号 {index} 与大小 {size} 超出账本范围（共 {head} 条）"),
        }
        .into(),
    )
}
