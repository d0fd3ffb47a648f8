//! Keep-alive WS-Man load generator.
//!
//! N connections, each a task on one current-thread runtime, send the same operation back to
//! back for a fixed time after a warm-up. Per-operation latencies go into one vector; the server's
//! CPU time comes from /proc/PID/stat and its peak RSS from /proc/PID/status (VmHWM), so the
//! figures need no cooperation from the server. Output is one JSON object per run.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use wsbmc_bench::{Client, NUMERIC_SENSOR, element_text};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Scenario {
    /// Authenticated Identify.
    Identify,
    /// Get of one CIM_NumericSensor by its selectors.
    Get,
    /// Optimized Enumerate (MaxElements 32) then Pulls until EndOfSequence: one operation.
    Enumerate,
    /// Enumerate, with a WQL filter every sensor of the bench board passes (a condition on two
    /// properties), so the filter's cost shows beside the plain Enumerate's.
    EnumerateWql,
    /// Invoke CIM_NumericSensor.RestoreDefaultThresholds on one sensor.
    Invoke,
}

#[derive(Parser, Debug)]
#[command(about = "WS-Man load generator (keep-alive, N concurrent, bounded in time)")]
struct Args {
    /// host:port of the agent
    #[arg(long)]
    addr: String,
    #[arg(long, default_value = "admin")]
    user: String,
    /// File holding the password (its first line).
    #[arg(long)]
    password_file: std::path::PathBuf,
    #[arg(long, value_enum)]
    scenario: Scenario,
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up seconds (not measured).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// PID of the server, for CPU time and peak RSS.
    #[arg(long)]
    pid: Option<u32>,
    /// Items an Enumerate scenario must return in total; checked during warm-up.
    #[arg(long)]
    expect_items: Option<usize>,
}

struct Op {
    bodies: Vec<String>,
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, run(args))
}

async fn run(args: Args) -> Result<(), String> {
    let password = wsbmc_bench::read_password_file(&args.password_file)
        .map_err(|e| format!("{}: {e}", args.password_file.display()))?;
    let mut probe = Client::connect(&args.addr, &args.user, &password)
        .await
        .map_err(|e| format!("connect {}: {e}", args.addr))?;
    // Only Get and Invoke address an instance; Identify must also run against the ceiling
    // responder, which answers nothing but a fixed envelope.
    let selectors = match args.scenario {
        Scenario::Get | Scenario::Invoke => first_sensor_selectors(&mut probe).await?,
        Scenario::Identify | Scenario::Enumerate | Scenario::EnumerateWql => Vec::new(),
    };
    let op = Rc::new(match args.scenario {
        Scenario::Identify => Op {
            bodies: vec![wsbmc_bench::identify()],
        },
        Scenario::Get => Op {
            bodies: vec![wsbmc_bench::get(NUMERIC_SENSOR, &selectors)],
        },
        Scenario::Enumerate => Op {
            bodies: vec![wsbmc_bench::enumerate(NUMERIC_SENSOR, 32, None)],
        },
        Scenario::EnumerateWql => Op {
            bodies: vec![wsbmc_bench::enumerate_wql(
                NUMERIC_SENSOR,
                32,
                "SELECT * FROM CIM_NumericSensor WHERE SensorType = 2 AND ElementName <> ''",
            )],
        },
        Scenario::Invoke => Op {
            bodies: vec![wsbmc_bench::invoke(
                NUMERIC_SENSOR,
                "RestoreDefaultThresholds",
                &selectors,
            )],
        },
    });

    // Validate the scenario once before timing it.
    let items = one_op(&mut probe, &op, args.scenario, true).await?;
    if let (Some(want), Scenario::Enumerate | Scenario::EnumerateWql) =
        (args.expect_items, args.scenario)
        && items != want
    {
        return Err(format!(
            "enumeration returned {items} items, expected {want}"
        ));
    }
    drop(probe);

    let lat: Rc<RefCell<Vec<u32>>> = Rc::new(RefCell::new(Vec::with_capacity(1 << 20)));
    let errors = Rc::new(RefCell::new(0u64));
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let end = measure_from + Duration::from_secs_f64(args.duration);
    let mut cpu_before = None;

    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let mut client = Client::connect(&args.addr, &args.user, &password)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (op, lat, errors) = (op.clone(), lat.clone(), errors.clone());
        let scenario = args.scenario;
        tasks.push(tokio::task::spawn_local(async move {
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let ok = one_op(&mut client, &op, scenario, false).await.is_ok();
                let t1 = Instant::now();
                if t0 >= measure_from && t1 <= end {
                    if ok {
                        let us = (t1 - t0).as_micros().min(u128::from(u32::MAX)) as u32;
                        lat.borrow_mut().push(us);
                    } else {
                        *errors.borrow_mut() += 1;
                    }
                }
                if !ok {
                    // A failed connection is not retried: the error count says it happened.
                    break;
                }
            }
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    if let Some(pid) = args.pid {
        cpu_before = cpu_seconds(pid);
    }
    tokio::time::sleep_until(end.into()).await;
    let cpu_after = args.pid.and_then(cpu_seconds);
    for t in tasks {
        let _ = t.await;
    }

    let mut l = lat.borrow_mut();
    l.sort_unstable();
    let ops = l.len();
    let pct = |p: f64| -> f64 {
        if l.is_empty() {
            return 0.0;
        }
        let i = ((p * ops as f64).ceil() as usize).clamp(1, ops) - 1;
        f64::from(l[i]) / 1000.0
    };
    let rps = ops as f64 / args.duration;
    let cpu = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) if ops > 0 => format!("{:.2}", (b - a) / ops as f64 * 1e6),
        _ => "null".into(),
    };
    let rss = args
        .pid
        .and_then(peak_rss_kib)
        .map_or("null".into(), |k| k.to_string());
    println!(
        "{{\"scenario\":\"{:?}\",\"connections\":{},\"seconds\":{},\"ops\":{ops},\"errors\":{},\
         \"ops_per_s\":{rps:.0},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\
         \"server_cpu_us_per_op\":{cpu},\"server_peak_rss_kib\":{rss}}}",
        args.scenario,
        args.connections,
        args.duration,
        *errors.borrow(),
        pct(0.50),
        pct(0.99),
        pct(1.0),
    );
    Ok(())
}

/// Runs one operation; returns how many CIM_NumericSensor items it saw when `count` is set.
async fn one_op(c: &mut Client, op: &Op, scenario: Scenario, count: bool) -> Result<usize, String> {
    let r = c.post(&op.bodies[0]).await.map_err(|e| e.to_string())?;
    if r.status != 200 {
        return Err(format!(
            "HTTP {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
    }
    let mut items = 0;
    let mut body = r.body;
    if !matches!(scenario, Scenario::Enumerate | Scenario::EnumerateWql) {
        return Ok(0);
    }
    // Bounded: a broken server that never ends the sequence fails the run.
    for _ in 0..10_000 {
        let text = std::str::from_utf8(&body).map_err(|e| e.to_string())?;
        if count {
            items += text.matches(":CIM_NumericSensor ").count();
        }
        if text.contains("EndOfSequence") {
            return Ok(items);
        }
        let ctx = element_text(text, "EnumerationContext").ok_or("no context and no end")?;
        let r = c
            .post(&wsbmc_bench::pull(NUMERIC_SENSOR, ctx, 32))
            .await
            .map_err(|e| e.to_string())?;
        if r.status != 200 {
            return Err(format!("pull: HTTP {}", r.status));
        }
        body = r.body;
    }
    Err("enumeration did not end".into())
}

/// The selectors of the first sensor, from an EnumerateEPR, so Get/Invoke address a real one.
async fn first_sensor_selectors(c: &mut Client) -> Result<Vec<(String, String)>, String> {
    let r = c
        .post(&wsbmc_bench::enumerate(
            NUMERIC_SENSOR,
            1,
            Some("EnumerateEPR"),
        ))
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8(r.body).map_err(|e| e.to_string())?;
    if r.status != 200 {
        return Err(format!("EnumerateEPR: HTTP {}: {text}", r.status));
    }
    let doc = roxmltree::Document::parse(&text).map_err(|e| e.to_string())?;
    let sel: Vec<(String, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name(("http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd", "Selector")))
        .take_while(|_| true)
        .filter_map(|n| Some((n.attribute("Name")?.to_string(), n.text()?.to_string())))
        .collect();
    // Keep the first EPR's selectors only (names repeat from the second one on).
    let mut seen = std::collections::HashSet::new();
    let first: Vec<_> = sel
        .into_iter()
        .take_while(|(k, _)| seen.insert(k.clone()))
        .collect();
    if first.is_empty() {
        return Err("no sensor EPR found".into());
    }
    Ok(first)
}

fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
