//! `kms-loadgen`: drives a KMS endpoint (kms-server, moto_server, ...) with SigV4-signed
//! `GenerateDataKey` or `Decrypt` calls and prints one JSON line of throughput and latency.
//!
//! Each of `--concurrency` workers owns one keep-alive HTTP/1.1 connection and has at most one
//! request in flight, so N requests are in flight at once. Every request is signed afresh.
//! Requests completing during `--warmup-secs` are not counted; the run then measures for
//! `--duration-secs` and stops. With `--rate R` the workers pace themselves to R requests per
//! second in total (open loop); a request sent late because its worker's previous one was slow
//! has its latency taken from its scheduled start, so a server that falls behind shows its
//! queueing delay instead of hiding it (no coordinated omission).
//!
//! `--op sign`, `verify` and `generate-data-key-pair` measure the asymmetric operations
//! (`--signing-algorithm`, `--key-pair-spec`).
//!
//! `--op create-key` creates one key (`--key-spec`, `--key-usage`; symmetric by default) and
//! prints its `KeyId` (for benchmark setup).

mod client;
mod stats;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hyper::body::Bytes;
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::client::{Connection, Reply, Target};
use crate::stats::{Summary, Tally};

/// How long a worker waits after a failed connect before trying again.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(10);
/// How much of an unexpected response body the first-error report shows.
const ERROR_BODY_SHOWN_BYTES: usize = 300;

#[derive(Parser, Debug)]
#[command(
    name = "kms-loadgen",
    version,
    about = "Drive a KMS endpoint with SigV4-signed requests; print throughput and latency as JSON"
)]
struct Cli {
    /// The endpoint, `http://host:port` or `https://host:port` (then `--ca-file` is needed).
    #[arg(long)]
    endpoint: String,
    /// PEM file of the CA certificates an `https://` endpoint's certificate must chain to.
    #[arg(long)]
    ca_file: Option<std::path::PathBuf>,
    /// The operation to measure (or `create-key` to create a key and print its KeyId).
    #[arg(long, value_enum)]
    op: Op,
    /// The key to use (KeyId, ARN or alias); required except for `create-key`.
    #[arg(long)]
    key_id: Option<String>,
    /// Access key id to sign with.
    #[arg(long, default_value = "test")]
    access_key: String,
    /// Secret access key to sign with.
    #[arg(long, default_value = "test")]
    secret_key: String,
    /// Region in the signing scope.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Requests in flight at once (one connection each).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Seconds to measure, after the warm-up.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    duration_secs: u64,
    /// Seconds to run before measuring.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=60))]
    warmup_secs: u64,
    /// Total requests per second to pace to (open loop); unpaced (closed loop) without it.
    #[arg(long)]
    rate: Option<f64>,
    /// Key spec for `create-key`.
    #[arg(long, default_value = "SYMMETRIC_DEFAULT")]
    key_spec: String,
    /// Key usage for `create-key` (default: AWS's default for the spec).
    #[arg(long)]
    key_usage: Option<String>,
    /// Signing algorithm for `sign` and `verify`.
    #[arg(long, default_value = "ECDSA_SHA_256")]
    signing_algorithm: String,
    /// Key pair spec for `generate-data-key-pair`.
    #[arg(long, default_value = "RSA_4096")]
    key_pair_spec: String,
    /// Runtime threads for the load generator itself.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Op {
    GenerateDataKey,
    Decrypt,
    Sign,
    Verify,
    GenerateDataKeyPair,
    CreateKey,
}

impl Op {
    /// The name on the command line and in the JSON result.
    fn name(self) -> &'static str {
        match self {
            Self::GenerateDataKey => "generate-data-key",
            Self::Decrypt => "decrypt",
            Self::Sign => "sign",
            Self::Verify => "verify",
            Self::GenerateDataKeyPair => "generate-data-key-pair",
            Self::CreateKey => "create-key",
        }
    }
}

/// Everything the workers share: what to send, where, and the time window.
struct Plan {
    target: Target,
    operation: &'static str,
    body: Bytes,
    concurrency: u16,
    start: Instant,
    measure_from: Instant,
    end: Instant,
    /// Time between one worker's requests under `--rate`.
    pace: Option<Duration>,
    error_reported: AtomicBool,
}

impl Plan {
    fn in_window(&self, t: Instant) -> bool {
        t >= self.measure_from && t < self.end
    }

    /// Prints the first failure of the run to stderr, so a broken setup is visible.
    fn report_first_error(&self, what: &str) {
        if !self.error_reported.swap(true, Ordering::Relaxed) {
            eprintln!("kms-loadgen: first error: {what}");
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let built = if cli.threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(cli.threads))
            .enable_all()
            .build()
    };
    let runtime = match built {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kms-loadgen: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("kms-loadgen: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command and returns the line to print.
async fn run(cli: Cli) -> Result<String, String> {
    let (authority, https) = client::parse_endpoint(&cli.endpoint)?;
    let tls = match (https, &cli.ca_file) {
        (true, Some(ca_file)) => {
            let host = authority.rsplit_once(':').map_or(authority.as_str(), |(host, _)| host);
            Some(client::tls_client(ca_file, host)?)
        }
        (true, None) => return Err("an https:// endpoint needs --ca-file".into()),
        (false, _) => None,
    };
    let target = Target {
        authority,
        access_key_id: cli.access_key.clone(),
        secret_access_key: cli.secret_key.clone(),
        region: cli.region.clone(),
        tls,
    };
    if cli.op == Op::CreateKey {
        let mut input = json!({"KeySpec": cli.key_spec});
        if let Some(usage) = &cli.key_usage {
            input["KeyUsage"] = json!(usage);
        }
        let reply = call_once(&target, "CreateKey", Bytes::from(input.to_string())).await?;
        return string_field(&reply, &["KeyMetadata", "KeyId"]);
    }
    let key_id = cli.key_id.clone().ok_or("--key-id is required for this --op")?;
    let gdk_body = Bytes::from(json!({"KeyId": key_id, "KeySpec": "AES_256"}).to_string());
    let (operation, body) = match cli.op {
        Op::Decrypt => {
            let reply = call_once(&target, "GenerateDataKey", gdk_body).await?;
            let blob = string_field(&reply, &["CiphertextBlob"])?;
            ("Decrypt", Bytes::from(json!({"CiphertextBlob": blob, "KeyId": key_id}).to_string()))
        }
        Op::Sign => ("Sign", Bytes::from(sign_input(&key_id, &cli.signing_algorithm).to_string())),
        Op::Verify => {
            let mut input = sign_input(&key_id, &cli.signing_algorithm);
            let reply = call_once(&target, "Sign", Bytes::from(input.to_string())).await?;
            input["Signature"] = json!(string_field(&reply, &["Signature"])?);
            ("Verify", Bytes::from(input.to_string()))
        }
        Op::GenerateDataKeyPair => {
            let input = json!({"KeyId": key_id, "KeyPairSpec": cli.key_pair_spec});
            ("GenerateDataKeyPair", Bytes::from(input.to_string()))
        }
        Op::GenerateDataKey | Op::CreateKey => ("GenerateDataKey", gdk_body),
    };
    // One probe call, so a wrong key or credential fails here with the server's message.
    call_once(&target, operation, body.clone()).await?;

    let pace = match cli.rate {
        None => None,
        Some(r) if r.is_finite() && r > 0.0 => {
            Some(Duration::from_secs_f64(f64::from(cli.concurrency) / r))
        }
        Some(r) => return Err(format!("--rate must be a positive number, not {r}")),
    };
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(cli.warmup_secs);
    let plan = Arc::new(Plan {
        target,
        operation,
        body,
        concurrency: cli.concurrency,
        start,
        measure_from,
        end: measure_from + Duration::from_secs(cli.duration_secs),
        pace,
        error_reported: AtomicBool::new(false),
    });
    let workers: Vec<_> =
        (0..cli.concurrency).map(|i| tokio::spawn(worker(Arc::clone(&plan), i))).collect();
    let mut tallies = Vec::with_capacity(workers.len());
    for w in workers {
        tallies.push(w.await.map_err(|e| format!("a worker failed: {e}"))?);
    }
    let summary = Summary::merge(tallies);
    Ok(result_line(&cli, &summary))
}

/// One worker: one connection, one request at a time, until the window ends.
async fn worker(plan: Arc<Plan>, index: u16) -> Tally {
    let mut tally = Tally::default();
    let mut conn: Option<Connection> = None;
    // Under --rate, stagger the workers evenly across one pace interval.
    let mut due = plan.start
        + plan
            .pace
            .map_or(Duration::ZERO, |p| p.mul_f64(f64::from(index) / f64::from(plan.concurrency)));
    loop {
        let sent_at = match plan.pace {
            Some(pace) => {
                let scheduled = due;
                due += pace;
                if Instant::now() >= scheduled {
                    // Behind schedule because the server is slow: count the wait as latency.
                    scheduled
                } else {
                    // On schedule: time from the actual wake-up, so the timer's millisecond
                    // granularity is not counted against the server.
                    tokio::time::sleep_until(scheduled.into()).await;
                    Instant::now()
                }
            }
            None => Instant::now(),
        };
        if sent_at >= plan.end {
            break;
        }
        let mut open = match conn.take().filter(|c| !c.is_closed()) {
            Some(c) => c,
            None => match Connection::open(&plan.target).await {
                Ok(c) => c,
                Err(e) => {
                    if plan.in_window(Instant::now()) {
                        tally.errors += 1;
                    }
                    plan.report_first_error(&e.to_string());
                    tokio::time::sleep(RECONNECT_BACKOFF).await;
                    continue;
                }
            },
        };
        let outcome = open.call(&plan.target, plan.operation, &plan.body).await;
        let done = Instant::now();
        let counted = plan.in_window(done);
        match outcome {
            Ok(reply) => {
                conn = Some(open);
                if reply.status == StatusCode::OK {
                    if counted {
                        tally.ok(done - sent_at);
                    }
                } else {
                    if counted {
                        tally.errors += 1;
                    }
                    plan.report_first_error(&describe(&reply));
                }
            }
            Err(e) => {
                if counted {
                    tally.errors += 1;
                }
                plan.report_first_error(&e.to_string());
            }
        }
        if done >= plan.end {
            break;
        }
    }
    tally
}

/// A `Sign` input over a fixed message (`kms-loadgen: the fixed benchmark message`).
fn sign_input(key_id: &str, algorithm: &str) -> Value {
    const MESSAGE_BASE64: &str = "a21zLWxvYWRnZW46IHRoZSBmaXhlZCBiZW5jaG1hcmsgbWVzc2FnZQ==";
    json!({"KeyId": key_id, "Message": MESSAGE_BASE64, "SigningAlgorithm": algorithm})
}

/// Calls `operation` once on a new connection and returns the reply, or an error naming the
/// status and body.
async fn call_once(target: &Target, operation: &str, body: Bytes) -> Result<Reply, String> {
    let mut conn = Connection::open(target).await.map_err(|e| e.to_string())?;
    let reply = conn.call(target, operation, &body).await.map_err(|e| e.to_string())?;
    if reply.status == StatusCode::OK {
        Ok(reply)
    } else {
        Err(format!("{operation}: {}", describe(&reply)))
    }
}

/// `HTTP <status>: <start of body>`.
fn describe(reply: &Reply) -> String {
    let shown = reply.body.get(..ERROR_BODY_SHOWN_BYTES).unwrap_or(&reply.body);
    format!("HTTP {}: {}", reply.status, String::from_utf8_lossy(shown))
}

/// The string at `path` in a JSON reply body.
fn string_field(reply: &Reply, path: &[&str]) -> Result<String, String> {
    let value: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| format!("reply is not JSON ({e}): {}", describe(reply)))?;
    let found = path.iter().try_fold(&value, |v, key| v.get(key));
    found
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("reply has no string {}: {}", path.join("."), describe(reply)))
}

/// The one-line JSON result, fields in a fixed order (`json!` would sort them).
fn result_line(cli: &Cli, summary: &Summary) -> String {
    let seconds = cli.duration_secs as f64;
    let rps = summary.requests as f64 / seconds;
    let target = cli.rate.map(|r| format!(",\"target_rps\":{r:.1}")).unwrap_or_default();
    format!(
        "{{\"op\":\"{}\",\"concurrency\":{},\"requests\":{},\"errors\":{},\"seconds\":{seconds:.1},\
         \"rps\":{rps:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3}{target}}}",
        cli.op.name(),
        cli.concurrency,
        summary.requests,
        summary.errors,
        summary.p50_ms,
        summary.p99_ms,
    )
}
