//! The `kms-server` command: `kms-server serve --listen ADDR --data DIR [--config FILE]
//! [--tls-cert-file FILE --tls-key-file FILE] [--www DIR] [--pkg DIR]`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use kms_server::audit;
use kms_server::clock::SystemClock;
use kms_server::config::{Config, DEFAULT_ACCESS_KEY, DEFAULT_ACCOUNT_ID};
use kms_server::demo_session::DemoSession;
use kms_server::keystore::{Keystore, RootKeySource};
use kms_server::site::StaticSite;
use kms_server::tls::TlsSettings;
use kms_server::AuditMode;

/// mimalloc: faster than the system allocator for a server's many small, cross-thread
/// allocations (see the note on the dependency).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "kms-server",
    version,
    about = "A self-hosted key management service speaking the AWS KMS API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the KMS API.
    Serve {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:7080")]
        listen: SocketAddr,
        /// Data directory (database and, by default, the root key).
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// TOML file declaring accounts and their root access keys.
        #[arg(long)]
        config: Option<PathBuf>,
        /// PEM file with the TLS certificate chain (leaf first): with --tls-key-file, serve
        /// HTTPS only. Overrides the config file's `tls_cert_file`.
        #[arg(long, requires = "tls_key_file")]
        tls_cert_file: Option<PathBuf>,
        /// PEM file with the certificate's private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
        /// Overrides the config file's `tls_key_file`.
        #[arg(long, requires = "tls_cert_file")]
        tls_key_file: Option<PathBuf>,
        /// File holding the root key (64 hex characters); overrides KMS_ROOT_KEY.
        #[arg(long)]
        root_key_file: Option<PathBuf>,
        /// Write the bound address to this file once listening (for scripts and tests).
        #[arg(long)]
        ready_file: Option<PathBuf>,
        /// Seconds between background job passes (deletion, rotation).
        #[arg(long, default_value_t = 30)]
        job_interval_secs: u64,
        /// Log as JSON lines.
        #[arg(long)]
        log_json: bool,
        /// Directory of the demo page served at `/` (default `./www` if it exists).
        #[arg(long)]
        www: Option<PathBuf>,
        /// Directory of the npm package served at `/pkg/` (default: `pkg` beside the
        /// www directory).
        #[arg(long)]
        pkg: Option<PathBuf>,
        /// Serve the KMS API only, no demo site.
        #[arg(long, conflicts_with_all = ["www", "pkg"])]
        no_www: bool,
        /// Hand the demo page temporary STS credentials at `GET /demo/session` (a session of
        /// the role `kms-demo-browser` in the first account, created if missing). Loopback
        /// addresses only.
        #[arg(long)]
        demo_session: bool,
        /// BENCHMARK ONLY: keep no audit trail, to measure what it costs. Calls leave no
        /// record; never use this for anything but a benchmark.
        #[arg(long, hide = true)]
        benchmark_only_disable_audit_trail: bool,
    },
    /// Read and check the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print this deployment's replication public key (base64), for the `public_key` of
    /// its `[[peers]]` entry in other deployments' configuration. Creates the root key in
    /// the data directory if there is none yet, as `serve` would.
    ReplicationKey {
        /// Data directory of the server.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// File holding the root key; overrides KMS_ROOT_KEY (default: DATA/root.key).
        #[arg(long)]
        root_key_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Prove that no record was changed, removed, added or reordered: checks the hash chain
    /// and every signed digest (needs the root key the server runs with).
    Verify {
        /// Data directory of the server.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// File holding the root key; overrides KMS_ROOT_KEY (default: DATA/root.key).
        #[arg(long)]
        root_key_file: Option<PathBuf>,
    },
    /// Write every record, oldest first, as JSON lines to stdout.
    Export {
        /// Data directory of the server.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
    },
    /// Print the newest records of one account matching every given filter, newest first.
    Lookup {
        /// Data directory of the server.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// The account whose records to read.
        #[arg(long)]
        account: String,
        /// Only this operation, e.g. `Decrypt`.
        #[arg(long)]
        event_name: Option<String>,
        /// Only calls about this key ARN.
        #[arg(long)]
        key_arn: Option<String>,
        /// Only calls by this principal ARN.
        #[arg(long)]
        principal_arn: Option<String>,
        /// Only calls at or after this time (milliseconds since the epoch).
        #[arg(long)]
        start_ms: Option<i64>,
        /// Only calls at or before this time (milliseconds since the epoch).
        #[arg(long)]
        end_ms: Option<i64>,
        /// At most this many records.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

fn main() -> ExitCode {
    let (options, log_json, site) = match Cli::parse().command {
        Command::Serve {
            listen,
            data,
            config,
            tls_cert_file,
            tls_key_file,
            root_key_file,
            ready_file,
            job_interval_secs,
            log_json,
            www,
            pkg,
            no_www,
            demo_session,
            benchmark_only_disable_audit_trail,
        } => (
            Options {
                listen,
                data,
                config,
                tls_files: tls_cert_file.zip(tls_key_file),
                root_key_file,
                ready_file,
                job_interval_secs,
                demo_session,
                audit_mode: if benchmark_only_disable_audit_trail {
                    AuditMode::BenchmarkOnlyDisabled
                } else {
                    AuditMode::Durable
                },
            },
            log_json,
            SiteChoice { www, pkg, off: no_www },
        ),
        Command::Audit { command } => return audit_command(command),
        Command::ReplicationKey { data, root_key_file } => {
            return replication_key(&data, root_key_file.as_deref())
        }
    };
    init_logging(log_json);
    let site = match site.open() {
        Ok(site) => site,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(options, site)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

struct Options {
    listen: SocketAddr,
    data: PathBuf,
    config: Option<PathBuf>,
    /// The TLS certificate chain and key files given on the command line.
    tls_files: Option<(PathBuf, PathBuf)>,
    root_key_file: Option<PathBuf>,
    ready_file: Option<PathBuf>,
    job_interval_secs: u64,
    demo_session: bool,
    audit_mode: AuditMode,
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Where the demo site comes from, as the command line says.
struct SiteChoice {
    www: Option<PathBuf>,
    pkg: Option<PathBuf>,
    off: bool,
}

impl SiteChoice {
    /// The site to serve: none with `--no-www`, or by default when `./www` is missing;
    /// an error when a named directory is missing.
    fn open(self) -> Result<Option<StaticSite>, String> {
        if self.off {
            return Ok(None);
        }
        let www = match self.www {
            Some(dir) => dir,
            None if Path::new("www").is_dir() => PathBuf::from("www"),
            None => return Ok(None),
        };
        let pkg = self.pkg.unwrap_or_else(|| StaticSite::sibling_pkg(&www));
        let site =
            StaticSite::new(&www, &pkg).map_err(|e| format!("cannot serve the demo: {e}"))?;
        tracing::info!(www = %www.display(), pkg = %pkg.display(), "serving the demo page at /");
        Ok(Some(site))
    }
}

async fn serve(options: Options, site: Option<StaticSite>) -> Result<(), String> {
    let config = match &options.config {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => {
            if !options.listen.ip().is_loopback() {
                return Err(format!(
                    "refusing to listen on {} with the built-in test credentials; pass --config to declare accounts",
                    options.listen
                ));
            }
            tracing::warn!(
                account = DEFAULT_ACCOUNT_ID,
                access_key_id = DEFAULT_ACCESS_KEY,
                "no --config given: one account {DEFAULT_ACCOUNT_ID} with access key '{DEFAULT_ACCESS_KEY}' / secret '{DEFAULT_ACCESS_KEY}', loopback only"
            );
            Config::default_local()
        }
    };
    let tls = match &options.tls_files {
        Some((cert, key)) => Some((cert.as_path(), key.as_path())),
        None => config.tls_files().map_err(|e| e.to_string())?,
    };
    let tls = match tls {
        Some((cert, key)) => {
            Some(TlsSettings::from_pem_files(cert, key).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let root_key = RootKeySource::choose(options.root_key_file.as_deref(), &options.data);
    if options.audit_mode == AuditMode::BenchmarkOnlyDisabled {
        tracing::warn!("BENCHMARK ONLY: the audit trail is off; calls leave no record");
    }
    let state = kms_server::open_sqlite_state_with(
        &options.data,
        &config,
        &root_key,
        Arc::new(SystemClock),
        options.audit_mode,
    )
    .await
    .map_err(|e| e.to_string())?;
    let demo = if options.demo_session {
        if !options.listen.ip().is_loopback() {
            return Err(format!(
                "refusing --demo-session on {}: anyone who reaches it gets credentials; loopback only",
                options.listen
            ));
        }
        let account = config.accounts.first().map(|a| a.id.clone()).unwrap_or_default();
        Some(DemoSession::prepare(&state, &account).await?)
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %bound, scheme, data = %options.data.display(), "kms-server listening");
    if let Some(path) = &options.ready_file {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bound.to_string())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    kms_server::launch_with_site(
        listener,
        tls,
        state,
        Duration::from_secs(options.job_interval_secs.max(1)),
        shutdown_signal(),
        site,
        demo,
    )
    .await
    .map_err(|e| e.to_string())?;
    tracing::info!("kms-server stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("interrupt received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// Runs `kms-server audit …`; the outcome goes to stdout, problems to stderr.
fn replication_key(data: &Path, root_key_file: Option<&Path>) -> ExitCode {
    let outcome = std::fs::create_dir_all(data)
        .map_err(|e| format!("cannot use data directory {}: {e}", data.display()))
        .and_then(|()| {
            let root_key = RootKeySource::choose(root_key_file, data);
            Keystore::open(&root_key).map_err(|e| e.to_string())
        })
        .and_then(|keystore| {
            kms_server::replication::Replication::new(&keystore, &[]).map_err(|e| e.to_string())
        })
        .and_then(|replication| replication.public_key().map_err(|e| e.to_string()));
    match outcome {
        Ok(public) => {
            println!("{}", kms_api::base64::encode(public));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("kms-server replication-key: {error}");
            ExitCode::FAILURE
        }
    }
}

fn audit_command(command: AuditCommand) -> ExitCode {
    let outcome = match command {
        AuditCommand::Verify { data, root_key_file } => {
            let root_key = RootKeySource::choose(root_key_file.as_deref(), &data);
            Keystore::open(&root_key)
                .map_err(|e| e.to_string())
                .and_then(|keystore| audit::verify(&data, &keystore).map_err(|e| e.to_string()))
                .map(|report| {
                    println!(
                        "audit trail verified: {} records, {} signed digests, {} records after the last digest",
                        report.records, report.digests, report.unsigned_tail
                    );
                })
        }
        AuditCommand::Export { data } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            audit::export(&data, &mut out).map(|_| ()).map_err(|e| e.to_string())
        }
        AuditCommand::Lookup {
            data,
            account,
            event_name,
            key_arn,
            principal_arn,
            start_ms,
            end_ms,
            limit,
        } => {
            let filter = audit::Filter {
                account,
                start_ms,
                end_ms,
                event_name,
                key_arn,
                principal_arn,
                ..audit::Filter::default()
            };
            audit::lookup_file(&data, &filter, limit)
                .map(|events| {
                    for event in events {
                        println!("{}", event.body);
                    }
                })
                .map_err(|e| e.to_string())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kms-server audit: {message}");
            ExitCode::FAILURE
        }
    }
}
