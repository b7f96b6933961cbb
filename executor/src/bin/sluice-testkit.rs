//! Test tools for Sluice's integration tests, fault suite and benchmarks:
//!
//! - `mock-kafka`: librdkafka's mock cluster in its own process (so an executor can be killed
//!   alone), with a control socket for broker faults.
//! - `produce`: deterministic stock ticks with unique ids.
//! - `verify`: the oracle — reads a whole sink and compares it with what the test job should
//!   have produced: missing, duplicated, unexpected ids, wrong partitions; with the S3
//!   proxy's log, also whether any object was ever replaced by one with fewer rows.
//! - `s3-proxy`: a fault-injecting proxy in front of an S3 server (see `testkit/s3_proxy.rs`).
//! - `dead-letters`: reads a dead-letter path and checks it against the poison records.

use std::collections::HashMap;
use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
use sluice_executor::ticks::Ticks;

#[path = "testkit/s3_proxy.rs"]
mod s3_proxy;

#[derive(Parser)]
#[command(name = "sluice-testkit", about = "Test tools for Sluice")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a mock Kafka cluster until killed; prints its bootstrap servers.
    MockKafka {
        /// Topics to create, as NAME:PARTITIONS.
        #[arg(long = "topic", required = true)]
        topics: Vec<String>,
        /// Brokers.
        #[arg(long, default_value_t = 1)]
        brokers: i32,
        /// Write the bootstrap servers to this file once ready.
        #[arg(long)]
        ready_file: Option<PathBuf>,
        /// Accept fault commands on this Unix socket (one per line: `broker-down ID`,
        /// `broker-up ID`, `rtt ID MILLIS`, `coordinator GROUP BROKER`,
        /// `leader TOPIC PARTITION BROKER`, `request-errors API ERROR COUNT` with API one of
        /// Fetch, Produce, OffsetCommit, OffsetFetch, Heartbeat, JoinGroup, SyncGroup,
        /// Metadata, FindCoordinator, ListOffsets and ERROR one of NOT_COORDINATOR,
        /// COORDINATOR_NOT_AVAILABLE, NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT,
        /// REBALANCE_IN_PROGRESS, TRANSPORT).
        #[arg(long)]
        control: Option<PathBuf>,
    },
    /// Produces ticks with ids `start..start+count`, partition = id mod partitions.
    Produce {
        /// Bootstrap servers.
        #[arg(long)]
        bootstrap: String,
        /// Topic.
        #[arg(long, default_value = "stock-ticks")]
        topic: String,
        /// Records.
        #[arg(long)]
        count: u64,
        /// First id.
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Seed of the tick generator (the oracle regenerates with it).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Ticker symbols.
        #[arg(long, default_value_t = 20)]
        tickers: usize,
        /// Average milliseconds of event time between ticks.
        #[arg(long, default_value_t = 50)]
        step_ms: i64,
        /// Records per second (0 = as fast as possible).
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Every Nth record is poison (0 = none).
        #[arg(long, default_value_t = 0)]
        poison_every: u64,
        /// What a poison record is: `malformed` JSON, a `wrong-type` field, or `mixed`
        /// (alternating).
        #[arg(long, default_value = "malformed")]
        poison_kind: String,
        /// Send every record to this partition (default: id mod partitions).
        #[arg(long)]
        partition: Option<i32>,
        /// Override every record's price (e.g. 1 so that the test job filters them all).
        #[arg(long)]
        price: Option<f64>,
        /// The producer's `linger.ms`: with `--rate`, a longer linger packs more records in a
        /// batch (the mock broker's 5 MiB a partition then holds more of them).
        #[arg(long, default_value_t = 5)]
        linger_ms: u64,
        /// Record values as `json` objects or `csv` lines (`id,event_time,ticker,price`).
        #[arg(long, default_value = "json")]
        value_format: String,
    },
    /// A fault-injecting proxy in front of an S3 server; prints its URL. Commands on the
    /// control socket, one per line: `errors RATE`, `ambiguous RATE`, `delay MILLIS`,
    /// `outage SECONDS`, `fail OP KEY-SUBSTRING STATUS SECONDS`, `clear`.
    S3Proxy {
        /// The S3 server, http://HOST:PORT.
        #[arg(long)]
        upstream: String,
        /// Port (0 = any free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Write the URL here once listening.
        #[arg(long)]
        ready_file: Option<PathBuf>,
        /// Unix socket for fault commands.
        #[arg(long)]
        control: Option<PathBuf>,
        /// Log every request here, one JSON line each.
        #[arg(long)]
        log: PathBuf,
    },
    /// Reads a dead-letter path (directory or s3://bucket/prefix) and checks that it holds
    /// every poison record of a `produce --poison-every N` run of `count` ids exactly once,
    /// with topic, partition, offset, value and error. Prints a JSON report.
    DeadLetters {
        /// The dead-letter path.
        #[arg(long)]
        path: String,
        /// S3 endpoint.
        #[arg(long)]
        s3_endpoint: Option<String>,
        /// Ids produced: `0..count`.
        #[arg(long)]
        count: u64,
        /// Every Nth record was poison.
        #[arg(long)]
        poison_every: u64,
        /// Partitions of the topic (ids went to id mod partitions, in order).
        #[arg(long)]
        partitions: u64,
    },
    /// Consumes a topic with a bare librdkafka consumer until `count` records: the baseline
    /// the benchmark compares the executor with. Prints JSON timings.
    Consume {
        /// Bootstrap servers.
        #[arg(long)]
        bootstrap: String,
        /// Topic.
        #[arg(long, default_value = "stock-ticks")]
        topic: String,
        /// Records to consume.
        #[arg(long)]
        count: u64,
        /// Consumer group.
        #[arg(long, default_value = "bare-consumer")]
        group: String,
    },
    /// The benchmark: produces `records` ticks to a mock Kafka broker (own process), then
    /// consumes them with a bare librdkafka consumer and with `sluice run` (the seed job into
    /// S3 on moto, or a directory), each in its own process, and prints rates, CPU per record,
    /// peak RSS and the ratio.
    Bench {
        /// Records.
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// Topic partitions (the mock broker keeps at most 100,000 records / 5 MiB each).
        #[arg(long, default_value_t = 16)]
        partitions: i32,
        /// Ticker symbols (output partitions ≈ tickers × hours).
        #[arg(long, default_value_t = 20)]
        tickers: usize,
        /// Average ms of event time between ticks.
        #[arg(long, default_value_t = 50)]
        step_ms: i64,
        /// `s3` (moto, started with the rig script) or `file`.
        #[arg(long, default_value = "s3")]
        sink: String,
        /// The executor's memory budget (`--memory-budget` of the job), e.g. 96Mi.
        #[arg(long)]
        memory_budget: Option<String>,
        /// Check the sink with the oracle afterwards.
        #[arg(long)]
        verify: bool,
    },
    /// Checks a sink written by the test job (`INSERT INTO sink SELECT id, event_time, ticker,
    /// price, DATE_FORMAT(event_time,'yyyy-MM-dd'), DATE_FORMAT(event_time,'HH') ... WHERE
    /// price > 10`, partitioned by ticker, dt, hr) against the ticks of ids `0..count`.
    Verify {
        /// The sink: a directory, or s3://bucket/prefix (with --s3-endpoint).
        #[arg(long)]
        sink: String,
        /// S3 endpoint.
        #[arg(long)]
        s3_endpoint: Option<String>,
        /// Ids produced: `0..count`.
        #[arg(long)]
        count: u64,
        /// The first id the job should have read (`scan.startup.mode: latest-offset` after
        /// ids `0..from` were produced): earlier ids are `unexpected` in the sink.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Seed used by `produce`.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Tickers used by `produce`.
        #[arg(long, default_value_t = 20)]
        tickers: usize,
        /// Step used by `produce`.
        #[arg(long, default_value_t = 50)]
        step_ms: i64,
        /// Every Nth record was poison (skipped by the job).
        #[arg(long, default_value_t = 0)]
        poison_every: u64,
        /// The S3 proxy's request log: also report objects written more than once
        /// (`rewritten`) and objects replaced by one with fewer rows (`shrunk`).
        #[arg(long)]
        proxy_log: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::MockKafka {
            topics,
            brokers,
            ready_file,
            control,
        } => mock_kafka(&topics, brokers, ready_file, control),
        Command::Produce {
            bootstrap,
            topic,
            count,
            start,
            seed,
            tickers,
            step_ms,
            rate,
            poison_every,
            poison_kind,
            partition,
            price,
            linger_ms,
            value_format,
        } => produce(
            &bootstrap,
            &topic,
            Range { start, count },
            Generator {
                seed,
                tickers,
                step_ms,
            },
            (rate, linger_ms),
            Shape {
                poison_every,
                poison_kind,
                partition,
                price,
                csv: value_format == "csv",
            },
        ),
        Command::S3Proxy {
            upstream,
            port,
            ready_file,
            control,
            log,
        } => s3_proxy::run(&upstream, port, ready_file, control, &log),
        Command::DeadLetters {
            path,
            s3_endpoint,
            count,
            poison_every,
            partitions,
        } => dead_letters(
            &path,
            s3_endpoint.as_deref(),
            count,
            poison_every,
            partitions,
        ),
        Command::Consume {
            bootstrap,
            topic,
            count,
            group,
        } => consume(&bootstrap, &topic, count, &group),
        Command::Bench {
            records,
            partitions,
            tickers,
            step_ms,
            sink,
            memory_budget,
            verify,
        } => bench(
            records,
            partitions,
            tickers,
            step_ms,
            &sink,
            memory_budget.as_deref(),
            verify,
        ),
        Command::Verify {
            sink,
            s3_endpoint,
            count,
            from,
            seed,
            tickers,
            step_ms,
            poison_every,
            proxy_log,
        } => verify(
            &sink,
            s3_endpoint.as_deref(),
            from..count,
            seed,
            tickers,
            step_ms,
            poison_every,
            proxy_log.as_deref(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sluice-testkit: {e}");
            ExitCode::FAILURE
        }
    }
}

fn mock_kafka(
    topics: &[String],
    brokers: i32,
    ready_file: Option<PathBuf>,
    control: Option<PathBuf>,
) -> Result<(), String> {
    let kafka = sluice_executor::mock_kafka::MockKafka::start(brokers)?;
    let cluster = kafka.cluster();
    for t in topics {
        let (name, partitions) = t
            .split_once(':')
            .ok_or_else(|| format!("--topic {t}: expected NAME:PARTITIONS"))?;
        let partitions: i32 = partitions
            .parse()
            .map_err(|_| format!("--topic {t}: bad partition count"))?;
        cluster
            .create_topic(name, partitions, 1)
            .map_err(|e| format!("cannot create {name}: {e}"))?;
    }
    let bootstrap = cluster.bootstrap_servers();
    println!("{bootstrap}");
    let _ = std::io::stdout().flush();
    if let Some(f) = &ready_file {
        let tmp = f.with_extension("tmp");
        std::fs::write(&tmp, &bootstrap)
            .and_then(|()| std::fs::rename(&tmp, f))
            .map_err(|e| format!("cannot write {}: {e}", f.display()))?;
    }
    match control {
        None => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
        Some(path) => {
            let _ = std::fs::remove_file(&path);
            let listener = std::os::unix::net::UnixListener::bind(&path)
                .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
            for conn in listener.incoming().flatten() {
                let mut reader = std::io::BufReader::new(&conn);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let words: Vec<&str> = line.split_whitespace().collect();
                let reply = match words.as_slice() {
                    ["broker-down", id] => id
                        .parse()
                        .map_err(|_| "bad id".to_owned())
                        .and_then(|id| cluster.broker_down(id).map_err(|e| e.to_string())),
                    ["broker-up", id] => id
                        .parse()
                        .map_err(|_| "bad id".to_owned())
                        .and_then(|id| cluster.broker_up(id).map_err(|e| e.to_string())),
                    ["rtt", id, ms] => match (id.parse(), ms.parse()) {
                        (Ok(id), Ok(ms)) => cluster
                            .broker_round_trip_time(id, Duration::from_millis(ms))
                            .map_err(|e| e.to_string()),
                        _ => Err("usage: rtt ID MILLIS".to_owned()),
                    },
                    ["coordinator", group, broker] => match broker.parse() {
                        Ok(b) => cluster
                            .coordinator(
                                rdkafka::mocking::MockCoordinator::Group((*group).to_owned()),
                                b,
                            )
                            .map_err(|e| e.to_string()),
                        Err(_) => Err("bad broker id".to_owned()),
                    },
                    ["leader", topic, partition, broker] => {
                        match (partition.parse(), broker.parse()) {
                            (Ok(p), Ok(b)) => cluster
                                .partition_leader(topic, p, Some(b))
                                .map_err(|e| e.to_string()),
                            _ => Err("usage: leader TOPIC PARTITION BROKER".to_owned()),
                        }
                    }
                    ["request-errors", api, error, count] => {
                        match (api_key(api), error_code(error), count.parse::<usize>()) {
                            (Some(api), Some(error), Ok(n)) => {
                                cluster.request_errors(api, &vec![error; n]);
                                Ok(())
                            }
                            _ => Err("usage: request-errors API ERROR COUNT".to_owned()),
                        }
                    }
                    _ => Err(format!("unknown command {line:?}")),
                };
                let mut w = &conn;
                let _ = writeln!(
                    w,
                    "{}",
                    match reply {
                        Ok(()) => "ok".to_owned(),
                        Err(e) => format!("error {e}"),
                    }
                );
            }
            Ok(())
        }
    }
}

fn api_key(name: &str) -> Option<rdkafka::types::RDKafkaApiKey> {
    use rdkafka::types::RDKafkaApiKey as K;
    Some(match name {
        "Fetch" => K::Fetch,
        "Produce" => K::Produce,
        "OffsetCommit" => K::OffsetCommit,
        "OffsetFetch" => K::OffsetFetch,
        "Heartbeat" => K::Heartbeat,
        "JoinGroup" => K::JoinGroup,
        "SyncGroup" => K::SyncGroup,
        "Metadata" => K::Metadata,
        "FindCoordinator" => K::FindCoordinator,
        "ListOffsets" => K::ListOffsets,
        _ => return None,
    })
}

fn error_code(name: &str) -> Option<rdkafka::types::RDKafkaRespErr> {
    use rdkafka::types::RDKafkaRespErr as E;
    Some(match name {
        "NOT_COORDINATOR" => E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        "COORDINATOR_NOT_AVAILABLE" => E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        "NOT_LEADER_FOR_PARTITION" => E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        "REQUEST_TIMED_OUT" => E::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        "REBALANCE_IN_PROGRESS" => E::RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        "TRANSPORT" => E::RD_KAFKA_RESP_ERR__TRANSPORT,
        _ => return None,
    })
}

/// Ids `start..start+count`.
struct Range {
    start: u64,
    count: u64,
}

/// The tick generator's parameters (the oracle regenerates with them).
struct Generator {
    seed: u64,
    tickers: usize,
    step_ms: i64,
}

/// What is special about the produced records.
struct Shape {
    poison_every: u64,
    poison_kind: String,
    partition: Option<i32>,
    price: Option<f64>,
    /// CSV values (`id,event_time,ticker,price`) instead of JSON objects.
    csv: bool,
}

/// A tick (or poison record) as the CSV line `id,event_time,ticker,price`: a JSON tick's
/// fields in that order; a malformed record keeps its bad event time and lacks a price, a
/// wrong-type one has the price `twelve`.
fn csv_value(json: &[u8]) -> Result<Vec<u8>, String> {
    let text = String::from_utf8_lossy(json);
    let v: serde_json::Value = match serde_json::from_slice(json) {
        Ok(v) => v,
        Err(_) => {
            let id = text
                .split(|c: char| !c.is_ascii_digit())
                .find(|s| !s.is_empty())
                .unwrap_or("0");
            return Ok(format!("{id},not a time,XX").into_bytes());
        }
    };
    let field = |k: &str| match &v[k] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(format!(
        "{},{},{},{}",
        field("id"),
        field("event_time"),
        field("ticker"),
        field("price")
    )
    .into_bytes())
}

fn produce(
    bootstrap: &str,
    topic: &str,
    range: Range,
    generator: Generator,
    (rate, linger_ms): (u64, u64),
    shape: Shape,
) -> Result<(), String> {
    let Range { start, count } = range;
    let Generator {
        seed,
        tickers,
        step_ms,
    } = generator;
    let poison_every = shape.poison_every;
    if !["malformed", "wrong-type", "mixed"].contains(&shape.poison_kind.as_str()) {
        return Err(format!(
            "--poison-kind {}: expected malformed, wrong-type or mixed",
            shape.poison_kind
        ));
    }
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", linger_ms.to_string())
        .set("queue.buffering.max.messages", "1000000")
        .set("enable.idempotence", "true")
        .create()
        .map_err(|e| e.to_string())?;
    let partitions = {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .create()
            .map_err(|e| e.to_string())?;
        let md = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .map_err(|e| format!("cannot read metadata of {topic}: {e}"))?;
        md.topics().first().map_or(0, |t| t.partitions().len()) as u64
    };
    if partitions == 0 {
        return Err(format!("topic {topic} has no partitions"));
    }
    // Ticks for ids before `start` are generated and discarded so that ids map to the same
    // ticks whatever the batching.
    let mut ticks = Ticks::new(seed, tickers, step_ms);
    let mut buf = Vec::with_capacity(128);
    for id in 0..start {
        buf.clear();
        ticks.next_into(id, &mut buf);
    }
    let began = Instant::now();
    for id in start..start + count {
        buf.clear();
        let i = ticks.next_into(id, &mut buf);
        if let Some(price) = shape.price {
            let v: serde_json::Value = serde_json::from_slice(&buf).map_err(|e| e.to_string())?;
            let mut v = v;
            v["price"] = serde_json::json!(price);
            buf = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
        }
        if poison_every > 0 && id % poison_every == poison_every - 1 {
            let wrong_type = match shape.poison_kind.as_str() {
                "wrong-type" => true,
                "mixed" => (id / poison_every) % 2 == 1,
                _ => false,
            };
            buf.clear();
            if wrong_type {
                // Valid JSON, but the price is not a number.
                buf.extend_from_slice(
                    format!("{{\"id\":{id},\"event_time\":\"2024-01-01 00:00:00.000\",\"ticker\":\"XX\",\"price\":\"twelve\"}}").as_bytes(),
                );
            } else {
                buf.extend_from_slice(
                    format!("{{\"id\":{id},\"event_time\":\"not a time\",\"ticker\":").as_bytes(),
                );
            }
        }
        if shape.csv {
            buf = csv_value(&buf)?;
        }
        let key = ticks.ticker(i).to_owned();
        let partition = shape.partition.unwrap_or((id % partitions) as i32);
        loop {
            match producer.send(
                BaseRecord::to(topic)
                    .key(&key)
                    .payload(&buf)
                    .partition(partition),
            ) {
                Ok(()) => break,
                Err((_, _)) => producer.poll(Duration::from_millis(5)),
            }
        }
        if id % 1000 == 0 {
            producer.poll(Duration::ZERO);
        }
        if rate > 0 {
            let due = began + Duration::from_secs_f64((id - start + 1) as f64 / rate as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
    producer
        .flush(Duration::from_secs(60))
        .map_err(|e| format!("flush: {e}"))?;
    println!("{count}");
    Ok(())
}

fn consume(bootstrap: &str, topic: &str, count: u64, group: &str) -> Result<(), String> {
    use rdkafka::Message as _;
    let started = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| e.to_string())?;
    consumer.subscribe(&[topic]).map_err(|e| e.to_string())?;
    let (mut n, mut bytes) = (0u64, 0u64);
    let mut first = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while n < count && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            first.get_or_insert_with(Instant::now);
            n += 1;
            bytes += m.payload().map_or(0, |p| p.len() as u64);
        }
    }
    let first = first.unwrap_or(started);
    let seconds = first.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"records": n, "bytes": bytes, "seconds_first_to_last": seconds, "seconds_total": started.elapsed().as_secs_f64(), "seconds_to_first_record": first.duration_since(started).as_secs_f64()})
    );
    if n < count {
        Err(format!("consumed {n} of {count} records"))
    } else {
        Ok(())
    }
}

/// CPU seconds (user + system) and peak RSS (KiB) of waited-for children so far.
fn children_usage() -> (f64, i64) {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(u.ru_utime) + secs(u.ru_stime), u.ru_maxrss)
}

/// Runs a child to completion; returns its stdout, CPU seconds and peak RSS (KiB).
fn measured(cmd: &mut std::process::Command) -> Result<(String, f64, i64), String> {
    let (cpu0, _) = children_usage();
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let (cpu1, rss) = children_usage();
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        cpu1 - cpu0,
        rss,
    ))
}

#[allow(clippy::too_many_arguments)]
fn bench(
    records: u64,
    partitions: i32,
    tickers: usize,
    step_ms: i64,
    sink: &str,
    memory_budget: Option<&str>,
    verify_sink: bool,
) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let sluice = me.with_file_name("sluice");
    let repo = std::env::var("SLUICE_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("."));
    // The broker, in its own process.
    let ready = dir.path().join("bootstrap");
    let mut broker = std::process::Command::new(&me)
        .args([
            "mock-kafka",
            "--topic",
            &format!("stock-ticks:{partitions}"),
            "--ready-file",
        ])
        .arg(&ready)
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let bootstrap =
        std::fs::read_to_string(&ready).map_err(|_| "the mock broker did not start".to_owned())?;
    let result = (|| {
        eprintln!("bench: producing {records} ticks to {partitions} partitions ...");
        let t = Instant::now();
        produce(
            &bootstrap,
            "stock-ticks",
            Range {
                start: 0,
                count: records,
            },
            Generator {
                seed: 42,
                tickers,
                step_ms,
            },
            (0, 5),
            Shape {
                poison_every: 0,
                poison_kind: "malformed".to_owned(),
                partition: None,
                price: None,
                csv: false,
            },
        )?;
        eprintln!("bench: produced in {:.1} s", t.elapsed().as_secs_f64());
        // The baseline.
        let (out, bare_cpu, bare_rss) = measured(std::process::Command::new(&me).args([
            "consume",
            "--bootstrap",
            &bootstrap,
            "--topic",
            "stock-ticks",
            "--count",
            &records.to_string(),
        ]))?;
        let bare: serde_json::Value =
            serde_json::from_str(out.trim()).map_err(|e| e.to_string())?;
        // The executor.
        let (path, s3_options, endpoint) = if sink == "s3" {
            let out = std::process::Command::new(repo.join("e2e/rig/moto.sh"))
                .arg("start")
                .arg(dir.path().join("moto"))
                .output()
                .map_err(|e| {
                    format!("moto.sh: {e} (run from the repository root or set SLUICE_REPO)")
                })?;
            if !out.status.success() {
                return Err(format!(
                    "moto.sh start failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let endpoint = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            create_bucket(&endpoint, "bench")?;
            (
                "s3://bench/stock-ticks".to_owned(),
                format!("    s3.endpoint: \"{endpoint}\"\n    s3.path.style.access: \"true\"\n"),
                Some(endpoint),
            )
        } else {
            (
                format!("file://{}/lake", dir.path().display()),
                String::new(),
                None,
            )
        };
        let budget = memory_budget
            .map(|b| format!("  executor: {{memoryBudget: {b}}}\n"))
            .unwrap_or_default();
        let job = format!(
            "apiVersion: sluice.dev/v1alpha1\nkind: StreamingTable\nmetadata: {{name: stock-ticks}}\nspec:\n  connector: kafka\n  format: json\n  columns:\n    - {{name: id, type: BIGINT}}\n    - {{name: event_time, type: TIMESTAMP(3)}}\n    - {{name: ticker, type: STRING}}\n    - {{name: price, type: DOUBLE}}\n  options:\n    topic: stock-ticks\n    properties.bootstrap.servers: \"{bootstrap}\"\n    properties.group.id: bench\n    scan.startup.mode: earliest-offset\n---\napiVersion: sluice.dev/v1alpha1\nkind: StreamingTable\nmetadata: {{name: sink-table}}\nspec:\n  connector: filesystem\n  format: json\n  columns:\n    - {{name: id, type: BIGINT}}\n    - {{name: event_time, type: TIMESTAMP(3)}}\n    - {{name: ticker, type: STRING}}\n    - {{name: price, type: DOUBLE}}\n    - {{name: dt, type: STRING}}\n    - {{name: hr, type: STRING}}\n  partitionedBy: [ticker, dt, hr]\n  options:\n    path: {path}\n    sink.rolling-policy.file-size: 128MB\n    sink.rolling-policy.rollover-interval: 15min\n    sink.rolling-policy.inactivity-interval: 1min\n{s3_options}---\napiVersion: sluice.dev/v1alpha1\nkind: StreamingJob\nmetadata: {{name: bench}}\nspec:\n{budget}  sql: |\n    INSERT INTO sink_table\n    SELECT id, event_time, ticker, price, DATE_FORMAT(event_time, 'yyyy-MM-dd'), DATE_FORMAT(event_time, 'HH')\n    FROM stock_ticks\n    WHERE price > 10\n"
        );
        let job_file = dir.path().join("bench.yaml");
        std::fs::write(&job_file, job).map_err(|e| e.to_string())?;
        let report_file = dir.path().join("report.json");
        let (_, cpu, rss) = measured(
            std::process::Command::new(&sluice)
                .args(["run", "-f"])
                .arg(&job_file)
                .args(["--until-idle", "2s", "--metrics-port", "0", "--report"])
                .arg(&report_file)
                .env("AWS_ACCESS_KEY_ID", "bench")
                .env("AWS_SECRET_ACCESS_KEY", "bench")
                .env("AWS_REGION", "us-east-1")
                .env("SLUICE_LOG", "warn"),
        )?;
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&report_file).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(0.0);
        let bare_secs = f(&bare, "seconds_first_to_last");
        let bare_rate = records as f64 / bare_secs;
        let mb = f(&bare, "bytes") / 1e6;
        let sluice_secs =
            f(&report, "seconds_to_last_record") - f(&report, "seconds_to_first_record");
        let sluice_rate = f(&report, "records_in") / sluice_secs;
        let summary = serde_json::json!({
            "records": records,
            "partitions": partitions,
            "tickers": tickers,
            "sink": sink,
            "bare_records_per_s": bare_rate.round(),
            "bare_mb_per_s": (mb / bare_secs * 10.0).round() / 10.0,
            "bare_cpu_us_per_record": (bare_cpu / records as f64 * 1e6 * 100.0).round() / 100.0,
            "bare_peak_rss_mib": bare_rss / 1024,
            "sluice_records_per_s": sluice_rate.round(),
            "sluice_mb_per_s": (mb / sluice_secs * 10.0).round() / 10.0,
            "sluice_cpu_us_per_record": (cpu / records as f64 * 1e6 * 100.0).round() / 100.0,
            "sluice_peak_rss_mib": rss / 1024,
            "ratio_to_bare": (sluice_rate / bare_rate * 1000.0).round() / 1000.0,
            "sluice_seconds_to_first_record": f(&report, "seconds_to_first_record"),
            "sluice_seconds_end_to_end": f(&report, "seconds_total"),
            "files_written": report["files_written"],
            "bytes_written": report["bytes_written"],
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
        eprintln!(
            "bench: bare consume {bare_rate:.0} rec/s; sluice {sluice_rate:.0} rec/s ({:.0}% of bare), {:.2} CPU µs/record, peak RSS {} MiB",
            sluice_rate / bare_rate * 100.0,
            cpu / records as f64 * 1e6,
            rss / 1024
        );
        if verify_sink {
            verify(
                &path,
                endpoint.as_deref(),
                0..records,
                42,
                tickers,
                step_ms,
                0,
                None,
            )?;
        }
        if endpoint.is_some() {
            let _ = std::process::Command::new(repo.join("e2e/rig/moto.sh"))
                .arg("stop")
                .arg(dir.path().join("moto"))
                .output();
        }
        Ok(())
    })();
    let _ = broker.kill();
    let _ = broker.wait();
    result
}

fn create_bucket(endpoint: &str, bucket: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let shared = sluice_executor::connector::filesystem::store::s3::aws_defaults()
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "bench", "bench", None, None, "bench",
            ))
            .load()
            .await;
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&shared)
                .force_path_style(true)
                .build(),
        );
        client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "create bucket: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })
    })
}

/// What the test job should write for one tick.
struct Expected {
    dir: String,
}

#[allow(clippy::too_many_arguments)]
fn verify(
    sink: &str,
    s3_endpoint: Option<&str>,
    ids: std::ops::Range<u64>,
    seed: u64,
    tickers: usize,
    step_ms: i64,
    poison_every: u64,
    proxy_log: Option<&std::path::Path>,
) -> Result<(), String> {
    // Regenerate the ticks and apply the statement by hand.
    let mut ticks = Ticks::new(seed, tickers, step_ms);
    let mut expected: HashMap<u64, Expected> = HashMap::new();
    let mut buf = Vec::new();
    for id in 0..ids.end {
        buf.clear();
        ticks.next_into(id, &mut buf);
        if id < ids.start || (poison_every > 0 && id % poison_every == poison_every - 1) {
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&buf).map_err(|e| e.to_string())?;
        let price = v["price"].as_f64().unwrap_or(0.0);
        if price > 10.0 {
            let t = v["event_time"].as_str().unwrap_or("");
            let dir = format!(
                "ticker={}/dt={}/hr={}",
                v["ticker"].as_str().unwrap_or(""),
                &t[..10],
                &t[11..13]
            );
            expected.insert(id, Expected { dir });
        }
    }
    let files = read_sink(sink, s3_endpoint)?;
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let (mut unexpected, mut misplaced, mut rows) = (0u64, 0u64, 0u64);
    for (path, text) in &files {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        for line in text.lines() {
            rows += 1;
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("{path}: bad line {line:?}: {e}"))?;
            let Some(id) = v["id"].as_u64() else {
                return Err(format!("{path}: a row without id: {line}"));
            };
            *seen.entry(id).or_default() += 1;
            match expected.get(&id) {
                None => unexpected += 1,
                Some(e) if e.dir != dir => misplaced += 1,
                Some(_) => {}
            }
        }
    }
    let missing = expected.keys().filter(|id| !seen.contains_key(id)).count();
    let duplicated: u64 = seen
        .values()
        .filter(|&&n| n > 1)
        .map(|&n| u64::from(n - 1))
        .sum();
    let (rewritten, shrunk, writes) = match proxy_log {
        Some(log) => rewrites(log)?,
        None => (0, 0, 0),
    };
    let report = serde_json::json!({
        "produced": ids.end,
        "expected": expected.len(),
        "found": seen.len(),
        "rows": rows,
        "files": files.len(),
        "missing": missing,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "misplaced": misplaced,
        "object_writes": writes,
        "rewritten": rewritten,
        "shrunk": shrunk,
    });
    println!("{report}");
    if missing == 0 && duplicated == 0 && unexpected == 0 && misplaced == 0 && shrunk == 0 {
        Ok(())
    } else {
        Err(format!(
            "the sink does not hold each expected record exactly once: {report}"
        ))
    }
}

/// From the S3 proxy's log: data objects written (created) more than once, and writes that
/// replaced an object with one of fewer rows; and the number of data object writes.
fn rewrites(log: &std::path::Path) -> Result<(u64, u64, u64), String> {
    let text = std::fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut rows: HashMap<String, Vec<u64>> = HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let op = v["op"].as_str().unwrap_or("");
        let key = v["key"].as_str().unwrap_or("");
        if !matches!(op, "PutObject" | "CompleteMultipartUpload")
            || v["upstream"].as_u64() != Some(200)
            || key
                .split('/')
                .any(|p| p.starts_with('_') || p.starts_with('.'))
        {
            continue;
        }
        let n = v["rows"].as_u64().unwrap_or(0);
        rows.entry(format!("{}/{key}", v["bucket"].as_str().unwrap_or("")))
            .or_default()
            .push(n);
    }
    let writes = rows.values().map(|w| w.len() as u64).sum();
    let rewritten = rows.values().filter(|w| w.len() > 1).count() as u64;
    let shrunk = rows
        .values()
        .map(|w| w.windows(2).filter(|p| p[1] < p[0]).count() as u64)
        .sum();
    Ok((rewritten, shrunk, writes))
}

/// Checks a dead-letter path against the poison records of ids `0..count` (every
/// `poison_every`-th, sent to partition id mod `partitions` in id order).
fn dead_letters(
    path: &str,
    s3_endpoint: Option<&str>,
    count: u64,
    poison_every: u64,
    partitions: u64,
) -> Result<(), String> {
    let files = read_sink(path, s3_endpoint)?;
    let expected: std::collections::HashSet<(u64, u64)> = (0..count)
        .filter(|id| id % poison_every == poison_every - 1)
        .map(|id| (id % partitions, id / partitions))
        .collect();
    let mut seen: HashMap<(u64, u64), u32> = HashMap::new();
    let (mut lines, mut incomplete, mut unexpected) = (0u64, 0u64, 0u64);
    for (file, text) in &files {
        for line in text.lines() {
            lines += 1;
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("{file}: bad dead letter {line:?}: {e}"))?;
            let (Some(p), Some(o)) = (v["partition"].as_u64(), v["offset"].as_u64()) else {
                incomplete += 1;
                continue;
            };
            let value = v["value"].as_str().unwrap_or("");
            let id_ok = serde_json::from_str::<serde_json::Value>(value)
                .ok()
                .and_then(|j| j["id"].as_u64())
                .or_else(|| {
                    // Malformed JSON: the id is still readable at the start.
                    value
                        .strip_prefix("{\"id\":")
                        .and_then(|r| r.split(',').next())
                        .and_then(|n| n.parse().ok())
                })
                .is_some_and(|id| id % partitions == p && id / partitions == o);
            if v["topic"].as_str().is_none_or(str::is_empty)
                || v["error"].as_str().is_none_or(str::is_empty)
                || !id_ok
            {
                incomplete += 1;
            }
            if !expected.contains(&(p, o)) {
                unexpected += 1;
            }
            *seen.entry((p, o)).or_default() += 1;
        }
    }
    let missing = expected.iter().filter(|k| !seen.contains_key(k)).count();
    let duplicated: u64 = seen.values().map(|&n| u64::from(n.saturating_sub(1))).sum();
    let report = serde_json::json!({
        "expected": expected.len(),
        "found": seen.len(),
        "lines": lines,
        "files": files.len(),
        "missing": missing,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "incomplete": incomplete,
    });
    println!("{report}");
    if missing == 0 && duplicated == 0 && unexpected == 0 && incomplete == 0 {
        Ok(())
    } else {
        Err(format!(
            "the dead letters are not the poison records exactly once: {report}"
        ))
    }
}

/// Every data file of a sink (names starting with `.` or `_` are not data), with its text.
fn read_sink(sink: &str, s3_endpoint: Option<&str>) -> Result<Vec<(String, String)>, String> {
    if let Some(rest) = sink.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        return runtime.block_on(async {
            let mut loader = sluice_executor::connector::filesystem::store::s3::aws_defaults();
            if let Some(e) = s3_endpoint {
                loader = loader.endpoint_url(e);
                // A test server: never fall through the credential chain to the instance
                // metadata service (tests talk only to loopback).
                if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                    loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                        "test",
                        "test",
                        None,
                        None,
                        "sluice-testkit",
                    ));
                }
            }
            let shared = loader
                .region(aws_config::Region::new("us-east-1"))
                .load()
                .await;
            let client = aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&shared)
                    .force_path_style(true)
                    .build(),
            );
            let mut out = Vec::new();
            let mut token = None;
            loop {
                let mut req = client.list_objects_v2().bucket(bucket).prefix(prefix);
                if let Some(t) = &token {
                    req = req.continuation_token(t);
                }
                let page = req.send().await.map_err(|e| {
                    format!(
                        "LIST s3://{bucket}/{prefix}: {}",
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    )
                })?;
                for o in page.contents() {
                    let Some(key) = o.key() else { continue };
                    let rel = key
                        .strip_prefix(prefix)
                        .unwrap_or(key)
                        .trim_start_matches('/');
                    if rel
                        .split('/')
                        .any(|p| p.starts_with('_') || p.starts_with('.'))
                    {
                        continue;
                    }
                    let obj = client
                        .get_object()
                        .bucket(bucket)
                        .key(key)
                        .send()
                        .await
                        .map_err(|e| format!("GET {key}: {e}"))?;
                    let bytes = obj
                        .body
                        .collect()
                        .await
                        .map_err(|e| e.to_string())?
                        .into_bytes();
                    out.push((rel.to_owned(), String::from_utf8_lossy(&bytes).into_owned()));
                }
                token = page.next_continuation_token().map(str::to_owned);
                if token.is_none() {
                    return Ok(out);
                }
            }
        });
    }
    let root = PathBuf::from(sink.strip_prefix("file://").unwrap_or(sink));
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(&root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                out.push((
                    rel,
                    std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?,
                ));
            }
        }
    }
    Ok(out)
}
