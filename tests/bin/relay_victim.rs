//! The outbox relay alone in a process, for tests/events/relay_kill.rs to SIGKILL: relays the
//! outbox of the database at argv[1] to the NATS at argv[2] as service `auth`, prints
//! `leading` once it holds the leadership, and runs until killed.

use std::io::Write;
use std::time::Duration;

use nova_runtime::events::{EventsConfig, Relay};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(database), Some(nats)) = (args.next(), args.next()) else {
        eprintln!("usage: relay-victim <database url> <nats url>");
        return std::process::ExitCode::from(2);
    };
    let pool = match nova_runtime::codegen::sqlx::postgres::PgPoolOptions::new().max_connections(3).connect(&database).await {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!("relay-victim: {error}");
            return std::process::ExitCode::from(1);
        }
    };
    // Small batches and a short poll: many passes, so kills land in every phase of one.
    let config = EventsConfig { nats_url: nats, relay_batch: 50, relay_poll: Duration::from_millis(50), ..Default::default() };
    let js = match config.connect().await {
        Ok(js) => js,
        Err(error) => {
            eprintln!("relay-victim: {error}");
            return std::process::ExitCode::from(1);
        }
    };
    let mut relay = Relay::spawn("auth", pool, js, config);
    relay.leading().await;
    println!("leading");
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    std::process::ExitCode::SUCCESS
}
