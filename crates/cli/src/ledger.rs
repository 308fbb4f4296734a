//! `gongshu ledger …`: the signing key's life (keygen, rotation), exports,
//! checkpoints on demand, and the verifier anyone can run against an
//! export file or a running instance with nothing but a trusted public key.

use std::io::{BufRead, BufReader, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use gongshu_app::{App, LedgerSettings};
use gongshu_ledger::note::{self, Checkpoint};
use gongshu_ledger::{NoteSigner, NoteVerifier, Report, tree, verify_export};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub(crate) enum LedgerCommand {
    /// Verify an exported ledger, or a running instance, against trusted public keys: every checkpoint's
    /// signature, the whole tree recomputed from the entries, consistency between checkpoints and (for an
    /// instance) the proofs it serves. Exits with 1 and names the entry that broke when anything fails.
    Verify {
        /// An export made by `gongshu ledger export` or downloaded from /api/v1/ledger/export.
        #[arg(long, conflicts_with = "url", required_unless_present = "url")]
        file: Option<PathBuf>,
        /// A running instance's base address, such as https://data.example.gov.cn.
        #[arg(long)]
        url: Option<String>,
        /// A trusted verifier key (<name>+<id>+<base64>), as the instance publishes it on /ledger; repeatable.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
    },
    /// Write the whole ledger (checkpoints and entries) to a file, for `verify`.
    Export {
        /// Where to write it ("-" for standard output).
        out: PathBuf,
    },
    /// Integrate queued entries and sign a checkpoint now.
    Checkpoint,
    /// Print the public key that checks this instance's checkpoints.
    PublicKey,
    /// Make a new signing key named after `ledger.origin` and write it, readable by its owner only.
    Keygen {
        /// Where to write the signer key.
        out: PathBuf,
    },
    /// Replace the signing key: records the change in the log and signs a checkpoint with both keys, so
    /// verifiers who trust the old key learn the new one. Then point `ledger.signing_key_file` at the new key.
    RotateKey {
        /// The new signer key (from `gongshu ledger keygen`).
        new_key_file: PathBuf,
    },
}

/// The ledger settings of the configuration: the configured key, or the
/// data directory's, made on first use.
pub(crate) fn settings(config: &Config) -> anyhow::Result<LedgerSettings> {
    let ledger = &config.ledger;
    let signer = match &ledger.signing_key_file {
        Some(path) => read_signer(path)?,
        None => {
            let path = config.storage.data_dir.join("ledger-signing.key");
            let exists = path.try_exists().with_context(|| format!("cannot look for {}", path.display()))?;
            if exists {
                read_signer(&path)?
            } else {
                let signer = NoteSigner::generate(&ledger.origin).map_err(|e| anyhow::anyhow!("{e}"))?;
                crate::write_secret(&path, &signer.to_private_text())?;
                eprintln!("ledger: made a signing key in {}; its public key is {}", path.display(), signer.verifier());
                signer
            }
        }
    };
    if signer.name() != ledger.origin {
        bail!(
            "the ledger signing key is named `{}` but ledger.origin is `{}`: a checkpoint key carries the log's origin",
            signer.name(),
            ledger.origin
        );
    }
    Ok(LedgerSettings { origin: ledger.origin.clone(), signer, tracker_delay_days: ledger.tracker_delay_days })
}

fn read_signer(path: &Path) -> anyhow::Result<NoteSigner> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the signing key {}", path.display()))?;
    NoteSigner::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Commands that need no store: verification and key generation.
pub(crate) async fn run_offline(command: &LedgerCommand, config: &Config) -> anyhow::Result<Option<bool>> {
    match command {
        LedgerCommand::Verify { file, url, keys } => {
            let trusted = keys
                .iter()
                .map(|key| NoteVerifier::parse(key).map_err(|e| anyhow::anyhow!("--key {key}: {e}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let ok = match (file, url) {
                (Some(file), _) => {
                    let reader = BufReader::new(
                        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
                    );
                    let report = verify_export(reader, &trusted);
                    print_report(&report);
                    report.ok()
                }
                (None, Some(url)) => verify_instance(url, &trusted).await?,
                (None, None) => bail!("give --file or --url"),
            };
            Ok(Some(ok))
        }
        LedgerCommand::Keygen { out } => {
            if out.try_exists().with_context(|| format!("cannot look for {}", out.display()))? {
                bail!("{} exists; a key is never overwritten", out.display());
            }
            let signer = NoteSigner::generate(&config.ledger.origin).map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::write_secret(out, &signer.to_private_text())?;
            println!("{}", signer.verifier());
            Ok(Some(true))
        }
        _ => Ok(None),
    }
}

/// Commands that act on the instance's store.
pub(crate) async fn run(command: LedgerCommand, app: &App, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        LedgerCommand::Export { out: path } => {
            let mut stream = std::pin::pin!(app.export_ledger().await?);
            let mut sink: Box<dyn Write> = if path.as_os_str() == "-" {
                Box::new(std::io::stdout().lock())
            } else {
                Box::new(std::io::BufWriter::new(
                    std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?,
                ))
            };
            while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
                sink.write_all(&chunk?)?;
            }
            sink.flush()?;
        }
        LedgerCommand::Checkpoint => {
            let checkpoint = app.checkpoint().await?;
            write!(out, "{}", checkpoint.note)?;
        }
        LedgerCommand::PublicKey => writeln!(out, "{}", app.ledger_verifier())?,
        LedgerCommand::RotateKey { new_key_file } => {
            let new = read_signer(&new_key_file)?;
            let checkpoint = app.rotate_ledger_key(&new).await?;
            writeln!(
                out,
                "the log records the new key, and the checkpoint at size {} is signed by both:\n{}\nnow set \
                 ledger.signing_key_file to {} and restart; publish the new public key {}",
                checkpoint.size,
                checkpoint.note,
                new_key_file.display(),
                new.verifier()
            )?;
        }
        LedgerCommand::Verify { .. } | LedgerCommand::Keygen { .. } => unreachable!("run offline"),
    }
    Ok(())
}

fn print_report(report: &Report) {
    println!("origin: {}", report.origin);
    println!("entries: {} ({})", report.entries, kinds(report));
    println!("checkpoints verified: {}", report.checkpoints_verified);
    if let Some(latest) = &report.latest {
        println!(
            "latest verified checkpoint: size {} root {} at {}",
            latest.size,
            gongshu_ledger::hex(&latest.root),
            latest.time
        );
    }
    if report.uncovered > 0 {
        println!("entries after the latest checkpoint (not yet signed): {}", report.uncovered);
    }
    for key in &report.keys {
        println!("signed by: {key}");
    }
    if report.ok() {
        println!("OK: every checkpoint and entry verifies (账本验证通过)");
    } else {
        for finding in &report.findings {
            println!("FAIL: {finding}");
        }
    }
}

fn kinds(report: &Report) -> String {
    report.kinds.iter().map(|(kind, count)| format!("{kind} {count}")).collect::<Vec<_>>().join(", ")
}

/// Downloads an instance's export and verifies it, then checks the proofs
/// the instance serves against the checkpoints that verified: the
/// consistency proof between each pair, and inclusion proofs of a sample.
async fn verify_instance(base: &str, trusted: &[NoteVerifier]) -> anyhow::Result<bool> {
    let base = base.trim_end_matches('/');
    let client = reqwest::Client::new();
    // The export can be large: it goes to a temporary file, not memory.
    let mut response = client
        .get(format!("{base}/api/v1/ledger/export"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("cannot download {base}/api/v1/ledger/export"))?;
    let mut export = tempfile::tempfile().context("cannot make a temporary file for the export")?;
    while let Some(chunk) = response.chunk().await.context("the export's download broke off")? {
        export.write_all(&chunk)?;
    }
    export.rewind()?;
    let report = verify_export(BufReader::new(&export), trusted);
    print_report(&report);
    let mut ok = report.ok();
    // The served proofs, checked against the signed checkpoints only; they
    // come before the first entry.
    export.rewind()?;
    let mut roots: Vec<Checkpoint> = Vec::new();
    for line in BufReader::new(&export).lines().skip(1) {
        let Ok(gongshu_ledger::verify::ExportLine::Checkpoint { checkpoint }) = serde_json::from_str(&line?) else {
            break;
        };
        let Ok(opened) = note::split(&checkpoint) else { continue };
        if trusted.iter().any(|key| note::signed_by(&opened, key))
            && let Ok(parsed) = Checkpoint::parse(opened.text)
        {
            roots.push(parsed);
        }
    }
    let mut checked = 0;
    for pair in roots.windows(2) {
        let (first, second) = (&pair[0], &pair[1]);
        let proof = fetch_hashes(
            &client,
            &format!("{base}/api/v1/ledger/consistency?first={}&second={}", first.size, second.size),
        )
        .await?;
        if tree::verify_consistency(first.size, second.size, &first.root, &second.root, &proof).is_err() {
            println!(
                "FAIL: the instance's consistency proof from {} to {} does not verify (实例提供的一致性证明 {}→{} 验证失败)",
                first.size, second.size, first.size, second.size
            );
            ok = false;
        }
        checked += 1;
    }
    if let Some(latest) = roots.last() {
        let step = (latest.size / 32).max(1);
        for index in (0..latest.size).step_by(step as usize) {
            let url = format!("{base}/api/v1/ledger/entries/{index}/proof?size={}", latest.size);
            let body: serde_json::Value = client.get(&url).send().await?.error_for_status()?.json().await?;
            let entry = body["entry"].as_str().unwrap_or_default();
            let hashes = hashes_of(&body["hashes"])?;
            if tree::verify_inclusion(&tree::leaf_hash(entry.as_bytes()), index, latest.size, &hashes, &latest.root)
                .is_err()
            {
                println!(
                    "FAIL: the instance's inclusion proof of entry {index} does not verify (条目 {index} 的包含证明验证失败)"
                );
                ok = false;
            }
            checked += 1;
        }
    }
    println!("proofs served by the instance and verified: {checked} (已核验实例提供的证明 {checked} 个)");
    Ok(ok)
}

async fn fetch_hashes(client: &reqwest::Client, url: &str) -> anyhow::Result<Vec<gongshu_ledger::Hash>> {
    let body: serde_json::Value = client.get(url).send().await?.error_for_status()?.json().await?;
    hashes_of(&body["hashes"])
}

fn hashes_of(value: &serde_json::Value) -> anyhow::Result<Vec<gongshu_ledger::Hash>> {
    value
        .as_array()
        .context("a proof lists its hashes")?
        .iter()
        .map(|h| h.as_str().and_then(gongshu_ledger::parse_hash).context("a proof hash is 64 hex digits"))
        .collect()
}
