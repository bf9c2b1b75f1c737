//! Phase 3: run the binaries. One task per service owns its process: it starts it, forwards its
//! log lines with the service's name in front, reports when it is SERVING, restarts it with
//! backoff when it exits on its own, and drains it when `dev` is asked to stop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::DevOptions;
use super::build::{Binaries, SEED_PACKAGE};
use super::health::wait_serving;
use super::provision::{DevService, DevSystem};
use super::table::{self, Row};
use nova_gen_core::layout::Layout;

/// First pause before restarting a service that exited on its own; doubled after each
/// exit in a row, up to [`RESTART_BACKOFF_MAX`].
const RESTART_BACKOFF_MIN: Duration = Duration::from_millis(500);
const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A process that ran this long before exiting starts the backoff over.
const HEALTHY_RUN: Duration = Duration::from_secs(30);
/// The drain delay `dev` gives services unless the environment sets one: locally no load
/// balancer needs time to notice NOT_SERVING.
const DEV_DRAIN_DELAY_SECONDS: &str = "1";
/// After SIGTERM, how long a service may take to drain before it is killed (its drain delay
/// and grace period, 20 s by default, fit inside).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What a service's task tells the main loop.
#[derive(Debug)]
enum Event {
    Started { service: String, pid: Option<u32> },
    Serving { service: String, after: Duration },
    NotServing { service: String, waited: Duration },
    Exited { service: String, status: Option<ExitStatus>, restart_in: Duration },
    Stopped { service: String, status: Option<ExitStatus> },
}

/// Runs every service until a stop signal (or until ready with `exit_when_ready`); `true` when
/// every service became SERVING, the seed (if asked for) succeeded and all stopped cleanly.
pub async fn run(layout: &Layout, system: DevSystem, binaries: Binaries, options: &DevOptions) -> bool {
    let DevSystem { services, client_env, pki } = system;
    let edge = match pki.edge_material() {
        Ok(material) => std::sync::Arc::new(material),
        Err(error) => {
            eprintln!("dev: {error:?}");
            return false;
        }
    };
    if let Some(problem) = ports_in_use(&services) {
        eprintln!("dev: {problem}");
        return false;
    }
    let printer = Printer::new(services.iter().map(|s| s.name.as_str()).chain(["seed", "dev"]));
    let (stop_tx, stop_rx) = watch::channel(0u32);
    tokio::spawn(forward_stop_signals(stop_tx.clone()));
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for service in services {
        let Some(binary) = binaries.get(&service.package).cloned() else { continue };
        rows.insert(
            service.name.clone(),
            Row {
                service: service.name.clone(),
                grpc_port: service.grpc_port,
                metrics_port: service.metrics_port,
                state: "starting".into(),
                ready_after: None,
                pid: None,
            },
        );
        let task = ServiceTask {
            service,
            binary,
            root: layout.root.clone(),
            printer: printer.clone(),
            ready_timeout: options.ready_timeout,
            events: events_tx.clone(),
            edge: std::sync::Arc::clone(&edge),
        };
        tokio::spawn(task.supervise(stop_rx.clone()));
    }
    drop(events_tx);

    // Until every service is SERVING, gave up, or a stop was asked for.
    let mut stop = stop_rx.clone();
    while rows.values().any(|row| row.state == "starting" || row.state == "restarting") {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => apply(&mut rows, event, &printer, false),
                None => break,
            },
            _ = stopping(&mut stop) => break,
        }
    }
    let all_serving = rows.values().all(|row| row.state == "SERVING");
    println!("\n{}", table::render(&rows.values().cloned().collect::<Vec<_>>()));
    println!("{}", table::how_to_call(&pki, &rows.values().cloned().collect::<Vec<_>>()));
    let mut ok = all_serving;
    if !all_serving {
        println!("dev: not every service is SERVING; see its log lines above");
    } else if options.seed
        && let Some(seeder) = binaries.get(SEED_PACKAGE)
    {
        ok = run_seed(seeder, &layout.root, &client_env, &printer, stop_rx.clone()).await;
    }
    if options.exit_when_ready {
        stop_tx.send_modify(|n| *n += 1);
    } else if *stop.borrow() == 0 {
        println!("dev: running; Ctrl-C drains and stops every service (a second Ctrl-C skips the drain delay)");
    }
    while let Some(event) = events.recv().await {
        if let Event::Stopped { status, .. } = &event {
            ok &= status.is_some_and(|s| s.success());
        }
        apply(&mut rows, event, &printer, true);
    }
    println!("dev: all services stopped");
    ok
}

/// Records an event in the table and says what happened (start-up progress is summed up by the
/// table; after it, every change is a line of its own).
fn apply(rows: &mut BTreeMap<String, Row>, event: Event, printer: &Printer, after_table: bool) {
    let (service, state, message) = match event {
        Event::Started { service, pid } => {
            if let Some(row) = rows.get_mut(&service) {
                row.pid = pid;
            }
            let message = after_table.then(|| format!("started, pid {}", pid.map_or_else(|| "?".to_string(), |p| p.to_string())));
            (service, None, message)
        }
        Event::Serving { service, after } => {
            if let Some(row) = rows.get_mut(&service) {
                row.ready_after = Some(after);
            }
            (service, Some("SERVING"), Some(format!("SERVING {} ms after its start", after.as_millis())))
        }
        Event::NotServing { service, waited } => {
            (service, Some("NOT SERVING"), Some(format!("not SERVING after {} s; still waiting", waited.as_secs())))
        }
        Event::Exited { service, status, restart_in } => {
            let message = format!("exited ({}); restarting in {} ms", describe(status), restart_in.as_millis());
            (service, Some("restarting"), Some(message))
        }
        Event::Stopped { service, status } => (service, Some("stopped"), Some(format!("stopped ({})", describe(status)))),
    };
    if let Some(row) = rows.get_mut(&service)
        && let Some(state) = state
    {
        row.state = state.to_string();
    }
    if let Some(message) = message {
        printer.line("dev", &format!("{service} {message}"));
    }
}

fn describe(status: Option<ExitStatus>) -> String {
    match status {
        Some(status) => status.to_string(),
        None => "status unknown".to_string(),
    }
}

/// Every port a service will listen on must be free; a leftover process from an earlier run
/// would otherwise make the new one fail to bind, over and over.
fn ports_in_use(services: &[DevService]) -> Option<String> {
    for service in services {
        for port in [service.grpc_port, service.metrics_port] {
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                return Some(format!(
                    "port {port} ({}) is already in use: is another `nova-gen dev` or a {} service running? Stop it (`ss -ltnp 'sport = :{port}'` shows the process) and run again",
                    service.name, service.name
                ));
            }
        }
    }
    None
}

/// Each Ctrl-C or SIGTERM bumps the stop count: the first drains every service, a second is
/// forwarded to them (the services then skip the rest of their drain delay).
async fn forward_stop_signals(stop: watch::Sender<u32>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        eprintln!("dev: cannot listen for signals; stop with kill -9");
        return;
    };
    loop {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        stop.send_modify(|n| *n += 1);
        if *stop.borrow() == 1 {
            println!("dev: stopping: draining every service (again to skip their drain delay)");
        }
    }
}

/// Resolves once a stop was asked for (or can no longer be: then never).
async fn stopping(stop: &mut watch::Receiver<u32>) {
    if stop.wait_for(|n| *n > 0).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// One service's process, over its restarts.
struct ServiceTask {
    service: DevService,
    binary: PathBuf,
    root: PathBuf,
    printer: Printer,
    ready_timeout: Duration,
    events: mpsc::UnboundedSender<Event>,
    /// The edge's certificate, which health checks present.
    edge: std::sync::Arc<nova_runtime::tls::TlsMaterial>,
}

enum Outcome {
    Exited(Option<ExitStatus>),
    Stop,
}

impl ServiceTask {
    async fn supervise(self, mut stop: watch::Receiver<u32>) {
        let name = self.service.name.clone();
        let mut backoff = RESTART_BACKOFF_MIN;
        loop {
            let started = Instant::now();
            let mut child = match self.spawn() {
                Ok(child) => child,
                Err(error) => {
                    self.printer.line(&name, &format!("cannot start {}: {error}", self.binary.display()));
                    let _ = self.events.send(Event::Stopped { service: name, status: None });
                    return;
                }
            };
            let _ = self.events.send(Event::Started { service: name.clone(), pid: child.id() });
            let health = tokio::spawn(report_serving(
                name.clone(),
                self.service.grpc_port,
                std::sync::Arc::clone(&self.edge),
                started,
                self.ready_timeout,
                self.events.clone(),
            ));
            let outcome = tokio::select! {
                status = child.wait() => Outcome::Exited(status.ok()),
                _ = stopping(&mut stop) => Outcome::Stop,
            };
            health.abort();
            match outcome {
                Outcome::Stop => {
                    let status = terminate(&mut child, &mut stop).await;
                    let _ = self.events.send(Event::Stopped { service: name, status });
                    return;
                }
                Outcome::Exited(status) if *stop.borrow() > 0 => {
                    let _ = self.events.send(Event::Stopped { service: name, status });
                    return;
                }
                Outcome::Exited(status) => {
                    if started.elapsed() >= HEALTHY_RUN {
                        backoff = RESTART_BACKOFF_MIN;
                    }
                    let _ = self.events.send(Event::Exited { service: name.clone(), status, restart_in: backoff });
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stopping(&mut stop) => {
                            let _ = self.events.send(Event::Stopped { service: name, status });
                            return;
                        }
                    }
                    backoff = (backoff * 2).min(RESTART_BACKOFF_MAX);
                }
            }
        }
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let mut command = Command::new(&self.binary);
        command.current_dir(&self.root).envs(self.service.env.iter().map(|(k, v)| (k, v)));
        if std::env::var_os("NOVA_SHUTDOWN_DRAIN_DELAY_SECONDS").is_none() {
            command.env("NOVA_SHUTDOWN_DRAIN_DELAY_SECONDS", DEV_DRAIN_DELAY_SECONDS);
        }
        let mut child = piped(&mut command)?;
        self.printer.forward(&self.service.name, &mut child);
        Ok(child)
    }
}

/// Spawns with stdout and stderr piped, in a process group of its own: a Ctrl-C in the
/// terminal reaches `dev` only, which then drains the services itself (one signal each).
fn piped(command: &mut Command) -> std::io::Result<Child> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true).process_group(0).spawn()
}

async fn report_serving(
    service: String,
    port: u16,
    edge: std::sync::Arc<nova_runtime::tls::TlsMaterial>,
    started: Instant,
    ready_timeout: Duration,
    events: mpsc::UnboundedSender<Event>,
) {
    if wait_serving(&service, port, &edge, started + ready_timeout).await {
        let _ = events.send(Event::Serving { service, after: started.elapsed() });
        return;
    }
    let _ = events.send(Event::NotServing { service: service.clone(), waited: ready_timeout });
    // Keep waiting: a service waiting for its database becomes SERVING when the database answers.
    if wait_serving(&service, port, &edge, Instant::now() + Duration::from_secs(3600)).await {
        let _ = events.send(Event::Serving { service, after: started.elapsed() });
    }
}

/// SIGTERM, then waits for the drain; every further stop signal is forwarded; after
/// [`STOP_TIMEOUT`] the process is killed.
async fn terminate(child: &mut Child, stop: &mut watch::Receiver<u32>) -> Option<ExitStatus> {
    let mut sent = *stop.borrow();
    signal(child, Signal::SIGTERM);
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        tokio::select! {
            status = child.wait() => return status.ok(),
            changed = stop.changed() => {
                if changed.is_err() {
                    return child.wait().await.ok();
                }
                let count = *stop.borrow_and_update();
                if count > sent {
                    sent = count;
                    signal(child, Signal::SIGTERM);
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                let _ = child.start_kill();
                return child.wait().await.ok();
            }
        }
    }
}

fn signal(child: &Child, signal: Signal) {
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// Runs the seeder against the running system; `true` when it succeeded.
async fn run_seed(seeder: &Path, root: &Path, env: &[(String, String)], printer: &Printer, mut stop: watch::Receiver<u32>) -> bool {
    printer.line("dev", "seeding demo data through the public RPCs, as the edge with each user's token");
    let mut command = Command::new(seeder);
    command.current_dir(root).envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = match piped(&mut command) {
        Ok(child) => child,
        Err(error) => {
            printer.line("seed", &format!("cannot start {}: {error}", seeder.display()));
            return false;
        }
    };
    printer.forward("seed", &mut child);
    tokio::select! {
        status = child.wait() => {
            let ok = status.as_ref().is_ok_and(ExitStatus::success);
            if !ok {
                printer.line("dev", &format!("the seed failed ({})", status.map_or_else(|e| e.to_string(), |s| s.to_string())));
            }
            ok
        }
        _ = stopping(&mut stop) => {
            let _ = child.start_kill();
            false
        }
    }
}

/// Writes child log lines with the child's name in front, one whole line at a time; the names
/// are coloured when `dev`'s own stdout is a terminal.
#[derive(Clone)]
struct Printer {
    width: usize,
    colours: Option<BTreeMap<String, &'static str>>,
}

const COLOURS: [&str; 6] = ["\x1b[36m", "\x1b[32m", "\x1b[33m", "\x1b[35m", "\x1b[34m", "\x1b[31m"];

impl Printer {
    fn new<'a>(names: impl Iterator<Item = &'a str>) -> Self {
        use std::io::IsTerminal as _;
        let names: Vec<&str> = names.collect();
        let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
        let colours = std::io::stdout()
            .is_terminal()
            .then(|| names.iter().zip(COLOURS.iter().cycle()).map(|(name, colour)| (name.to_string(), *colour)).collect());
        Printer { width, colours }
    }

    fn line(&self, name: &str, text: &str) {
        let width = self.width;
        match self.colours.as_ref().and_then(|c| c.get(name)) {
            Some(colour) => println!("{colour}{name:>width$}\x1b[0m | {text}"),
            None => println!("{name:>width$} | {text}"),
        }
    }

    /// Forwards the child's stdout and stderr, line by line, until they close.
    fn forward(&self, name: &str, child: &mut Child) {
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(self.clone().pump(name.to_string(), stdout));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(self.clone().pump(name.to_string(), stderr));
        }
    }

    async fn pump(self, name: String, stream: impl AsyncRead + Unpin) {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            self.line(&name, &line);
        }
    }
}
