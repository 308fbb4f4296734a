//! `gongshu`: the one binary. `serve` runs the portal, the JSON API, the
//! CKAN-compatible API and the DCAT catalog on one port; the other commands
//! bootstrap an instance without a browser.
//!
//! It only wires things together: configuration, logging, the metadata
//! store, the application and the router. Everything it does is a call into
//! `gongshu-app`.

mod config;
mod ledger;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use gongshu_app::{
    App, CatalogIndex, NewHarvestSource, NewOrganization, NewToken, NewUser, Stores, SystemClock, demo, system_subject,
};
use gongshu_metadata::SqlStore;

use crate::config::{Config, Overrides};

/// Gongshu (公数): a platform for developing and using public data resources.
#[derive(Debug, Parser)]
#[command(name = "gongshu", version, about)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Configuration file (TOML; see config/example.toml). Env: GONGSHU_CONFIG.
    #[arg(long, global = true)]
    config: Option<std::path::PathBuf>,
    /// Data directory [default: ./gongshu-data]. Env: GONGSHU_DATA_DIR.
    #[arg(long, global = true)]
    data_dir: Option<std::path::PathBuf>,
    /// Metadata database, postgres://… [default: SQLite in the data directory]. Env: GONGSHU_DATABASE_URL.
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the portal, the API (/api/v1), the CKAN API (/api/3/action) and the DCAT catalog.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]. Env: GONGSHU_LISTEN.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// On first start in an empty data directory, load the demo catalog.
        #[arg(long)]
        demo: bool,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Print the OpenAPI document of the API (for client generators).
    Openapi,
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Load a file (CSV, TSV, PSV, TXT, XLSX, XLS, ODS, JSON, NDJSON, Parquet) as the next version of a resource.
    Import(ImportArgs),
    /// Harvest other portals' open catalogs (区域协作): add sources, list them, run them.
    #[command(subcommand)]
    Harvest(HarvestCommand),
    /// Rebuild the catalog's search index from the metadata database (stop `serve` first; a running server keeps the index in step by itself).
    Reindex,
    /// The verifiable ledger: verify, export, checkpoint, keys.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The resource's id.
    #[arg(long)]
    resource: String,
    /// The file to load.
    file: std::path::PathBuf,
    /// Encoding (utf-8, gbk, gb18030, big5, utf-16le …) [default: detected].
    #[arg(long)]
    encoding: Option<String>,
    /// Delimiter: one character or `tab` [default: sniffed].
    #[arg(long)]
    delimiter: Option<String>,
    /// Non-blank rows above the header to skip [default: detected].
    #[arg(long)]
    skip_rows: Option<usize>,
    /// A Frictionless Table Schema (JSON file) whose types override inference.
    #[arg(long)]
    schema: Option<std::path::PathBuf>,
    /// A spreadsheet's sheet, by name or 1-based number [default: the one with the most rows].
    #[arg(long)]
    sheet: Option<String>,
    /// Load as this user (their roles apply and the history names them) [default: the platform itself].
    #[arg(long)]
    as_user: Option<String>,
}

#[derive(Debug, Subcommand)]
enum HarvestCommand {
    /// Add a source; prints its id. `serve` harvests it every `server.harvest_interval_hours`.
    Add {
        /// The portal's Chinese name.
        #[arg(long)]
        name_zh: String,
        /// Its English name.
        #[arg(long)]
        name_en: Option<String>,
        /// `ckan` (give the portal's root) or `dcat` (give the catalog document's address).
        #[arg(long)]
        kind: String,
        /// Where to read the catalog.
        #[arg(long)]
        url: String,
        /// GB/T 2260 code of the region the portal serves.
        #[arg(long)]
        region: String,
    },
    /// List the sources with their last results.
    List,
    /// Harvest one source now, or every source with --all.
    Run {
        /// The source's id.
        source: Option<String>,
        /// Every source.
        #[arg(long, conflicts_with = "source")]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organization; prints its id.
    Create {
        /// Chinese name.
        #[arg(long)]
        name_zh: String,
        /// English name.
        #[arg(long)]
        name_en: Option<String>,
        /// data_bureau, implementing_body, department, operator, enterprise or auditor.
        #[arg(long)]
        kind: String,
        /// GB/T 2260 division code, e.g. 330100.
        #[arg(long)]
        region: String,
        /// Unified social credit code (18 characters).
        #[arg(long)]
        code: Option<String>,
        /// Parent organization id.
        #[arg(long)]
        parent: Option<String>,
    },
    /// List organizations.
    List,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; prints its id. The password is read from standard input.
    Create {
        /// Sign-in name.
        #[arg(long)]
        username: String,
        /// Name shown to people.
        #[arg(long)]
        display_name: String,
        /// Read a password (first line of standard input); without it the user signs in with tokens only.
        #[arg(long)]
        password_stdin: bool,
        /// Make the user a system administrator.
        #[arg(long)]
        system_admin: bool,
        /// Role in an organization as ORG_ID:ROLE (admin, cataloguer, reviewer, viewer); repeatable.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue an API token; prints it once.
    Create {
        /// The user's sign-in name.
        #[arg(long)]
        username: String,
        /// A name for the token.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until it expires [default: never].
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke a token by id.
    Revoke {
        /// Token id.
        id: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Openapi = cli.command {
        // Needs no configuration or database.
        println!("{}", gongshu_http_api::openapi_json());
        return Ok(());
    }
    let listen = match &cli.command {
        Command::Serve { listen, .. } => *listen,
        _ => None,
    };
    let overrides = Overrides {
        config_file: cli.global.config.clone(),
        listen,
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database_url.clone(),
    };
    let config = Config::load(&overrides, &config::process_env())?;
    if let Command::Ledger(command) = &cli.command
        && let Some(ok) = ledger::run_offline(command, &config).await?
    {
        if !ok {
            std::process::exit(1);
        }
        return Ok(());
    }
    // Only the server and `reindex` hold the search index on disk; other
    // commands change the catalog through an index of their own, and the
    // server's periodic sync picks their changes up.
    let persistent_index = matches!(cli.command, Command::Serve { .. } | Command::Reindex);
    let app = open(&config, persistent_index).await?;
    let system = system_subject();
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Serve { demo, .. } => {
            drop(stdout);
            serve(&config, app, demo).await?;
        }
        Command::Migrate => writeln!(stdout, "schema is up to date")?,
        Command::Ledger(command) => ledger::run(command, &app, &mut stdout).await?,
        Command::Openapi => unreachable!("answered before opening the store"),
        Command::Org(OrgCommand::Create { name_zh, name_en, kind, region, code, parent }) => {
            let org = app
                .create_organization(
                    &system,
                    NewOrganization { code, name_zh, name_en, kind, region, parent_id: parent },
                )
                .await?;
            writeln!(stdout, "{}", org.id)?;
        }
        Command::Org(OrgCommand::List) => {
            for org in app.organizations().await? {
                writeln!(stdout, "{}\t{}\t{}\t{}", org.id, org.kind, org.region.as_str(), org.name_zh)?;
            }
        }
        Command::User(UserCommand::Create { username, display_name, password_stdin, system_admin, roles }) => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let mut parsed_roles = Vec::new();
            for role in roles {
                let Some((org_id, role)) = role.rsplit_once(':') else {
                    bail!("--role `{role}` must be ORG_ID:ROLE, e.g. 0190…:cataloguer");
                };
                parsed_roles.push((org_id.to_owned(), role.to_owned()));
            }
            let user = app
                .create_user(&system, NewUser { username, display_name, password, system_admin, roles: parsed_roles })
                .await?;
            writeln!(stdout, "{}", user.id)?;
        }
        Command::Token(TokenCommand::Create { username, name, expires_in_days }) => {
            let user = app.user_by_username(&username).await?;
            let issued = app.issue_token(&system, &user.id, NewToken { name, expires_in_days }).await?;
            writeln!(stdout, "{}", issued.secret)?;
            eprintln!("token {} issued to {username}; it is shown only this once", issued.token.id);
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            app.revoke_token(&system, &id).await?;
            writeln!(stdout, "revoked {id}")?;
        }
        Command::Harvest(HarvestCommand::Add { name_zh, name_en, kind, url, region }) => {
            let new = NewHarvestSource { name_zh, name_en, kind, url, region };
            let view = app.create_harvest_source(&system, new).await?;
            writeln!(stdout, "{}", view.source.id)?;
        }
        Command::Harvest(HarvestCommand::List) => {
            for view in app.harvest_sources().await? {
                let last = view.source.last_report.as_deref().unwrap_or("never harvested");
                writeln!(
                    stdout,
                    "{}\t{}\t{}\t{}\t{} entries\t{}",
                    view.source.id, view.source.kind, view.source.url, view.portal.name_zh, view.entries, last
                )?;
            }
        }
        Command::Harvest(HarvestCommand::Run { source, all }) => {
            let ids: Vec<String> = match (source, all) {
                (Some(id), _) => vec![id],
                (None, true) => app.harvest_sources().await?.into_iter().map(|v| v.source.id).collect(),
                (None, false) => anyhow::bail!("name a source, or give --all"),
            };
            let mut failed = 0;
            for id in ids {
                match app.run_harvest(&system, &id).await {
                    Ok(report) => writeln!(
                        stdout,
                        "{id}: {} listed, {} new, {} updated, {} unchanged, {} withdrawn ({} pages)",
                        report.listed, report.created, report.updated, report.unchanged, report.withdrawn, report.pages
                    )?,
                    Err(error) => {
                        failed += 1;
                        eprintln!("{id}: {error}");
                    }
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} source(s) could not be harvested");
            }
        }
        Command::Reindex => {
            let report = app.rebuild_search().await?;
            writeln!(stdout, "search index rebuilt: {} published entries", report.total)?;
        }
        Command::Import(args) => {
            drop(stdout);
            import(&app, args).await?;
        }
    }
    Ok(())
}

/// `gongshu import`: loads a file with a progress bar on standard error.
async fn import(app: &App, args: ImportArgs) -> anyhow::Result<()> {
    let subject = match &args.as_user {
        Some(username) => app.subject_of(username).await?,
        None => system_subject(),
    };
    let schema_json = match &args.schema {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?),
        None => None,
    };
    let size = std::fs::metadata(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?.len();
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>9} [{bar:30}] {bytes}/{total_bytes} {msg} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let progress_bar = bar.clone();
    let progress = Arc::new(move |p: gongshu_app::LoadProgress| {
        progress_bar.set_prefix(if p.pass == 1 { "reading" } else { "writing" });
        progress_bar.set_position(p.bytes);
        progress_bar.set_message(format!("{} rows", p.rows));
    });
    let name = args.file.file_name().and_then(|n| n.to_str()).unwrap_or("upload").to_owned();
    let options = gongshu_app::LoadOptions {
        encoding: args.encoding,
        delimiter: args.delimiter,
        skip_rows: args.skip_rows,
        schema_json,
        sheet: args.sheet,
    };
    let result = app.load_version(&subject, &args.resource, &args.file, &name, &options, progress).await;
    bar.finish_and_clear();
    let version = result?;
    println!(
        "loaded {name} as version {} of {}: {} rows, {} bytes of Parquet, sha256 {}",
        version.version, args.resource, version.row_count, version.parquet_bytes, version.content_hash
    );
    Ok(())
}

/// Opens the metadata store (creating the data directory for SQLite) and
/// wires the application.
async fn open(config: &Config, persistent_index: bool) -> anyhow::Result<App> {
    std::fs::create_dir_all(&config.storage.data_dir)
        .with_context(|| format!("cannot create the data directory {}", config.storage.data_dir.display()))?;
    let url = config.database_url();
    let store = SqlStore::connect(&url).await.context("cannot open the metadata database")?;
    let scratch = config.storage.data_dir.join("tmp");
    std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
    let search = if persistent_index {
        let dir = config.storage.data_dir.join("search");
        CatalogIndex::open(&dir).with_context(|| format!("cannot open the search index in {}", dir.display()))?
    } else {
        CatalogIndex::in_memory().context("cannot create a search index")?
    };
    let stores = Stores { metadata: Arc::new(store), data: config.data_store()?, scratch, search: Arc::new(search) };
    let app = App::new(stores, Arc::new(SystemClock), config.calendar()?, config.rules()?);
    Ok(app.with_ledger(ledger::settings(config)?))
}

/// Harvests each source whose last harvest is older than the interval,
/// looking every ten minutes (the first look ten minutes after start), so a
/// new source is read soon after it is added and a restart does not read
/// every source again. Sources under the reserved `.example` and `.invalid`
/// names (RFC 6761), such as the demo's, can never be reached and are left alone.
async fn harvest_on_schedule(app: App, interval_hours: u32) {
    let interval = chrono::Duration::hours(i64::from(interval_hours));
    let mut every_ten_minutes = tokio::time::interval(std::time::Duration::from_secs(600));
    every_ten_minutes.tick().await;
    let reachable = |address: &str| {
        let host = url::Url::parse(address).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        !(host.ends_with(".example") || host.ends_with(".invalid"))
    };
    loop {
        every_ten_minutes.tick().await;
        let sources = match app.harvest_sources().await {
            Ok(sources) => sources,
            Err(error) => {
                tracing::warn!(%error, "cannot list harvest sources");
                continue;
            }
        };
        let now = chrono::Utc::now();
        let due = |v: &gongshu_app::HarvestSourceView| {
            reachable(&v.source.url) && v.source.last_run_at.is_none_or(|at| now - at >= interval)
        };
        for view in sources.into_iter().filter(due) {
            match app.run_harvest(&system_subject(), &view.source.id).await {
                Ok(report) => tracing::info!(source = %view.source.url, ?report, "harvested"),
                Err(error) => tracing::warn!(source = %view.source.url, %error, "harvest failed"),
            }
        }
    }
}

/// Signs a checkpoint every interval while entries arrive, and runs the
/// monitoring rules over the new usage every minute.
async fn ledger_on_schedule(app: App, interval_seconds: u64) {
    let mut checkpoints = tokio::time::interval(std::time::Duration::from_secs(interval_seconds));
    let mut scans = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = checkpoints.tick() => {
                if let Err(error) = app.checkpoint().await {
                    tracing::warn!(%error, "cannot sign a ledger checkpoint; retrying at the next interval");
                }
            }
            _ = scans.tick() => match app.scan_usage().await {
                Ok(alerts) => {
                    for alert in alerts {
                        tracing::warn!(rule = alert.rule.code(), summary = %alert.summary_en, "alert raised");
                    }
                }
                Err(error) => tracing::warn!(%error, "the usage monitor failed; retrying in a minute"),
            },
        }
    }
}

async fn serve(config: &Config, app: App, load_demo: bool) -> anyhow::Result<()> {
    if load_demo {
        let token_path = config.storage.data_dir.join("demo-admin-token");
        if demo::is_loaded(&app).await? {
            match std::fs::metadata(&token_path) {
                Ok(_) => eprintln!(
                    "demo: keeping the data already in {}; admin token in {}",
                    config.storage.data_dir.display(),
                    token_path.display()
                ),
                Err(_) => eprintln!(
                    "demo: {} already holds data but no demo-admin-token, so the demo was not loaded; \
                     if an earlier start was interrupted while loading it, remove the directory and start again",
                    config.storage.data_dir.display()
                ),
            }
        } else {
            let summary = Box::pin(demo::load(&app)).await.context("cannot load the demo")?;
            write_secret(&token_path, &summary.admin_token)?;
            eprintln!(
                "demo: loaded {} catalog entries; admin API token written to {}",
                summary.resources,
                token_path.display()
            );
        }
    }
    let report = app.sync_search().await.context("cannot bring the search index up to date")?;
    eprintln!(
        "search index: {} published entries ({} updated, {} removed)",
        report.total, report.indexed, report.removed
    );
    let syncing = app.clone();
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
        every_minute.tick().await;
        loop {
            every_minute.tick().await;
            if let Err(error) = syncing.sync_search().await {
                tracing::warn!(%error, "search index sync failed; retrying in a minute");
            }
        }
    });
    if config.server.harvest_interval_hours > 0 {
        tokio::spawn(harvest_on_schedule(app.clone(), config.server.harvest_interval_hours));
    }
    let checkpoint = app.checkpoint().await.context("cannot sign a ledger checkpoint")?;
    eprintln!("ledger: {} entries, latest checkpoint signed by {}", checkpoint.size, app.ledger_verifier());
    tokio::spawn(ledger_on_schedule(app.clone(), config.ledger.checkpoint_interval_seconds));
    // Servers sharing a PostgreSQL database stop each other's reads under way.
    let following = app.clone();
    tokio::spawn(async move { following.follow_other_servers().await });
    let router = gongshu_http_api::routes(app.clone())
        .merge(gongshu_ckan::router(app.clone()))
        .merge(gongshu_dcat::router(app.clone()))
        .merge(gongshu_web::router(app))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    eprintln!("gongshu listening on http://{}  (API: /api/v1, OpenAPI: /api/v1/openapi.json)", listener.local_addr()?);
    axum::serve(listener, router).with_graceful_shutdown(shutdown_signal()).await.context("server failed")?;
    Ok(())
}

/// Writes a secret readable by its owner only, replacing the file whole.
fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    let temporary = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary).with_context(|| format!("cannot write {}", temporary.display()))?;
        writeln!(file, "{secret}")?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
