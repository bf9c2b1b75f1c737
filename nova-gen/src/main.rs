//! `nova-gen generate`, `check`, `migrate`, `db` and `dev`: arguments parsed, the work done by
//! nova-gen-core (and [`nova_gen::db`], [`nova_gen::dev`]), results printed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use nova_gen::db;
use nova_gen::dev::DevOptions;
use nova_gen_core::diagnostic::{self, Diagnostic};
use nova_gen_core::layout::{self, Layout};
use nova_gen_core::migrate::{self, MigrateRequest};
use nova_gen_core::{Failure, sync};

#[derive(Parser)]
#[command(name = "nova-gen", version, about = "Generates nova's service crates, migrations and ops artifacts from specs/")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Repository root: generated/, migrations/ and handwritten/ live below it (default: the
    /// nearest directory holding specs/ownership.toml, from the working directory upward).
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Directory holding ownership.toml and proto/ (default: <root>/specs).
    #[arg(long, global = true)]
    specs: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate everything from the specs (writes only files that change; scaffolds missing
    /// handwritten crates, never overwriting them).
    Generate,
    /// Fail if anything generated is out of sync with the specs, if a handwritten crate
    /// crosses a service boundary, or if a service's migrations were edited, renamed or removed,
    /// or lag behind its spec. Writes nothing.
    Check,
    /// Write the next migration of a service: the difference between the schema its spec
    /// describes and the one its migrations produce (then regenerate, to embed it).
    Migrate {
        /// The service whose database changes.
        service: String,
        /// What the migration does, in lower-case words joined by dashes: `pin-posts`.
        #[arg(long)]
        name: Option<String>,
        /// Also write changes that destroy data or lock a table for a rewrite (dropping a table
        /// or column, narrowing a type, ...), each with a comment saying what it destroys.
        #[arg(long)]
        allow_destructive: bool,
        /// Record migration files written by hand in the checksum file (nova.sum); for a
        /// history without schema.json, take the spec's schema as the one it produces.
        #[arg(long, conflicts_with_all = ["name", "allow_destructive"])]
        record: bool,
    },
    /// The events consumers gave up on: list them, replay them once fixed.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Each service's database and roles on a PostgreSQL server.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Run the whole system locally: provision the databases (`db up`), build the service
    /// binaries, start them with the local Redis, wait until each is SERVING and print where
    /// they answer; prefix their log lines with their names, restart a crashed one with backoff,
    /// and drain them all on Ctrl-C or SIGTERM.
    Dev {
        /// Fill the system with demo data through the public RPCs once it is up (users,
        /// follows, posts with images, messages, streams).
        #[arg(long)]
        seed: bool,
        /// Build and run release binaries.
        #[arg(long)]
        release: bool,
        /// Stop (draining every service) once all are SERVING and the seed ran, instead of
        /// running until Ctrl-C: exit 0 only if everything came up.
        #[arg(long)]
        exit_when_ready: bool,
        /// Seconds a service may take from its start to SERVING before `dev` says so.
        #[arg(long, default_value_t = 60)]
        ready_timeout: u64,
        #[command(flatten)]
        target: DbTarget,
        /// Where generated passwords are kept (git-ignored; default <root>/.nova/secrets.toml).
        #[arg(long)]
        secrets: Option<PathBuf>,
        /// The Redis server, as a user that may create users: `dev` creates the services' own
        /// (keys and channel under `nova:` only).
        #[arg(long, default_value = "redis://127.0.0.1:6379")]
        redis_url: String,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// List the events consumers gave up on (the NOVA_DEAD_LETTERS stream): sequence, consumer,
    /// subject, event id and the last error.
    DeadLetters {
        /// Only this consumer's (a service that consumes events).
        #[arg(long)]
        consumer: Option<String>,
        #[command(flatten)]
        nats: NatsTarget,
    },
    /// Publish a consumer's dead letters again on their subjects, once the cause is fixed, and
    /// remove them from the dead-letter stream: the consumer applies each once, others skip it.
    Replay {
        /// The consumer that gave up (a service that consumes events).
        consumer: String,
        /// Only this event (its id, as `dead-letters` shows it).
        #[arg(long)]
        event: Option<String>,
        #[command(flatten)]
        nats: NatsTarget,
    },
}

#[derive(clap::Args)]
struct NatsTarget {
    /// The NATS server the services use.
    #[arg(long, env = "NOVA_NATS_URL", default_value = nova_runtime::events::DEFAULT_NATS_URL)]
    nats_url: String,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Create (idempotently) each service's database, its NOLOGIN owner role and its
    /// least-privilege LOGIN role, and apply pending migrations as the owner.
    Up {
        #[command(flatten)]
        target: DbTarget,
        /// Where generated passwords are kept (git-ignored; default <root>/.nova/secrets.toml).
        #[arg(long)]
        secrets: Option<PathBuf>,
    },
    /// Per service: applied and pending migrations, missing roles, and drift between the live
    /// schema and its migrations. Exit 1 unless everything is applied and nothing drifted.
    Status {
        #[command(flatten)]
        target: DbTarget,
    },
}

#[derive(clap::Args)]
struct DbTarget {
    /// A role on the server that may create databases and roles.
    #[arg(long, default_value = nova_gen::db::DEFAULT_URL)]
    url: String,
    /// Name databases and roles `<prefix>_<service>...` instead of the spec's database names
    /// (for tests, which share a server with everyone).
    #[arg(long, hide = true)]
    prefix: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match find_layout(&cli) {
        Ok(layout) => run(&layout, cli.command),
        Err(failure) => Err(failure),
    };
    match outcome {
        Ok(code) => code,
        Err(Failure::Spec(diagnostics)) => {
            eprint!("{}", diagnostic::render(&diagnostics));
            ExitCode::from(2)
        }
        Err(failure) => {
            eprintln!("nova-gen: {failure}");
            ExitCode::from(3)
        }
    }
}

/// Where the repository is: `--root` and `--specs` when given, otherwise the nearest
/// directory holding specs/ownership.toml from the working directory upward.
fn find_layout(cli: &Cli) -> Result<Layout, Failure> {
    let layout = match (&cli.root, &cli.specs) {
        (Some(root), _) => Layout::at(root),
        (None, Some(_)) => Layout::at("."),
        (None, None) => {
            let here = std::env::current_dir().map_err(Failure::io("reading the working directory"))?;
            match layout::find_root(&here) {
                Some(root) => Layout::found(root),
                None => {
                    let problem = Diagnostic::new(
                        "spec::no-repository",
                        format!("not inside a nova repository: found no {} in {} or any directory above it", layout::ROOT_MARKER, here.display()),
                    )
                    .help("run nova-gen in a nova repository (the directory holding specs/ownership.toml and specs/proto/) or below it");
                    return Err(Failure::Spec(vec![problem]));
                }
            }
        }
    };
    Ok(match &cli.specs {
        Some(specs) => layout.with_specs(specs),
        None => layout,
    })
}

fn run(layout: &Layout, command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Generate => generate(layout),
        Command::Check => check(layout),
        Command::Migrate { service, name, allow_destructive, record } => {
            migrate_service(layout, &MigrateRequest { service, name, allow_destructive, record })
        }
        Command::Db { command } => run_db(layout, command),
        Command::Events { command } => run_events(layout, command),
        Command::Dev { seed, release, exit_when_ready, ready_timeout, target, secrets, redis_url } => {
            let analysis = nova_gen_core::analyse(layout)?;
            let options = DevOptions {
                release,
                seed,
                db_url: target.url,
                secrets: secrets.unwrap_or_else(|| layout.root.join(db::secrets::DEFAULT_FILE)),
                redis_url,
                exit_when_ready,
                ready_timeout: Duration::from_secs(ready_timeout),
            };
            nova_gen::dev::run(layout, &analysis, &options)
        }
    }
}

fn generate(layout: &Layout) -> Result<ExitCode, Failure> {
    let (analysis, files) = nova_gen_core::generate_files(layout)?;
    let report = sync::write(&layout.root, &files).map_err(Failure::io("writing files"))?;
    for path in &report.written {
        println!("wrote      {path}");
    }
    for path in &report.removed {
        println!("removed    {path}");
    }
    for path in &report.scaffolded {
        println!("scaffolded {path}");
    }
    println!(
        "{} services: {} files written, {} unchanged, {} removed, {} scaffolded",
        analysis.spec.services.len(),
        report.written.len(),
        report.unchanged,
        report.removed.len(),
        report.scaffolded.len()
    );
    // Not an error here (the spec may be edited before migrating), but worth saying.
    for service in &analysis.spec.services {
        if let Some(history) = migrate::history_of(&analysis, &service.name) {
            for problem in migrate::verify_service(service, history) {
                eprintln!("note: {}", problem.message);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn migrate_service(layout: &Layout, request: &MigrateRequest) -> Result<ExitCode, Failure> {
    let analysis = nova_gen_core::analyse(layout)?;
    let outcome = migrate::migrate(layout, &analysis, request)?;
    for note in &outcome.notes {
        println!("{}: {note}", request.service);
    }
    for path in &outcome.written {
        println!("wrote      {path}");
    }
    if outcome.written.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    // The service's crate embeds its migrations: regenerate it.
    generate(layout)
}

fn check(layout: &Layout) -> Result<ExitCode, Failure> {
    let report = nova_gen_core::check::check(layout)?;
    if report.is_clean() {
        println!("{}", report.summary());
        return Ok(ExitCode::SUCCESS);
    }
    eprint!("{}", report.render_problems());
    Ok(ExitCode::FAILURE)
}

fn run_events(layout: &Layout, command: EventsCommand) -> Result<ExitCode, Failure> {
    let analysis = nova_gen_core::analyse(layout)?;
    let report = match command {
        EventsCommand::DeadLetters { consumer, nats } => nova_gen::events::list(&analysis, &nats.nats_url, consumer.as_deref())?,
        EventsCommand::Replay { consumer, event, nats } => nova_gen::events::replay(&analysis, &nats.nats_url, &consumer, event.as_deref())?,
    };
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

fn run_db(layout: &Layout, command: DbCommand) -> Result<ExitCode, Failure> {
    let analysis = nova_gen_core::analyse(layout)?;
    let (report, clean) = match command {
        DbCommand::Up { target, secrets } => {
            let secrets = secrets.unwrap_or_else(|| layout.root.join(db::secrets::DEFAULT_FILE));
            db::commands::up(&analysis, &target.url, target.prefix.as_deref(), &secrets)?
        }
        DbCommand::Status { target } => db::commands::status(&analysis, &target.url, target.prefix.as_deref())?,
    };
    print!("{report}");
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
