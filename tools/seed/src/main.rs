//! `nova-seed [--tag <t>] [--users <n>]`: demo data for the nova running on this machine (the
//! endpoints of `NOVA_<SVC>_ENDPOINT`, default the spec's ports), through public RPCs only.
//! `nova-gen dev --seed` runs it once every service is SERVING.

use std::process::ExitCode;

use nova_runtime::client::Peers;
use nova_runtime::tls::Transport;
use nova_seed::{Clients, Plan};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    // A fresh tag per run, so a second seed adds accounts instead of colliding with the first.
    let mut tag = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 0xff_ffff);
    let mut users = None;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--tag", Some(value))
                if !value.is_empty() && value.len() <= 8 && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) =>
            {
                tag = value
            }
            ("--users", Some(value)) if value.parse::<usize>().is_ok_and(|n| n >= 2) => users = value.parse().ok(),
            _ => {
                eprintln!("usage: nova-seed [--tag <1-8 of a-z0-9>] [--users <n >= 2>]");
                return ExitCode::from(2);
            }
        }
    }
    let mut plan = Plan::demo(&tag);
    if let Some(users) = users {
        plan.users = users;
    }
    // The edge's certificate (NOVA_TLS_*, which `nova-gen dev` sets): the seeder is a client
    // of the system like any other, acting for each user with that user's token.
    let peers = Transport::from_env(None)
        .map_err(|e| e.to_string())
        .and_then(|transport| Ok(Peers::from_env().map_err(|e| e.to_string())?.with_transport(transport)));
    let clients = match peers.and_then(|peers| Clients::from_peers(&peers).map_err(|e| e.to_string())) {
        Ok(clients) => clients,
        Err(error) => {
            eprintln!("nova-seed: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("seeding run {tag}: {} users", plan.users);
    match nova_seed::seed(&clients, &plan, |line| println!("{line}")).await {
        Ok(seeded) => {
            if let Some(first) = seeded.users.first() {
                println!("done; log in as {} with password {}", first.email, first.password);
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("nova-seed: {error}");
            ExitCode::FAILURE
        }
    }
}
